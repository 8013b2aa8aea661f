"""Which stages get the CA bundle, and how their FROM lines are rewritten (no engine)."""

from __future__ import annotations

from stablebuild.engine.trust import builder_stages, rewrite_from_lines
from stablebuild.stages import parse

MULTI = """\
ARG PY=3.12
FROM python:${PY}-slim AS builder
RUN pip install -r requirements.txt
FROM builder AS tests
FROM python:${PY}-slim AS runtime
COPY --from=builder /opt/venv /opt/venv
"""


def test_only_stages_outside_the_final_chain() -> None:
    df = parse(MULTI)
    names = [s.name for s in builder_stages(df, None, df.global_defaults({}))]
    assert names == ["builder"]  # tests inherits builder; runtime is the final image


def test_final_stage_inheriting_a_builder_keeps_it_out() -> None:
    df = parse("FROM debian AS base\nRUN x\nFROM base AS final\n")
    assert builder_stages(df, None, {}) == []


def test_target_selects_the_final_stage() -> None:
    df = parse(MULTI)
    assert [s.name for s in builder_stages(df, "builder", {})] == []


def test_rewrite_keeps_flags_and_alias() -> None:
    text = "FROM --platform=linux/amd64 python:3.12 AS builder\nRUN true\n"
    out = rewrite_from_lines(text, {1: "stablebuild/trust-abc:1"})
    assert out.splitlines()[0] == "FROM --platform=linux/amd64 stablebuild/trust-abc:1 AS builder"
    assert out.splitlines()[1] == "RUN true"

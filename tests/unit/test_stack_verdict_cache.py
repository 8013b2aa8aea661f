"""A passing stack phase is remembered by what it ran; any change to what it ran runs it again."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest
from tests.unit.checks.conftest import GOOD_FACTS
from tests.unit.engine.fake import FakeEngine

from stablebuild.events import Observer
from stablebuild.manifest.load import load_manifest
from stablebuild.manifest.model import Manifest
from stablebuild.report.model import CheckResult, CheckStatus, Report, StackReport
from stablebuild.report.write import render
from stablebuild.validate import ValidateOptions, validate

MANIFEST = """\
version: 1
name: shop
images:
  api:
    dockerfile: Dockerfile
    context: .
    interpreter: /opt/venv/bin/python
stack:
  compose: [compose.yml]
  services: {api: api}
  wait: {healthy: [api, db]}
"""

COMPOSE = """\
services:
  api:
    build: .
    environment:
      DATABASE_URL: postgresql://app@db/${DB_NAME:-app}
  db:
    image: postgres:15
    env_file: db.env
"""


class StackEngine(FakeEngine):
    """The fake engine, with a stack phase that passes (or fails) and counts its runs."""

    def __init__(self, passes: bool = True) -> None:
        super().__init__(probe_facts={"api": GOOD_FACTS})
        self.passes = passes

    def run_stack(
        self,
        manifest: Manifest,
        report: Report,
        *,
        enabled: bool,
        extra_args: Mapping[str, str],
        build_timeout: float,
        observer: Observer,
    ) -> None:
        super().run_stack(
            manifest,
            report,
            enabled=enabled,
            extra_args=extra_args,
            build_timeout=build_timeout,
            observer=observer,
        )
        status = CheckStatus.PASSED if self.passes else CheckStatus.FAILED
        report.stack_phase = StackReport(
            project=f"sb-shop-{report.run_id}",
            compose="docker-compose 1.29.2",
            seconds=41.5,
            checks=[
                CheckResult("stack.up", "stack", CheckStatus.PASSED, "2 services up"),
                CheckResult("stack.healthy", "stack", status, "api, db healthy after 12 s"),
            ],
        )


@pytest.fixture
def stack(tmp_path: Path) -> Path:
    (tmp_path / "Dockerfile").write_text("FROM python:3.12-slim\nUSER 1000\n")
    (tmp_path / "compose.yml").write_text(COMPOSE)
    (tmp_path / "db.env").write_text("POSTGRES_PASSWORD=example\n")
    (tmp_path / "stablebuild.yml").write_text(MANIFEST)
    return tmp_path


def run(stack: Path, engine: FakeEngine, **kw: object) -> Report:
    manifest = load_manifest(stack / "stablebuild.yml")
    options = ValidateOptions(cache_dir=stack / "cache", **kw)  # type: ignore[arg-type]
    return validate(engine, manifest, options)


def test_a_passing_verdict_is_reused_while_nothing_it_ran_changes(stack: Path) -> None:
    engine = StackEngine()
    first = run(stack, engine)
    assert engine.stack_runs == 1
    assert first.stack_phase is not None and not first.stack_phase.from_cache
    second = run(stack, engine)
    assert engine.stack_runs == 1  # not started again
    assert second.stack_phase is not None and second.stack_phase.from_cache
    assert second.stack_phase.checks == first.stack_phase.checks
    assert second.ok
    assert '"from_cache": true' in render(second, "json")
    assert "verdict from the cache" in render(second, "markdown")


@pytest.mark.parametrize(
    "change",
    [
        lambda root: (root / "compose.yml").write_text(COMPOSE.replace("15", "16")),
        lambda root: (root / "db.env").write_text("POSTGRES_PASSWORD=other\n"),
        lambda root: (root / ".env").write_text("DB_NAME=shop\n"),
        lambda root: (root / "Dockerfile").write_text("FROM python:3.12-slim\nUSER 1001\n"),
    ],
    ids=["compose file", "env_file", "project .env", "image rebuilt"],
)
def test_a_change_to_what_the_phase_ran_runs_it_again(stack: Path, change: object) -> None:
    engine = StackEngine()
    run(stack, engine)
    change(stack)  # type: ignore[operator]
    again = run(stack, engine)
    assert engine.stack_runs == 2
    assert again.stack_phase is not None and not again.stack_phase.from_cache


def test_an_environment_value_the_compose_file_names_is_part_of_it(
    stack: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = StackEngine()
    monkeypatch.setenv("DB_NAME", "one")
    run(stack, engine)
    monkeypatch.setenv("UNRELATED", "x")
    run(stack, engine)
    assert engine.stack_runs == 1
    monkeypatch.setenv("DB_NAME", "two")
    run(stack, engine)
    assert engine.stack_runs == 2


def test_a_failed_verdict_is_never_reused(stack: Path) -> None:
    engine = StackEngine(passes=False)
    run(stack, engine)
    again = run(stack, engine)
    assert engine.stack_runs == 2
    assert again.stack_phase is not None and not again.stack_phase.ok


def test_a_supporting_image_the_engine_lacks_or_a_service_it_builds_runs_it(stack: Path) -> None:
    class Lacking(StackEngine):
        def inspect(self, image_id: str, build_seconds: float | None = None):  # type: ignore[no-untyped-def]
            from stablebuild.errors import EngineError

            if image_id == "postgres:15":
                raise EngineError("no such image: postgres:15")
            return super().inspect(image_id, build_seconds)

    engine = Lacking()
    run(stack, engine)
    run(stack, engine)
    assert engine.stack_runs == 2  # compose would pull it: what it gets is not known here

    (stack / "compose.yml").write_text(COMPOSE + "  cache:\n    build: ./cache\n")
    engine = StackEngine()
    run(stack, engine)
    run(stack, engine)
    assert engine.stack_runs == 2


def test_no_cache_and_no_stack_never_reuse(stack: Path) -> None:
    engine = StackEngine()
    run(stack, engine)
    again = run(stack, engine, nocache=True, use_cache=True)
    assert engine.stack_runs == 2 and again.stack_phase is not None
    assert not again.stack_phase.from_cache


def test_a_service_the_stack_builds_counts_by_its_build_inputs(stack: Path) -> None:
    """`stack.build` services (PostgreSQL built from a local base, no registry): their
    Dockerfile and context are part of the verdict's inputs."""
    (stack / "db").mkdir()
    (stack / "db" / "Dockerfile").write_text("FROM debian:bookworm\nRUN echo postgres\n")
    (stack / "compose.yml").write_text(
        COMPOSE.replace("    image: postgres:15\n", "    image: shop/db:local\n    build: ./db\n")
    )
    manifest = (stack / "stablebuild.yml").read_text()
    (stack / "stablebuild.yml").write_text(
        manifest.replace("  services:", "  build: [db]\n  services:")
    )
    engine = StackEngine()
    run(stack, engine)
    run(stack, engine)
    assert engine.stack_runs == 1
    (stack / "db" / "Dockerfile").write_text("FROM debian:bookworm\nRUN echo postgres 16\n")
    again = run(stack, engine)
    assert engine.stack_runs == 2 and again.stack_phase is not None
    assert not again.stack_phase.from_cache


def test_a_service_of_a_profile_not_enabled_does_not_count(stack: Path) -> None:
    class Lacking(StackEngine):
        def inspect(self, image_id: str, build_seconds: float | None = None):  # type: ignore[no-untyped-def]
            from stablebuild.errors import EngineError

            if image_id == "shop/gpu:local":
                raise EngineError("no such image: shop/gpu:local")
            return super().inspect(image_id, build_seconds)

    gpu = "  gpu:\n    profiles: [gpu]\n    build: .\n    image: shop/gpu:local\n"
    (stack / "compose.yml").write_text(COMPOSE + gpu)
    engine = Lacking()
    run(stack, engine)
    again = run(stack, engine)
    assert engine.stack_runs == 1  # compose leaves it alone: so does the verdict's key
    assert again.stack_phase is not None and again.stack_phase.from_cache

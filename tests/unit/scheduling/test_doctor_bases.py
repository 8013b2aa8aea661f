"""`stablebuild doctor`: whether the bases each stack needs are on each engine."""

from __future__ import annotations

from pathlib import Path

from tests.unit.engine.fake import FakeEngine

from stablebuild.doctor import Status, base_lines, stack_bases
from stablebuild.manifest.load import load_manifest

API = """\
ARG PYTHON_VERSION=3.12.7
ARG BASE_IMAGE=python:${PYTHON_VERSION}-slim
FROM ${BASE_IMAGE} AS runtime
"""
WORKER = """\
ARG BASE_IMAGE=python:3.12-slim
FROM ${BASE_IMAGE} AS builder
FROM stablebuild/ffmpeg:6 AS runtime
COPY --from=builder /opt/venv /opt/venv
"""
MANIFEST = """\
version: 1
name: ffmpeg-api
images:
  api: {dockerfile: api.Dockerfile, args: {PYTHON_VERSION: "3.11.9"}}
  worker-cpu: {dockerfile: worker.Dockerfile, target: runtime}
  worker-gpu: {dockerfile: worker.Dockerfile, target: runtime, gpu: {nvenc: [h264_nvenc]}}
"""


def test_the_bases_of_a_stack_with_the_images_that_need_them(tmp_path: Path) -> None:
    (tmp_path / "api.Dockerfile").write_text(API)
    (tmp_path / "worker.Dockerfile").write_text(WORKER)
    (tmp_path / "stablebuild.yml").write_text(MANIFEST)
    # NOTE: an ARG default using an earlier ARG is expanded, as Docker does, with the build arg.
    assert stack_bases(load_manifest(tmp_path / "stablebuild.yml")) == {
        "python:3.11.9-slim": ["api"],
        "python:3.12-slim": ["worker-cpu", "worker-gpu"],
        "stablebuild/ffmpeg:6": ["worker-cpu", "worker-gpu"],
    }


def test_each_engine_says_which_bases_it_lacks_and_whether_another_has_them() -> None:
    local, gpu = FakeEngine("local"), FakeEngine("gpu-host", runtimes=("nvidia", "runc"))
    local.images |= {"python:3.12-slim", "stablebuild/ffmpeg:6"}
    gpu.images |= {"python:3.12-slim"}
    bases = {
        "python:3.12-slim": ["worker-cpu", "worker-gpu"],
        "stablebuild/ffmpeg:6": ["worker-cpu", "worker-gpu"],
        "stablebuild/airgap:bookworm": ["api"],
    }
    lines = {line.topic: line for line in base_lines([local, gpu], bases)}
    assert lines["bases local"].status is Status.PROBLEM
    assert lines["bases local"].detail == (
        "missing: stablebuild/airgap:bookworm (for api, on no engine)"
    )
    assert "stablebuild base bootstrap --tag stablebuild/airgap:bookworm" in (
        lines["bases local"].hint
    )
    assert lines["bases gpu-host"].detail == (
        "missing: stablebuild/ffmpeg:6 (for worker-cpu, worker-gpu, copied from another engine); "
        "stablebuild/airgap:bookworm (for api, on no engine)"
    )
    local.images.add("stablebuild/airgap:bookworm")
    lines = {line.topic: line for line in base_lines([local, gpu], bases)}
    assert lines["bases local"].status is Status.OK
    assert lines["bases gpu-host"].status is Status.INFO  # validate copies what it lacks
    assert "save/load" in lines["bases gpu-host"].hint
    assert base_lines([local, gpu], {}) == []  # no stack here: nothing to say

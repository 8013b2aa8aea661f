"""Validation's scheduling, cache policy and partial runs, against the fake engine."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from tests.unit.engine.fake import FakeEngine

from stablebuild import preload
from stablebuild.errors import EngineUnavailable
from stablebuild.events import Event
from stablebuild.manifest.load import load_manifest
from stablebuild.manifest.model import Manifest
from stablebuild.report.model import BuildStatus
from stablebuild.validate import ValidateOptions, Validation, validate

MANIFEST = """\
version: 1
name: ffmpeg-api
python: "3.12"
images:
  api:
    dockerfile: docker/api/Dockerfile
    context: .
    target: runtime
    user: 1000
    run: {port: 8000, health: /api/v1/health/live, start_seconds: 30}
  worker-cpu:
    dockerfile: docker/worker/Dockerfile
    context: .
    target: runtime
    args: {WORKER_TYPE: cpu}
  worker-gpu:
    dockerfile: docker/worker/Dockerfile
    context: .
    target: runtime
    args: {WORKER_TYPE: gpu}
    gpu: {nvenc: [h264_nvenc]}
"""

DOCKERFILE = """\
FROM python:3.12-slim AS runtime
RUN useradd -u 1000 app
USER 1000
CMD ["python", "-m", "app"]
"""


@pytest.fixture
def manifest(tmp_path: Path) -> Manifest:
    for name in ("api", "worker"):
        folder = tmp_path / "docker" / name
        folder.mkdir(parents=True)
        (folder / "Dockerfile").write_text(DOCKERFILE + f"# {name}\n")
    (tmp_path / "stablebuild.yml").write_text(MANIFEST)
    return load_manifest(tmp_path / "stablebuild.yml")


def options(tmp_path: Path, **kw: object) -> ValidateOptions:
    return ValidateOptions(cache_dir=tmp_path / "cache", stack=False, **kw)  # type: ignore[arg-type]


def test_every_image_is_built_checked_and_reported_in_manifest_order(
    manifest: Manifest, tmp_path: Path
) -> None:
    engine = FakeEngine()
    report = validate(engine, manifest, options(tmp_path))
    assert report.complete
    assert [r.name for r in report.images] == ["api", "worker-cpu", "worker-gpu"]
    assert all(r.build.status is BuildStatus.BUILT for r in report.images)
    built = [subject for what, subject in engine.calls if what == "build"]
    # NOTE: one Dockerfile, one chain: the GPU worker is built after the CPU worker.
    assert built.index("worker-cpu") < built.index("worker-gpu")
    trials = [subject for what, subject in engine.calls if what == "trial"]
    assert trials == [report.images[0].build.image_id]  # only api has `run:`
    assert report.engine["endpoint"] == "unix:///run/fake.sock"
    assert engine.removed_runs == [report.run_id]  # the run's containers are cleaned up
    assert engine.stack_runs == 1


def test_a_second_run_reuses_builds_and_judged_results(manifest: Manifest, tmp_path: Path) -> None:
    engine = FakeEngine()
    first = validate(engine, manifest, options(tmp_path))
    calls = len(engine.calls)
    second = validate(engine, manifest, options(tmp_path))
    assert engine.calls[calls:] == []  # nothing built, inspected or probed again
    assert all(r.build.status is BuildStatus.CACHED for r in second.images)
    assert all(r.from_cache for r in second.images)
    assert [c.id for c in second.images[0].checks] == [c.id for c in first.images[0].checks]


def test_results_judged_by_other_code_are_judged_again(
    manifest: Manifest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reinstall (or an edited working copy) under the same version number judges with other
    checks: the builds are reused, the judgments are not."""
    import stablebuild.validate

    engine = FakeEngine()
    validate(engine, manifest, options(tmp_path))
    monkeypatch.setattr(stablebuild.validate, "current_code", lambda: ["0.1.0", "other code"])
    again = validate(engine, manifest, options(tmp_path))
    assert all(r.build.status is BuildStatus.CACHED for r in again.images)
    assert not any(r.from_cache for r in again.images)


def test_a_build_whose_image_is_gone_is_built_again(manifest: Manifest, tmp_path: Path) -> None:
    engine = FakeEngine()
    validate(engine, manifest, options(tmp_path))
    engine.images.clear()  # e.g. `docker image prune` between the runs
    report = validate(engine, manifest, options(tmp_path))
    assert all(r.build.status is BuildStatus.BUILT for r in report.images)
    assert engine.builds == 6


def test_no_cache_builds_every_time(manifest: Manifest, tmp_path: Path) -> None:
    engine = FakeEngine()
    validate(engine, manifest, options(tmp_path, use_cache=False))
    validate(engine, manifest, options(tmp_path, use_cache=False))
    assert engine.builds == 6


def test_a_failed_build_is_reported_and_not_probed(manifest: Manifest, tmp_path: Path) -> None:
    engine = FakeEngine(failing=["worker-cpu"])
    report = validate(engine, manifest, options(tmp_path))
    by_name = {r.name: r for r in report.images}
    assert by_name["worker-cpu"].build.status is BuildStatus.FAILED
    assert "libavcodec-extra99" in (by_name["worker-cpu"].build.error or "")
    probed = {subject.split("-")[0] for what, subject in engine.calls if what == "probe"}
    assert probed == {"sha256:api", "sha256:worker"}  # api and the GPU worker only
    assert report.complete


def test_an_engine_lost_mid_run_keeps_the_partial_report(
    manifest: Manifest, tmp_path: Path
) -> None:
    engine = FakeEngine(lose_after=1)
    validation = Validation(engine, manifest, options(tmp_path, jobs=1))
    with pytest.raises(EngineUnavailable, match=r"unix:///run/fake\.sock"):
        validation.run()
    assert not validation.report.complete
    assert validation.report.finished_at is not None
    assert engine.builds == 1
    assert engine.removed_runs == [validation.report.run_id]


def test_changed_only_skips_images_whose_inputs_passed_before(
    manifest: Manifest, tmp_path: Path
) -> None:
    passing = {"api", "worker-cpu", "worker-gpu"}
    engine = FakeEngine()
    validation = Validation(engine, manifest, options(tmp_path))
    assert validation.cache is not None
    for name in passing:
        inputs = validation._inputs(manifest.images[name])
        assert inputs is not None
        validation.cache.mark_passed(manifest.name, name, inputs)
    (tmp_path / "docker" / "api" / "Dockerfile").write_text(DOCKERFILE + "# changed\n")
    changed = Validation(engine, manifest, options(tmp_path, changed_only=True))
    assert [s.name for s in changed.selected()] == ["api"]


def test_the_gpu_is_requested_only_on_an_engine_with_an_nvidia_runtime(
    manifest: Manifest, tmp_path: Path
) -> None:
    plain = Validation(FakeEngine(), manifest, options(tmp_path))
    nvidia = Validation(FakeEngine(runtimes=("nvidia", "runc")), manifest, options(tmp_path))
    assert not plain.engine_facts.gpu_requested
    assert nvidia.engine_facts.nvidia_runtime and nvidia.engine_facts.gpu_requested
    assert nvidia.report.engine["nvidia_runtime"] is True


def test_what_runs_after_the_build_loads_once_the_context_goes_to_the_engine(
    manifest: Manifest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    busy = threading.Event()
    monkeypatch.setattr(preload, "_busy", busy)
    seen: list[str] = []
    validation = Validation(
        FakeEngine(), manifest, options(tmp_path), lambda e: seen.append(e.kind)
    )
    validation._building(Event("api", "build-start", "Dockerfile"))
    assert not busy.is_set()  # the context is still being made: a preload would slow it
    validation._building(Event("api", "build-context", "sending 2.05 kB of context"))
    assert busy.is_set()
    assert seen == ["build-start", "build-context"]  # and the observer still sees every event

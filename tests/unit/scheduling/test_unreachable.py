"""An engine that does not answer at the start: skipped with a warning, listed in the report,
its images placed on the others; none answering is exit 3 as before."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.unit.engine.fake import FakeEngine

from stablebuild.engine import engines as engines_module
from stablebuild.engine.engines import connect_available
from stablebuild.engine.interface import EngineInterface
from stablebuild.engine.unreachable import UnreachableEngine
from stablebuild.errors import EngineUnavailable
from stablebuild.manifest.load import load_manifest
from stablebuild.manifest.model import EngineSpec
from stablebuild.report.model import BuildStatus
from stablebuild.validate import ValidateOptions, Validation

GPU_SOCK = "unix:///run/gpu-host.sock"
DOWN = EngineUnavailable(
    f"no Docker engine answers at {GPU_SOCK} (engine gpu-host)", "start an engine"
)


def down(name: str = "gpu-host", labels: tuple[str, ...] = ("gpu",)) -> UnreachableEngine:
    return UnreachableEngine(name, GPU_SOCK, DOWN, labels)


def test_the_images_of_an_unreachable_engine_go_to_the_others(stack: Path, tmp_path: Path) -> None:
    local = FakeEngine("local")
    options = ValidateOptions(cache_dir=tmp_path / "cache", stack=False)
    report = Validation([local, down()], load_manifest(stack), options).run()
    assert report.complete
    # NOTE: the GPU worker would have gone to gpu-host; without it, it is checked on local
    # (its GPU checks skipped with the reason, as on one engine without an NVIDIA runtime).
    assert {r.name: r.engine for r in report.images} == {
        "api": "local",
        "worker-cpu": "local",
        "worker-gpu": "local",
    }
    assert all(r.build.status is BuildStatus.BUILT for r in report.images)
    listed = {e["name"]: e for e in report.engine["engines"]}
    assert listed["local"]["reachable"] is True
    assert listed["gpu-host"]["reachable"] is False
    assert listed["gpu-host"]["error"] == DOWN.message
    assert listed["gpu-host"]["endpoint"] == GPU_SOCK
    assert report.engine["name"] == "local"  # the stack phase runs on an engine that answers


def test_an_image_pinned_to_an_unreachable_engine_stops_the_run_naming_both(
    stack: Path, tmp_path: Path
) -> None:
    text = stack.read_text().replace(
        "    gpu: {nvenc: [h264_nvenc]}\n",
        "    gpu: {nvenc: [h264_nvenc]}\n    placement: {labels: [gpu]}\n",
    )
    stack.write_text(text)
    local = FakeEngine("local")
    options = ValidateOptions(cache_dir=tmp_path / "cache", stack=False)
    validation = Validation([local, down()], load_manifest(stack), options)
    with pytest.raises(EngineUnavailable) as caught:
        validation.run()
    assert caught.value.message == (
        "image worker-gpu: placed by `placement:` (labels gpu) on engines that did not answer: "
        f"{DOWN.message}"
    )
    assert local.builds == 0  # nothing was built before the run stopped


def fake_connect(answering: dict[str, EngineInterface]):  # type: ignore[no-untyped-def]
    def connect(spec: EngineSpec, timeout: int = 120) -> EngineInterface:
        if spec.name in answering:
            return answering[spec.name]
        raise EngineUnavailable(f"no Docker engine answers at {spec.endpoint} (engine {spec.name})")

    return connect


DECLARED = (
    EngineSpec("gpu-host", "unix:///run/gpu-host.sock", ("gpu",)),
    EngineSpec("local", "unix:///var/run/docker.sock"),
)


def test_an_engine_that_does_not_answer_is_skipped_with_a_warning(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    local = FakeEngine("local")
    monkeypatch.setattr(engines_module, "connect_engine", fake_connect({"local": local}))
    warnings: list[str] = []
    found = connect_available(DECLARED, [], warnings.append)
    assert found[0] is local  # those that answer first: the first runs the stack phase
    skipped = found[1]
    assert isinstance(skipped, UnreachableEngine)
    assert skipped.capabilities.endpoint == "unix:///run/gpu-host.sock"
    assert skipped.capabilities.labels == ("gpu",)
    assert not skipped.capabilities.reachable
    assert warnings == [
        "warning: engine gpu-host skipped: no Docker engine answers at "
        "unix:///run/gpu-host.sock (engine gpu-host); its images go to the others"
    ]
    with pytest.raises(EngineUnavailable, match=r"answers at unix:///run/gpu-host\.sock"):
        skipped.build(None, ca_bundle=None)  # type: ignore[arg-type]


def test_no_engine_answering_is_engine_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engines_module, "connect_engine", fake_connect({}))
    warnings: list[str] = []
    with pytest.raises(EngineUnavailable) as caught:
        connect_available(DECLARED, [], warnings.append)
    assert caught.value.message == (
        "no engine of this run answers: "
        "no Docker engine answers at unix:///run/gpu-host.sock (engine gpu-host); "
        "no Docker engine answers at unix:///var/run/docker.sock (engine local)"
    )
    assert warnings == []  # no "its images go to the others": there are none
    with pytest.raises(EngineUnavailable, match=r"^no Docker engine answers at unix:///run/gpu"):
        connect_available(DECLARED[:1], [], warnings.append)

"""Placement over several engines, and the retry when one is lost, with fake engines."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.unit.engine.fake import FakeEngine

from stablebuild.engine.interface import Capabilities
from stablebuild.errors import EngineUnavailable, UsageError
from stablebuild.manifest.load import load_manifest
from stablebuild.manifest.model import GpuSpec, ImageSpec, Placement
from stablebuild.report.model import BuildStatus
from stablebuild.schedule import build_chains, place
from stablebuild.validate import ValidateOptions, Validation


def caps(
    name: str, *, nvidia: bool = False, labels: tuple[str, ...] = (), cpus: int = 4
) -> Capabilities:
    runtimes = ("nvidia", "runc") if nvidia else ("runc",)
    return Capabilities(
        name, f"ssh://builder@{name}", "26.1.0", "1.45", runtimes, cpus=cpus, labels=labels
    )


def specs(tmp_path: Path) -> list[ImageSpec]:
    api, worker, docs = (tmp_path / f"{n}.Dockerfile" for n in ("api", "worker", "docs"))
    return [
        ImageSpec("api", api, tmp_path),
        ImageSpec("worker-cpu", worker, tmp_path),
        ImageSpec("worker-gpu", worker, tmp_path, gpu=GpuSpec(nvenc=("h264_nvenc",))),
        ImageSpec("docs", docs, tmp_path),
    ]


def names(placed: list[tuple[list[ImageSpec], Capabilities]]) -> dict[str, str]:
    return {spec.name: engine.name for chain, engine in placed for spec in chain}


def test_the_gpu_chain_goes_to_the_nvidia_engine_and_stays_together(tmp_path: Path) -> None:
    placed = place(build_chains(specs(tmp_path)), [caps("ci-1"), caps("gpu-host", nvidia=True)])
    where = names(placed)
    assert where["worker-gpu"] == "gpu-host"
    assert where["worker-cpu"] == "gpu-host"  # one Dockerfile: one engine
    assert {where["api"], where["docs"]} == {"ci-1"}  # gpu-host already carries the worker


def test_without_an_nvidia_engine_the_gpu_image_still_runs(tmp_path: Path) -> None:
    placed = place(build_chains(specs(tmp_path)), [caps("ci-1"), caps("ci-2")])
    assert set(names(placed)) == {"api", "worker-cpu", "worker-gpu", "docs"}


def test_the_longest_chains_are_spread_first(tmp_path: Path) -> None:
    history = {"api": 400.0, "worker-cpu": 500.0, "worker-gpu": 20.0, "docs": 60.0}
    placed = place(build_chains(specs(tmp_path)), [caps("a"), caps("b")], history)
    assert [chain[0].name for chain, _ in placed] == ["worker-cpu", "api", "docs"]
    where = names(placed)
    assert where["worker-cpu"] != where["api"]
    assert where["docs"] == where["api"]  # 400 < 520: the lighter engine takes the next


def test_placement_pins_by_name_and_by_labels(tmp_path: Path) -> None:
    api, _, _, docs = specs(tmp_path)
    pinned = [
        ImageSpec("api", api.dockerfile, tmp_path, placement=Placement(engine="b")),
        ImageSpec("docs", docs.dockerfile, tmp_path, placement=Placement(labels=("arm64",))),
    ]
    engines = [caps("a", labels=("arm64", "big")), caps("b")]
    assert names(place(build_chains(pinned), engines)) == {"api": "b", "docs": "a"}


def test_a_placement_no_engine_matches_is_a_usage_error(tmp_path: Path) -> None:
    spec = ImageSpec("api", tmp_path / "Dockerfile", tmp_path, placement=Placement("gpu-host"))
    with pytest.raises(UsageError, match=r"image api: no engine .* \(gpu-host\); engines: a, b"):
        place([[spec]], [caps("a"), caps("b")])


def test_each_image_says_which_engine_built_it(stack: Path, tmp_path: Path) -> None:
    manifest = load_manifest(stack)
    local, gpu = FakeEngine("local"), FakeEngine("gpu-host", runtimes=("nvidia", "runc"))
    options = ValidateOptions(cache_dir=tmp_path / "cache", stack=False)
    report = Validation([local, gpu], manifest, options).run()
    assert {r.name: r.engine for r in report.images} == {
        "api": "local",
        "worker-cpu": "gpu-host",
        "worker-gpu": "gpu-host",
    }
    assert [e["name"] for e in report.engine["engines"]] == ["local", "gpu-host"]
    assert local.removed_runs == gpu.removed_runs == [report.run_id]  # both cleaned up
    assert local.stack_runs == 1 and gpu.stack_runs == 0


def test_an_engine_lost_mid_run_has_its_images_retried_once_elsewhere(
    stack: Path, tmp_path: Path
) -> None:
    manifest = load_manifest(stack)
    local = FakeEngine("local")
    gpu = FakeEngine("gpu-host", runtimes=("nvidia", "runc"), lose_after=1)
    options = ValidateOptions(cache_dir=tmp_path / "cache", stack=False, jobs=1)
    report = Validation([local, gpu], manifest, options).run()
    assert report.complete
    by_name = {r.name: r for r in report.images}
    assert by_name["api"].engine == "local"
    # NOTE: gpu-host went away after building the CPU worker, before checking it: the
    # whole unfinished chain moves, and the report says so.
    retried = "local (retried: engine gpu-host stopped answering)"
    assert by_name["worker-cpu"].engine == by_name["worker-gpu"].engine == retried
    assert all(r.build.status is BuildStatus.BUILT for r in report.images)
    assert gpu.builds == 1 and local.builds == 3


def test_no_engine_left_is_engine_unavailable_with_the_partial_report(
    stack: Path, tmp_path: Path
) -> None:
    manifest = load_manifest(stack)
    engines = [FakeEngine("a", lose_after=0), FakeEngine("b", lose_after=0)]
    options = ValidateOptions(cache_dir=tmp_path / "cache", stack=False)
    validation = Validation(engines, manifest, options)
    with pytest.raises(EngineUnavailable):
        validation.run()
    assert not validation.report.complete
    assert validation.report.images == []

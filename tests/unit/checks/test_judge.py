"""judge(): every family together, and the no-facts case."""

from __future__ import annotations

from collections import Counter
from typing import Any

from stablebuild.checks.inputs import EngineFacts, ImageMeta, RunOutcome
from stablebuild.checks.judging import judge
from stablebuild.manifest.model import PackagesSpec, RunSpec
from stablebuild.report.model import CheckStatus


def test_full_judgment(full_spec: Any, facts: dict[str, Any], meta: ImageMeta, pins: Any) -> None:
    results = judge(
        full_spec, facts, meta, python="3.12", python_match="minor", pins=pins, engine=EngineFacts()
    )
    statuses = {r.id: r.status for r in results}
    assert len(statuses) == len(results), "ids are unique"
    assert statuses.pop("nvenc.encode.h264_nvenc") is CheckStatus.SKIPPED
    assert set(statuses.values()) == {CheckStatus.PASSED}, statuses
    families = {r.family for r in results}
    assert families >= {"python", "imports", "pins", "ffmpeg", "nvenc", "user", "size", "files"}


def test_require_gpu_fails_the_skip(full_spec: Any, facts: dict[str, Any], meta: ImageMeta) -> None:
    results = judge(
        full_spec, facts, meta, python=None, python_match="minor", pins={},
        engine=EngineFacts(), require_gpu=True,
    )  # fmt: skip
    assert {r.id: r.status for r in results}["nvenc.encode.h264_nvenc"] is CheckStatus.FAILED


def test_no_facts_errors_every_family_never_passes(
    full_spec: Any, meta: ImageMeta, pins: Any
) -> None:
    spec = full_spec._replace(packages=PackagesSpec(forbid=("gcc",)), run=RunSpec())
    results = judge(
        spec, None, meta, python="3.12", python_match="minor", pins=pins, engine=EngineFacts(),
        run=RunOutcome(True, True, 1.0, "healthy", None, None, None),
    )  # fmt: skip
    by_family = Counter(r.family for r in results if r.status is CheckStatus.ERROR)
    for family in ("python", "imports", "ffmpeg", "nvenc", "packages", "files", "user"):
        assert by_family[family] == 1, family
    passed = {r.id for r in results if r.status is CheckStatus.PASSED}
    # only what image metadata and the runtime trial prove by themselves
    assert passed <= {"size", "build_time", "layers", "runtime.start", "runtime.health"}
    assert all("probe did not run" in r.message for r in results if r.family == "python")

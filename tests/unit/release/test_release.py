"""Release channels on a real SQLite history and the fake engine: promote, the tag shift,
refusals, rollback with verification, and the release log."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.unit.engine.fake import FakeEngine

from stablebuild.errors import ManifestError, UsageError
from stablebuild.history.interface import GitInfo, ImageRecord, RunKind, RunRecord
from stablebuild.history.releases import release_log
from stablebuild.history.sqlite import SqliteStore
from stablebuild.manifest import load_manifest
from stablebuild.manifest.model import Manifest
from stablebuild.release import (
    Actor,
    ReleaseRefused,
    VerificationFailed,
    lineage,
    promote,
    rollback,
    slot_tag,
)

MANIFEST = """\
version: 1
name: shop
images:
  api: {dockerfile: Dockerfile}
  worker: {dockerfile: Dockerfile}
"""
CLEAN = GitInfo("c" * 40, "main", False)


def _manifest(
    root: Path, release: str = "release: {tag: 'shop/{image}:{channel}', keep: 2}\n"
) -> Manifest:
    (root / "Dockerfile").write_text("FROM python:3.12-slim\n")
    (root / "stablebuild.yml").write_text(MANIFEST + release)
    return load_manifest(root / "stablebuild.yml")


def _run(n: int, status: str = "passed", *, complete: bool = True, missing: str = "") -> RunRecord:
    images = tuple(
        ImageRecord(name, "built", 10.0, f"sha256:{name}-{n}", ok=status == "passed")
        for name in ("api", "worker")
        if name != missing
    )
    return RunRecord(
        f"run-{n}", RunKind.VALIDATE, "shop", f"2026-11-0{n}T09:00:00+00:00", status,
        complete=complete, git=CLEAN, images=images,
    )  # fmt: skip


def _actor(n: int = 1, dirty: bool = False) -> Actor:
    return Actor("ci", GitInfo("c" * 40, "main", dirty), f"2026-11-0{n}T10:00:00+00:00")


@pytest.fixture
def setup(tmp_path: Path):  # type: ignore[no-untyped-def]
    manifest = _manifest(tmp_path)
    store = SqliteStore(tmp_path / "history.sqlite")
    engine = FakeEngine()
    yield manifest, store, engine
    store.close()


def _record(store: SqliteStore, engine: FakeEngine, *runs: RunRecord) -> None:
    for run in runs:
        store.record(run)
        engine.images.update(i.image_id for i in run.images if i.image_id)


def test_promote_tags_the_latest_passing_complete_run_and_records_it(setup) -> None:  # type: ignore[no-untyped-def]
    manifest, store, engine = setup
    _record(store, engine, _run(1), _run(2), _run(3, "failed"), _run(4, complete=False))
    event = promote(manifest, store, engine, "stable", actor=_actor())
    assert event.run_id == "run-2" and event.position == 1
    assert engine.tags == {
        "shop/api:stable": "sha256:api-2",
        "shop/worker:stable": "sha256:worker-2",
    }
    [logged] = release_log(store, "shop")
    assert (logged.action, logged.who, logged.commit) == ("promote", "ci", "c" * 40)
    assert logged.images == {"api": "sha256:api-2", "worker": "sha256:worker-2"}


def test_each_promotion_shifts_the_older_sets_down_keeping_keep_numbered_ones(setup) -> None:  # type: ignore[no-untyped-def]
    manifest, store, engine = setup
    for n in range(1, 6):
        _record(store, engine, _run(n))
        promote(manifest, store, engine, "stable", actor=_actor(n), run_id=f"run-{n}")
    api = {ref: i for ref, i in engine.tags.items() if ref.startswith("shop/api:")}
    # keep: 2 -> stable, stable-previous, then two numbered sets; run-1 fell off.
    assert api == {
        "shop/api:stable": "sha256:api-5",
        "shop/api:stable-previous": "sha256:api-4",
        "shop/api:stable-previous-2": "sha256:api-3",
        "shop/api:stable-previous-3": "sha256:api-2",
    }
    assert [slot_tag("beta", s) for s in (0, 1, 2)] == ["beta", "beta-previous", "beta-previous-2"]


@pytest.mark.parametrize(
    ("run", "run_id", "reason"),
    [
        (_run(1, "failed"), "run-1", "run run-1 failed"),
        (_run(1, complete=False), "run-1", "run run-1 is incomplete"),
        (_run(1, missing="worker"), "run-1", "run run-1 has no built image 'worker'"),
        (_run(1, "failed"), None, "no passing, complete validate run of shop"),
    ],
)
def test_a_failed_incomplete_or_partial_run_is_refused_with_its_reason(
    setup,
    run: RunRecord,
    run_id: str | None,
    reason: str,  # type: ignore[no-untyped-def]
) -> None:
    manifest, store, engine = setup
    _record(store, engine, run)
    with pytest.raises(ReleaseRefused) as refused:
        promote(manifest, store, engine, "stable", actor=_actor(), run_id=run_id)
    assert refused.value.message.startswith(reason) and "\n" not in refused.value.message
    assert engine.tags == {} and release_log(store, "shop") == []


def test_a_run_whose_images_are_gone_and_a_dirty_tree_are_refused(setup) -> None:  # type: ignore[no-untyped-def]
    manifest, store, engine = setup
    _record(store, engine, _run(1))
    engine.images.discard("sha256:worker-1")
    with pytest.raises(ReleaseRefused, match=r"image 'worker' of run run-1 .* is gone"):
        promote(manifest, store, engine, "stable", actor=_actor())
    engine.images.add("sha256:worker-1")
    with pytest.raises(ReleaseRefused, match="uncommitted changes") as dirty:
        promote(manifest, store, engine, "stable", actor=_actor(dirty=True))
    assert dirty.value.hint == "commit them, or pass --allow-dirty"
    promote(manifest, store, engine, "stable", actor=_actor(dirty=True), allow_dirty=True)
    assert engine.tags["shop/api:stable"] == "sha256:api-1"


def test_unknown_runs_and_bad_channels_are_usage_errors(setup) -> None:  # type: ignore[no-untyped-def]
    manifest, store, engine = setup
    _record(store, engine, _run(1))
    with pytest.raises(UsageError, match="--run nope: no recorded validate run"):
        promote(manifest, store, engine, "stable", actor=_actor(), run_id="nope")
    for channel in ("Stable", "stable-previous", "a/b"):
        with pytest.raises(UsageError, match="--channel"):
            promote(manifest, store, engine, channel, actor=_actor())


def test_rollback_moves_the_channel_back_and_verifies_the_images(setup) -> None:  # type: ignore[no-untyped-def]
    manifest, store, engine = setup
    for n in (1, 2, 3):
        _record(store, engine, _run(n))
        promote(manifest, store, engine, "stable", actor=_actor(n), run_id=f"run-{n}")
    verified: list[dict[str, str]] = []

    def verifier(m, e, images, observer):  # type: ignore[no-untyped-def]
        verified.append(images)
        return []

    event = rollback(manifest, store, engine, "stable", actor=_actor(4), verifier=verifier)
    assert event.run_id == "run-2" and event.note == "verified"
    assert verified == [{"api": "sha256:api-2", "worker": "sha256:worker-2"}]
    assert engine.tags["shop/api:stable"] == "sha256:api-2"
    assert engine.tags["shop/api:stable-previous"] == "sha256:api-1"
    assert "shop/api:stable-previous-2" not in engine.tags
    # A second rollback goes further back; --to names a run directly.
    rollback(manifest, store, engine, "stable", actor=_actor(5), verify=False)
    assert engine.tags["shop/worker:stable"] == "sha256:worker-1"
    with pytest.raises(ReleaseRefused, match="no earlier promoted set"):
        rollback(manifest, store, engine, "stable", actor=_actor(6), verify=False)
    actions = [(e.action, e.run_id, e.note) for e in release_log(store, "shop", "stable")]
    assert actions[-2:] == [
        ("rollback", "run-2", "verified"),
        ("rollback", "run-1", "not verified (--no-verify)"),
    ]
    assert [s.run_id for s in lineage(release_log(store, "shop", "stable"))] == ["run-1"]


def test_a_failed_verification_is_named_and_recorded(setup) -> None:  # type: ignore[no-untyped-def]
    manifest, store, engine = setup
    for n in (1, 2, 3):
        _record(store, engine, _run(n))
        promote(manifest, store, engine, "stable", actor=_actor(n), run_id=f"run-{n}")

    def failing(m, e, images, observer):  # type: ignore[no-untyped-def]
        return ["api: runtime.health: not healthy after 60s", "stack: stack.smoke.1: 500"]

    with pytest.raises(VerificationFailed) as failed:
        rollback(manifest, store, engine, "stable", actor=_actor(4), to="run-1", verifier=failing)
    assert "rolled back to run run-1, but verification failed: api: runtime.health" in str(
        failed.value
    )
    assert "(and 1 more)" in str(failed.value)
    assert engine.tags["shop/api:stable"] == "sha256:api-1"
    assert release_log(store, "shop")[-1].note.startswith("verification failed: api:")


def test_verification_probes_each_image_without_a_rebuild(setup) -> None:  # type: ignore[no-untyped-def]
    from stablebuild.release import verify_images

    manifest, _, engine = setup
    engine.images.update({"sha256:api-1", "sha256:worker-1"})
    failures = verify_images(manifest, engine, {"api": "sha256:api-1", "worker": "sha256:worker-1"})
    # The fake's probe knows neither image: the probe check fails for each, by name.
    assert [f.split(":")[0] for f in failures[:1]] == ["api"]
    assert any(f.startswith("worker: ") for f in failures)
    assert engine.builds == 0 and ("probe", "sha256:api-1") in engine.calls


@pytest.mark.parametrize(
    ("release", "problem"),
    [
        ("release: {tag: 'shop/{image}'}\n", "lacks {channel}"),
        ("release: {tag: '{stack}/{name}:{channel}'}\n", "names {name}"),
        ("release: {tag: 'Shop/{image}:{channel}'}\n", "not make a valid image name"),
        ("release: {keep: -1}\n", "must be 0 to 100"),
    ],
)
def test_a_bad_release_section_is_a_manifest_error_with_its_line(
    tmp_path: Path, release: str, problem: str
) -> None:
    with pytest.raises(ManifestError) as caught:
        _manifest(tmp_path, release)
    [found] = caught.value.problems
    assert problem in found.message and found.line == 6


def test_the_default_template_and_keep(tmp_path: Path) -> None:
    manifest = _manifest(tmp_path, "")
    assert (manifest.release.tag, manifest.release.keep) == ("{stack}/{image}:{channel}", 5)

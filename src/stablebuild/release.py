"""Release channels: promote the images of a passing, complete validate run to a channel's tags,
roll the channel back to an earlier promoted set and verify it, and list what happened.

The channel's state is the release log in the history store (`history/releases.py`), never the
engine's tags: the tags are made to match the log, so a lost or hand-moved tag is put right by
the next promote or rollback. Every engine call goes through the engine seam.
"""

from __future__ import annotations

import getpass
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from stablebuild.engine.interface import EngineInterface
from stablebuild.errors import StablebuildError, UsageError
from stablebuild.events import Observer, ignore
from stablebuild.history.interface import GitInfo, HistoryStore, RunQuery, RunRecord
from stablebuild.history.releases import (
    PROMOTE,
    ROLLBACK,
    ReleaseEvent,
    record_release,
    release_log,
)
from stablebuild.manifest.model import Manifest
from stablebuild.manifest.release import reference_problem, render, split_reference
from stablebuild.release_push import PushFailed, push_channel
from stablebuild.runid import new_run_id, now

_CHANNEL = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
PREVIOUS = "previous"


class ReleaseRefused(StablebuildError):
    """A promotion or rollback that must not happen: the run failed, its images are gone, the
    tree is dirty... (exit 1, one line saying why)."""


class VerificationFailed(StablebuildError):
    """The channel moved back, but its images (or the stack) did not pass (exit 1)."""


def channel_problem(channel: str) -> str | None:
    if not _CHANNEL.match(channel):
        return f"channel {channel!r}: lower-case letters, digits, _ . - (at most 64)"
    if re.search(rf"-{PREVIOUS}(-\d+)?$", channel):
        return f"channel {channel!r}: names ending in -{PREVIOUS} are the channel's older sets"
    return None


def slot_tag(channel: str, slot: int) -> str:
    """The tag of the set `slot` promotions back: 0 the channel, 1 `-previous`, n `-previous-n`."""
    if slot == 0:
        return channel
    return f"{channel}-{PREVIOUS}" if slot == 1 else f"{channel}-{PREVIOUS}-{slot}"


def lineage(events: Sequence[ReleaseEvent]) -> list[ReleaseEvent]:
    """The promoted sets a channel's log leaves, oldest first, the channel's own set last.

    A promotion stacks its set; a rollback unstacks down to the set of the run it went to.
    """
    sets: list[ReleaseEvent] = []
    for event in events:
        if event.action == PROMOTE:
            sets.append(event)
            continue
        while sets and sets[-1].run_id != event.run_id:
            sets.pop()
        if not sets:
            sets.append(event)
    return sets


@dataclass(frozen=True)
class TagPlan:
    """What the engine's tags must become: reference -> image id, and references to drop."""

    tags: dict[str, str]
    drop: tuple[str, ...]


def tag_plan(manifest: Manifest, channel: str, sets: Sequence[ReleaseEvent]) -> TagPlan:
    """The channel's tags for `sets` (oldest first): `keep` numbered sets after -previous."""
    template, keep = manifest.release.tag, manifest.release.keep
    newest_first = list(reversed(sets))
    tags: dict[str, str] = {}
    drop: list[str] = []
    # One slot past the last kept, so the set that just fell off loses its tag.
    for slot in range(keep + 3):
        for image in manifest.images:
            reference = render(template, manifest.name, image, slot_tag(channel, slot))
            held = newest_first[slot].images.get(image) if slot < len(newest_first) else None
            if held is not None and slot <= keep + 1:
                tags[reference] = held
            else:
                drop.append(reference)
    return TagPlan(tags, tuple(drop))


def apply_tags(engine: EngineInterface, plan: TagPlan) -> None:
    for reference in plan.drop:
        engine.remove_tag(reference)
    for reference, image_id in plan.tags.items():
        repository, tag = split_reference(reference)
        engine.tag(image_id, repository, tag)


@dataclass(frozen=True)
class Actor:
    """Who moves the channel, and where the sources stand."""

    who: str
    git: GitInfo
    at: str

    @staticmethod
    def here(manifest: Manifest) -> Actor:
        from stablebuild.history.gitinfo import git_info

        try:
            who = getpass.getuser()
        except (KeyError, OSError):
            who = "unknown"
        return Actor(who, git_info(manifest.root), now())


def _check_references(manifest: Manifest, channel: str) -> None:
    for image in manifest.images:
        for slot in (0, manifest.release.keep + 1):
            problem = reference_problem(
                render(manifest.release.tag, manifest.name, image, slot_tag(channel, slot))
            )
            if problem is not None:
                raise UsageError(f"{manifest.path}: release: tag: {problem}", "fix the template")


def _find_run(runs: Sequence[RunRecord], wanted: str) -> RunRecord:
    exact = [run for run in runs if run.id == wanted]
    found = exact or [run for run in runs if run.id.startswith(wanted)]
    if len(found) != 1:
        why = "no recorded validate run" if not found else f"{len(found)} runs start with it"
        raise UsageError(f"--run {wanted}: {why}", "see the run ids with `stablebuild history`")
    return found[0]


def _images_of(manifest: Manifest, run: RunRecord, engine: EngineInterface) -> dict[str, str]:
    """The run's image ids, one per manifest image, each still on the engine."""
    images: dict[str, str] = {}
    for name in manifest.images:
        record = run.image(name)
        if record is None or record.image_id is None or not record.built:
            raise ReleaseRefused(
                f"run {run.id} has no built image {name!r}", "validate the whole stack first"
            )
        if not engine.image_exists(record.image_id):
            raise ReleaseRefused(
                f"image {name!r} of run {run.id} ({record.image_id[:19]}) is gone from the engine",
                "validate again with --keep-images, then promote that run",
            )
        images[name] = record.image_id
    return images


def promote(
    manifest: Manifest,
    store: HistoryStore,
    engine: EngineInterface,
    channel: str,
    *,
    actor: Actor,
    run_id: str | None = None,
    allow_dirty: bool = False,
    push: bool = False,
) -> ReleaseEvent:
    """Tag the run's images as `channel` (the latest passing, complete run when no `run_id`),
    shift the older sets down, and record the promotion. Raises ReleaseRefused."""
    problem = channel_problem(channel)
    if problem is not None:
        raise UsageError(f"--channel: {problem}", "e.g. --channel stable")
    _check_references(manifest, channel)
    if actor.git.dirty and not allow_dirty:
        raise ReleaseRefused(
            f"the working tree at {manifest.root} has uncommitted changes",
            "commit them, or pass --allow-dirty",
        )
    runs = store.runs(RunQuery(manifest.name, last=None, details=False))
    if run_id is not None:
        run = _find_run(runs, run_id)
        if not run.complete or run.status == "incomplete":
            raise ReleaseRefused(f"run {run.id} is incomplete (interrupted)", "promote another")
        if run.status != "passed":
            raise ReleaseRefused(f"run {run.id} {run.status}", "promote a passing run")
    else:
        good = [r for r in runs if r.status == "passed" and r.complete]
        if not good:
            raise ReleaseRefused(
                f"no passing, complete validate run of {manifest.name} in {store.where}",
                "run `stablebuild validate --keep-images` first",
            )
        run = good[-1]
    images = _images_of(manifest, run, engine)
    sets = lineage(release_log(store, manifest.name, channel))
    if sets and sets[-1].images == images:
        raise ReleaseRefused(f"run {run.id}'s images are already {channel}", "nothing to do")
    event = ReleaseEvent(
        manifest.name, channel, PROMOTE, run.id, actor.at, actor.who, actor.git.commit, images
    )
    apply_tags(engine, tag_plan(manifest, channel, [*sets, event]))
    if push:
        try:
            pushed = push_channel(manifest, engine, channel)
        except PushFailed:
            apply_tags(engine, tag_plan(manifest, channel, sets))  # nothing was promoted
            raise
        digests = " ".join(sorted(set(pushed.values())))
        event = ReleaseEvent(**{**event.__dict__, "note": f"pushed {digests}"})
    return record_release(store, event)


Verifier = Callable[[Manifest, EngineInterface, dict[str, str], Observer], list[str]]


def verify_images(
    manifest: Manifest,
    engine: EngineInterface,
    images: dict[str, str],
    observer: Observer = ignore,
) -> list[str]:
    """What fails when the images run again, no rebuild: the per-image probe and trial run
    (validate's own checks), then the stack phase when the manifest has one."""
    from stablebuild.facts import FactGatherer, Judging
    from stablebuild.report.model import BuildOutcome, BuildStatus, CheckStatus, Report
    from stablebuild.validate import manifest_pins

    run_id = new_run_id()
    judging = Judging(
        python=manifest.python,
        python_match=manifest.python_match,
        pins=manifest_pins(manifest),
        require_gpu=False,
        probe_timeout=300.0,
    )
    gatherer = FactGatherer(engine, run_id, judging, observer)
    report = Report(stack=manifest.name, run_id=run_id, started_at=now())
    bad = (CheckStatus.FAILED, CheckStatus.ERROR)
    failures: list[str] = []
    try:
        for name, spec in manifest.images.items():
            outcome = BuildOutcome(BuildStatus.CACHED, image_id=images[name])
            checked = gatherer.check(spec, outcome)
            report.images.append(checked)
            failures += [f"{name}: {c.id}: {c.message}" for c in checked.checks if c.status in bad]
        if manifest.stack is not None and not failures:
            engine.run_stack(
                manifest, report, enabled=True, extra_args={}, build_timeout=1800.0,
                observer=observer,
            )  # fmt: skip
            if report.stack_phase is not None:
                failures += [
                    f"stack: {c.id}: {c.message}"
                    for c in report.stack_phase.checks
                    if c.status in bad
                ]
    finally:
        engine.remove_containers(run_id)
    return failures


def rollback(
    manifest: Manifest,
    store: HistoryStore,
    engine: EngineInterface,
    channel: str,
    *,
    actor: Actor,
    to: str | None = None,
    verify: bool = True,
    verifier: Verifier = verify_images,
    observer: Observer = ignore,
) -> ReleaseEvent:
    """Move `channel` back to the set before it (or the set run `to` promoted), record it, then
    verify it. Raises ReleaseRefused, or VerificationFailed after the move."""
    problem = channel_problem(channel)
    if problem is not None:
        raise UsageError(f"--channel: {problem}", "e.g. --channel stable")
    _check_references(manifest, channel)
    sets = lineage(release_log(store, manifest.name, channel))
    if len(sets) < 2:
        raise ReleaseRefused(
            f"{channel} of {manifest.name} has no earlier promoted set to roll back to",
            "see `stablebuild releases`",
        )
    earlier = sets[:-1]
    if to is None:
        target = earlier[-1]
    else:
        matches = [s for s in earlier if s.run_id == to or s.run_id.startswith(to)]
        if not matches:
            kept = ", ".join(s.run_id for s in reversed(earlier))
            raise ReleaseRefused(
                f"--to {to}: not one of {channel}'s earlier sets ({kept})", "pick one of those"
            )
        target = matches[-1]
    for name, image_id in target.images.items():
        if not engine.image_exists(image_id):
            raise ReleaseRefused(
                f"image {name!r} of run {target.run_id} ({image_id[:19]}) is gone from the engine",
                "promote a run whose images are still there",
            )
    event = ReleaseEvent(
        manifest.name,
        channel,
        ROLLBACK,
        target.run_id,
        actor.at,
        actor.who,
        actor.git.commit,
        dict(target.images),
        note="" if verify else "not verified (--no-verify)",
    )
    kept_sets = sets[: sets.index(target) + 1]
    apply_tags(engine, tag_plan(manifest, channel, kept_sets))
    if not verify:
        return record_release(store, event)
    failures = verifier(manifest, engine, dict(target.images), observer)
    note = "verified" if not failures else f"verification failed: {failures[0]}"
    recorded = record_release(store, ReleaseEvent(**{**event.__dict__, "note": note}))
    if failures:
        more = f" (and {len(failures) - 1} more)" if len(failures) > 1 else ""
        raise VerificationFailed(
            f"{channel} rolled back to run {target.run_id}, but verification failed: "
            f"{failures[0]}{more}",
            "fix it, or promote another run",
        )
    return recorded


__all__ = [
    "Actor",
    "PushFailed",
    "ReleaseRefused",
    "TagPlan",
    "VerificationFailed",
    "apply_tags",
    "channel_problem",
    "lineage",
    "promote",
    "push_channel",
    "rollback",
    "slot_tag",
    "tag_plan",
    "verify_images",
]

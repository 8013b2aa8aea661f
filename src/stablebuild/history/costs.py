"""Expected build seconds per image, from the stack's last passing runs: what placement over
several engines spreads. Read only; a store that cannot be read gives no estimate, never an
error (the images then cost their budget, as without a history)."""

from __future__ import annotations

import statistics

from stablebuild.history.interface import HistoryStore, RunKind, RunQuery
from stablebuild.history.location import OFF, Location

PASSING_RUNS = 5  # the median of the last five: one slow run (a cold cache) does not count
RECENT_RUNS = 50  # how far back passing runs are looked for


def median_build_seconds(
    store: HistoryStore, stack: str, profile: str | None = None, runs: int = PASSING_RUNS
) -> dict[str, float]:
    """Each image's median build seconds over the last `runs` passing runs of `stack` (and
    `profile`: None is the manifest without one) that built it; cache hits time no build."""
    query = RunQuery(stack, RunKind.VALIDATE, last=RECENT_RUNS, profile=profile, details=False)
    passing = [r for r in store.runs(query) if r.status == "passed" and r.profile == profile]
    seconds: dict[str, list[float]] = {}
    for run in reversed(passing):  # newest first
        for image in run.images:
            timed = seconds.setdefault(image.name, [])
            took = image.build_seconds if image.build_status == "built" else None
            if took is not None and len(timed) < runs:
                timed.append(took)
    return {name: statistics.median(values) for name, values in seconds.items() if values}


def expected_seconds(
    location: Location, stack: str, profile: str | None = None
) -> dict[str, float]:
    """`median_build_seconds` of the store at `location`; empty when it is off, missing or
    cannot be read."""
    if location.kind == OFF:
        return {}
    from stablebuild.history.store import open_store

    try:
        with open_store(location, create=False) as store:
            return median_build_seconds(store, stack, profile)
    # NOTE: an estimate must never stop a run: a driver's own error (psycopg2, sqlite3) that a
    # store lets through counts as "no history" too.
    except Exception:
        return {}

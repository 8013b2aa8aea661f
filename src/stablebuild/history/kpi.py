"""The KPI table: per image, over a window of recorded runs, how builds and checks went.

Pure functions of `RunRecord`s, oldest first, or of the columns a store reads for a window of
thousands of runs (`RunWindow`: no record per run is made for those): success and pass rates,
build time (median and p90 of builds that really ran), size now vs first vs smallest,
start-to-healthy, health pass rate, the checks that fail most, the release channels holding
each image, and the series the sparklines and charts are drawn from.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, cast

from stablebuild.history.interface import (
    AuditTotals,
    ImageColumns,
    ImageRecord,
    RunRecord,
    RunWindow,
    audit_totals_of,
    image_columns,
    window_of,
)

SPARKS = "▁▂▃▄▅▆▇█"
MEGABYTE = 1e6
TOP_FAILING = 3


@dataclass(frozen=True)
class ChannelState:
    """Where a release channel stands for one image: its newest promotion or rollback."""

    channel: str
    action: str  # promote | rollback
    at: str  # ISO 8601, UTC
    run_id: str  # the run whose build the channel holds
    image_id: str


@dataclass(frozen=True)
class ImageKpi:
    image: str
    runs: int  # runs of the window whose build of the image was attempted (not interrupted)
    builds_ok: int  # built or reused
    passed: int  # built and every check passed
    build_median: float | None  # seconds, over builds that ran (not reused)
    build_p90: float | None
    size_now: int | None  # bytes, the newest measured
    size_first: int | None  # bytes, the oldest measured in the window
    size_min: int | None
    healthy_median: float | None  # seconds from start to healthy
    health_checked: int
    health_passed: int
    failing: tuple[tuple[str, int], ...]  # check id, runs it failed in; most frequent first
    sizes: tuple[float | None, ...]  # MB per run, oldest first (None: not measured)
    build_times: tuple[float | None, ...]  # seconds per run
    healthy_times: tuple[float | None, ...]
    channels: tuple[ChannelState, ...] = ()  # the release channels holding the image

    @property
    def success_rate(self) -> float | None:
        return self.builds_ok / self.runs if self.runs else None

    @property
    def pass_rate(self) -> float | None:
        return self.passed / self.runs if self.runs else None

    @property
    def health_rate(self) -> float | None:
        return self.health_passed / self.health_checked if self.health_checked else None

    @property
    def size_change(self) -> float | None:
        """Now against first, as a fraction (0.3: 30% larger)."""
        if not self.size_now or not self.size_first:
            return None
        return self.size_now / self.size_first - 1


@dataclass(frozen=True)
class AuditKpi:
    runs: int
    latest_at: str
    latest: dict[str, int]  # severity -> findings in the newest audit
    top_rules: tuple[tuple[str, int], ...]  # rule -> findings over the window


@dataclass(frozen=True)
class KpiTable:
    stack: str
    runs: int
    first_at: str | None
    last_at: str | None
    images: tuple[ImageKpi, ...]
    audit: AuditKpi | None = None


def median(values: Sequence[float]) -> float | None:
    # NOTE: not statistics.median: importing `statistics` costs more than the whole command.
    if not values:
        return None
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return float(ordered[middle])
    return (ordered[middle - 1] + ordered[middle]) / 2


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (p90 of 10 values is the 9th smallest)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return float(ordered[rank - 1])


def build_seconds(image: ImageRecord) -> float | None:
    """The time of a build that really ran; None for a reused image or a failed build."""
    if image.build_status != "built" or image.build_seconds is None:
        return None
    return image.build_seconds


def _top(counts: Iterable[tuple[str, int]]) -> tuple[tuple[str, int], ...]:
    """The most frequent first; a tie by name, so that every store orders it the same."""
    return tuple(sorted(counts, key=lambda item: (-item[1], item[0]))[:TOP_FAILING])


def _megabytes(sizes: tuple[int | None, ...]) -> tuple[float | None, ...]:
    """Bytes to MB, None where none (or 0) was measured."""
    if None not in sizes and 0 not in sizes:
        return tuple(map(MEGABYTE.__rtruediv__, cast("tuple[int, ...]", sizes)))  # s / 1e6, in C
    return tuple(None if not s else s / MEGABYTE for s in sizes)


def column_kpi(columns: ImageColumns, channels: tuple[ChannelState, ...] = ()) -> ImageKpi:
    """The KPIs of one image from its columns (entry i: run i, oldest first)."""
    statuses = columns.build_status
    seconds = columns.build_seconds
    healthy_seconds = columns.healthy_seconds
    # NOTE: a window of thousands of runs is counted by C loops (count, filter) wherever that
    # gives the same numbers; only an image missing from some runs, or interrupted in some,
    # is walked run by run.
    built = statuses.count("built")
    if built == len(statuses):
        build_times = seconds
    else:
        build_times = tuple(
            secs if status == "built" else None
            for status, secs in zip(statuses, seconds, strict=True)
        )
    if None not in statuses and "skipped" not in statuses:  # the image in every run
        runs = len(statuses)
        sizes = list(filter(None, columns.size_bytes))
        healthy = [h for h in healthy_seconds if h is not None]
        health = columns.health_passed
        passed = len(list(filter(None, columns.ok)))
        healthy_times = healthy_seconds
    else:
        present = [i for i, s in enumerate(statuses) if s is not None and s != "skipped"]
        runs = len(present)
        sizes = [s for i in present if (s := columns.size_bytes[i])]
        healthy = [h for i in present if (h := healthy_seconds[i]) is not None]
        health = tuple(columns.health_passed[i] for i in present)
        passed = sum(1 for i in present if columns.ok[i])
        healthy_times = tuple(
            None if status is None else h
            for status, h in zip(statuses, healthy_seconds, strict=True)
        )
    # A time is only kept for a build that ran, and a build that ran was attempted.
    times = [t for t in build_times if t is not None]
    return ImageKpi(
        image=columns.name,
        runs=runs,
        builds_ok=built + statuses.count("cached"),
        passed=passed,
        build_median=median(times),
        build_p90=percentile(times, 90),
        size_now=sizes[-1] if sizes else None,
        size_first=sizes[0] if sizes else None,
        size_min=min(sizes) if sizes else None,
        healthy_median=median(healthy),
        health_checked=len(health) - health.count(None),
        health_passed=len(list(filter(None, health))),
        failing=_top(columns.failing),
        sizes=_megabytes(columns.size_bytes),
        build_times=build_times,
        healthy_times=healthy_times,
        channels=channels,
    )


def image_kpi(
    name: str, records: Sequence[ImageRecord | None], channels: tuple[ChannelState, ...] = ()
) -> ImageKpi:
    """The KPIs of one image, `records` being its record in each run (None: not in it)."""
    return column_kpi(image_columns(name, records), channels)


def image_names(runs: Iterable[RunRecord], order: Sequence[str] = ()) -> list[str]:
    """Every image seen: those in `order` (the manifest's) first, then the rest by name."""
    return _ordered({image.name for run in runs for image in run.images}, order)


def _ordered(seen: set[str], order: Sequence[str]) -> list[str]:
    first = [name for name in order if name in seen]
    return first + sorted(seen - set(first))


def audit_kpi(totals: AuditTotals | Sequence[RunRecord]) -> AuditKpi | None:
    if not isinstance(totals, AuditTotals):
        totals = audit_totals_of(list(totals))
    if not totals.runs or totals.latest_at is None:
        return None
    return AuditKpi(
        runs=totals.runs,
        latest_at=totals.latest_at,
        latest={s: totals.latest.get(s, 0) for s in ("error", "warning", "info")},
        top_rules=_top(totals.rules.items()),
    )


def channel_states(events: Iterable[Any]) -> dict[str, tuple[ChannelState, ...]]:
    """Per image, where it stands in each release channel: the channel's newest promotion or
    rollback that holds the image. `events`: ReleaseEvents (history/releases.py), any order."""
    newest: dict[str, Any] = {}
    for event in sorted(events, key=lambda e: (e.at, e.position)):
        newest[event.channel] = event
    states: dict[str, list[ChannelState]] = {}
    for channel in sorted(newest):
        event = newest[channel]
        for name, image_id in event.images.items():
            states.setdefault(name, []).append(
                ChannelState(channel, event.action, event.at, event.run_id, image_id)
            )
    return {name: tuple(found) for name, found in states.items()}


def window_table(
    stack: str,
    window: RunWindow,
    order: Sequence[str] = (),
    audits: AuditTotals | None = None,
    releases: Iterable[Any] = (),
) -> KpiTable:
    """The table over a store's `window` of runs; `order`: the manifest's image order."""
    by_name = {columns.name: columns for columns in window.images}
    channels = channel_states(releases)
    return KpiTable(
        stack=stack,
        runs=window.runs,
        first_at=window.first_at,
        last_at=window.last_at,
        images=tuple(
            column_kpi(by_name[name], channels.get(name, ()))
            for name in _ordered(set(by_name), order)
        ),
        audit=None if audits is None else audit_kpi(audits),
    )


def kpi_table(
    stack: str,
    runs: Sequence[RunRecord],
    order: Sequence[str] = (),
    audits: Sequence[RunRecord] = (),
    releases: Iterable[Any] = (),
) -> KpiTable:
    """The table over `runs` (oldest first); `order`: the manifest's image order."""
    return window_table(stack, window_of(runs), order, audit_totals_of(audits), releases)


def sparkline(values: Sequence[float | None], width: int = 24) -> str:
    """Eight levels from the smallest to the largest value; a gap where none was measured.

    More values than `width` are averaged in equal buckets, so the line keeps its shape.
    """
    if len(values) > width:
        buckets: list[float | None] = []
        for i in range(width):
            chunk = values[i * len(values) // width : (i + 1) * len(values) // width]
            # NOTE: walked in Python only when a gap is in it: a bucket holds thousands.
            known = (
                cast("Sequence[float]", chunk)
                if None not in chunk
                else [v for v in chunk if v is not None]
            )
            buckets.append(sum(known) / len(known) if known else None)
        values = buckets
    known = [v for v in values if v is not None]
    if not known:
        return ""
    low, high = min(known), max(known)
    span = high - low
    return "".join(
        " "
        if v is None
        else SPARKS[0 if span == 0 else min(7, int((v - low) / span * len(SPARKS)))]
        for v in values
    )


__all__ = [
    "AuditKpi",
    "ChannelState",
    "ImageKpi",
    "KpiTable",
    "build_seconds",
    "channel_states",
    "column_kpi",
    "image_kpi",
    "kpi_table",
    "median",
    "percentile",
    "sparkline",
    "window_table",
]

"""The KPI table: per image, over a window of recorded runs, how builds and checks went.

Pure functions of `RunRecord`s, oldest first: success and pass rates, build time (median and
p90 of builds that really ran), size now vs first vs smallest, start-to-healthy, health pass
rate, the checks that fail most, and the series the sparklines and charts are drawn from.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from stablebuild.history.interface import ImageRecord, RunRecord

SPARKS = "▁▂▃▄▅▆▇█"
TOP_FAILING = 3


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


def image_kpi(name: str, records: Sequence[ImageRecord | None]) -> ImageKpi:
    """The KPIs of one image, `records` being its record in each run (None: not in it)."""
    present = [r for r in records if r is not None and r.build_status != "skipped"]
    times = [t for r in present if (t := build_seconds(r)) is not None]
    sizes = [r.size_bytes for r in present if r.size_bytes]
    healthy = [r.healthy_seconds for r in present if r.healthy_seconds is not None]
    failing = Counter(check.id for r in present for check in r.failed_checks)
    return ImageKpi(
        image=name,
        runs=len(present),
        builds_ok=sum(1 for r in present if r.built),
        passed=sum(1 for r in present if r.ok),
        build_median=median(times),
        build_p90=percentile(times, 90),
        size_now=sizes[-1] if sizes else None,
        size_first=sizes[0] if sizes else None,
        size_min=min(sizes) if sizes else None,
        healthy_median=median(healthy),
        health_checked=sum(1 for r in present if r.health_passed is not None),
        health_passed=sum(1 for r in present if r.health_passed),
        failing=tuple(failing.most_common(TOP_FAILING)),
        sizes=tuple(None if r is None or not r.size_bytes else r.size_bytes / 1e6 for r in records),
        build_times=tuple(None if r is None else build_seconds(r) for r in records),
        healthy_times=tuple(None if r is None else r.healthy_seconds for r in records),
    )


def image_names(runs: Iterable[RunRecord], order: Sequence[str] = ()) -> list[str]:
    """Every image seen: those in `order` (the manifest's) first, then the rest by name."""
    seen = {image.name for run in runs for image in run.images}
    first = [name for name in order if name in seen]
    return first + sorted(seen - set(first))


def audit_kpi(audits: Sequence[RunRecord]) -> AuditKpi | None:
    if not audits:
        return None
    latest = audits[-1]
    by_severity = Counter[str]()
    for finding in latest.findings:
        by_severity[finding.severity] += finding.count
    rules = Counter[str]()
    for run in audits:
        for finding in run.findings:
            rules[finding.rule] += finding.count
    return AuditKpi(
        runs=len(audits),
        latest_at=latest.started_at,
        latest={s: by_severity.get(s, 0) for s in ("error", "warning", "info")},
        top_rules=tuple(rules.most_common(TOP_FAILING)),
    )


def kpi_table(
    stack: str,
    runs: Sequence[RunRecord],
    order: Sequence[str] = (),
    audits: Sequence[RunRecord] = (),
) -> KpiTable:
    """The table over `runs` (oldest first); `order`: the manifest's image order."""
    images = tuple(
        image_kpi(name, [run.image(name) for run in runs]) for name in image_names(runs, order)
    )
    return KpiTable(
        stack=stack,
        runs=len(runs),
        first_at=runs[0].started_at if runs else None,
        last_at=runs[-1].started_at if runs else None,
        images=images,
        audit=audit_kpi(audits),
    )


def sparkline(values: Sequence[float | None], width: int = 24) -> str:
    """Eight levels from the smallest to the largest value; a gap where none was measured.

    More values than `width` are averaged in equal buckets, so the line keeps its shape.
    """
    if len(values) > width:
        buckets: list[float | None] = []
        for i in range(width):
            chunk = [
                v
                for v in values[i * len(values) // width : (i + 1) * len(values) // width]
                if v is not None
            ]
            buckets.append(sum(chunk) / len(chunk) if chunk else None)
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
    "ImageKpi",
    "KpiTable",
    "build_seconds",
    "image_kpi",
    "kpi_table",
    "median",
    "percentile",
    "sparkline",
]

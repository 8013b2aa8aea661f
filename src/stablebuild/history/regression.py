"""Regression gates: each image's size, build time and start time against the median of its
last passing runs (on the same branch, or at a named ref), as CheckResults.

Pure judgment: the runs to compare with are given, oldest first; nothing here reads a store.
A regression is a FAILED `regression.<metric>` naming both numbers; no baseline, or nothing
measured in this run, is SKIPPED with the reason.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from stablebuild.errors import UsageError
from stablebuild.history.interface import ImageRecord, RunRecord
from stablebuild.history.kpi import build_seconds, median
from stablebuild.report.model import CheckResult, CheckStatus

FAMILY = "regression"
BASELINE_RUNS = 5  # the median of at most this many of the newest passing runs
_LIMIT = re.compile(r"\s*([A-Za-z_]+)\s*=\s*(\d+(?:\.\d+)?)\s*%?\s*")


@dataclass(frozen=True)
class Metric:
    name: str
    what: str  # in a sentence: "size", "build time", "start-to-healthy time"
    unit: str
    value: Callable[[ImageRecord], float | None]
    missing: str  # why this run has no value to compare


def _size_mb(image: ImageRecord) -> float | None:
    return round(image.size_bytes / 1e6, 1) if image.size_bytes else None


METRICS: dict[str, Metric] = {
    "size": Metric("size", "size", "MB", _size_mb, "the image size was not measured"),
    "build": Metric(
        "build",
        "build time",
        "s",
        build_seconds,
        "no build ran (the image was reused from the cache): no build time to compare",
    ),
    "start": Metric(
        "start",
        "start-to-healthy time",
        "s",
        lambda image: image.healthy_seconds,
        "no start-to-healthy time was measured (needs `run:` with `health:`, and a healthy trial)",
    ),
}


def parse_limits(text: str, option: str = "--max-regression") -> dict[str, float]:
    """`size=10%,build=25%` -> {"size": 0.10, "build": 0.25}. Raises UsageError (exit 2)."""
    limits: dict[str, float] = {}
    for part in text.split(","):
        if not part.strip():
            continue
        match = _LIMIT.fullmatch(part)
        if match is None:
            raise UsageError(
                f"{option} {part.strip()!r}: expected METRIC=PERCENT",
                "e.g. --max-regression size=10%,build=25%,start=50%",
            )
        name, number = match.group(1), float(match.group(2))
        if name not in METRICS:
            raise UsageError(
                f"{option}: unknown metric {name!r}",
                f"the metrics are {', '.join(METRICS)}",
            )
        if name in limits:
            raise UsageError(f"{option}: {name} is named twice", "give each metric one limit")
        if not math.isfinite(number):
            raise UsageError(f"{option} {part.strip()!r}: not a percentage", "e.g. size=10%")
        limits[name] = number / 100
    if not limits:
        raise UsageError(f"{option}: no limit given", "e.g. --max-regression size=10%")
    return limits


def _result(
    status: CheckStatus, id: str, message: str, value: object = None, expected: object = None
) -> CheckResult:
    return CheckResult(id, FAMILY, status, message, value, expected)


def _shown(value: float, unit: str) -> str:
    return f"{value:.1f} {unit}" if unit == "MB" else f"{value:.1f}{unit}"


def baseline(
    name: str, metric: Metric, runs: Sequence[RunRecord], count: int = BASELINE_RUNS
) -> tuple[float | None, int]:
    """The median of the metric over the newest `count` runs in which the image passed."""
    values: list[float] = []
    for run in reversed(runs):
        image = run.image(name)
        if image is None or not image.ok:
            continue
        value = metric.value(image)
        if value is not None:
            values.append(value)
            if len(values) == count:
                break
    return median(values), len(values)


def not_compared(why: str, limits: Mapping[str, float]) -> list[CheckResult]:
    """A SKIPPED check per metric, when the history could not be read."""
    return [_result(CheckStatus.SKIPPED, f"{FAMILY}.{name}", why) for name in limits]


def judge_image(
    current: ImageRecord,
    runs: Sequence[RunRecord],
    limits: Mapping[str, float],
    where: str,
) -> list[CheckResult]:
    """One check per limited metric for an image this run built. `where`: "on branch main"."""
    if not current.built:
        return []
    results = []
    for name, limit in limits.items():
        metric = METRICS[name]
        id = f"{FAMILY}.{name}"
        now = metric.value(current)
        if now is None:
            results.append(_result(CheckStatus.SKIPPED, id, metric.missing, None, f"+{limit:.0%}"))
            continue
        base, count = baseline(current.name, metric, runs)
        if base is None or base <= 0:
            message = f"no passing run {where} measured the {metric.what}: nothing to compare with"
            results.append(_result(CheckStatus.SKIPPED, id, message, now))
            continue
        change = now / base - 1
        runs_text = f"median of {count} passing run{'s' if count != 1 else ''} {where}"
        if change > limit + 1e-9:  # NOTE: 440 against 400 is +10%, not 10.000000000000009%
            message = (
                f"{metric.what} {_shown(now, metric.unit)} is {change:.1%} above the baseline "
                f"{_shown(base, metric.unit)} ({runs_text}); the limit is +{limit:.0%}"
            )
            results.append(_result(CheckStatus.FAILED, id, message, now, round(base, 3)))
        else:
            message = (
                f"{metric.what} {_shown(now, metric.unit)}, {change:+.1%} against the baseline "
                f"{_shown(base, metric.unit)} ({runs_text}; limit +{limit:.0%})"
            )
            results.append(_result(CheckStatus.PASSED, id, message, now, round(base, 3)))
    return results


__all__ = [
    "BASELINE_RUNS",
    "FAMILY",
    "METRICS",
    "baseline",
    "judge_image",
    "not_compared",
    "parse_limits",
]

"""Trend charts as inline SVG: one metric of one image across runs, failures and regressions
marked, and the runs a release channel was given. Plain text with no script, font or style from
outside, so a saved report draws anywhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

WIDTH, HEIGHT = 340, 170
LEFT, RIGHT, TOP, BOTTOM = 62, 10, 26, 30
FAILED = "#c62828"
REGRESSED = "#ef6c00"
RELEASED = "#2e7d32"
LINE = "#1565c0"


@dataclass(frozen=True)
class Point:
    """One run's value (None: not measured) and what to mark on it."""

    value: float | None
    label: str  # the run, for the marker's tooltip
    failed: bool = False  # the image failed in this run
    regressed: bool = False  # a regression.* check failed
    release: str = ""  # the promotions and rollbacks that put this run's image in a channel


def _fmt(number: float) -> str:
    return f"{number:.1f}".rstrip("0").rstrip(".")


def _bounds(values: Sequence[float]) -> tuple[float, float]:
    low, high = min(values), max(values)
    if high == low:
        pad = abs(high) * 0.05 or 1.0
        return low - pad, high + pad
    pad = (high - low) * 0.08
    return max(0.0, low - pad) if low >= 0 else low - pad, high + pad


def chart(title: str, unit: str, points: Sequence[Point], first: str = "", last: str = "") -> str:
    """The chart's `<svg>` element; `first`/`last` label the ends of the time axis."""
    known = [p.value for p in points if p.value is not None]
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="{WIDTH}" height="{HEIGHT}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
        f'<text x="{LEFT}" y="16" class="ct">{escape(title)}</text>',
        f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" class="plot"/>',
    ]
    if not known:
        parts.append(
            f'<text x="{LEFT + plot_w / 2}" y="{TOP + plot_h / 2}" class="empty" '
            'text-anchor="middle">not measured in these runs</text></svg>'
        )
        return "".join(parts)
    low, high = _bounds(known)
    count = len(points)

    def x(i: int) -> float:
        return LEFT + (plot_w / 2 if count == 1 else plot_w * i / (count - 1))

    def y(value: float) -> float:
        return TOP + plot_h - (value - low) / (high - low) * plot_h

    for fraction in (0.0, 0.5, 1.0):
        value = low + (high - low) * fraction
        gy = _fmt(y(value))
        parts.append(f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{gy}" y2="{gy}" class="grid"/>')
        parts.append(
            f'<text x="{LEFT - 6}" y="{gy}" class="ax" text-anchor="end" dy="4">'
            f"{escape(_fmt(value))} {escape(unit)}</text>"
        )
    segment: list[str] = []
    for i, point in enumerate(points):
        if point.value is None:
            if len(segment) > 1:
                parts.append(f'<polyline points="{" ".join(segment)}" class="ln"/>')
            segment = []
            continue
        segment.append(f"{_fmt(x(i))},{_fmt(y(point.value))}")
    if len(segment) > 1:
        parts.append(f'<polyline points="{" ".join(segment)}" class="ln"/>')
    for i, point in enumerate(points):
        if point.release:  # drawn first: the run's own marker stays on top
            px = _fmt(x(i))
            parts.append(
                f'<g class="rl"><line x1="{px}" x2="{px}" y1="{TOP}" y2="{TOP + plot_h}"/>'
                f'<path d="M{px} {TOP}l7 3.5-7 3.5z"/>'
                f"<title>{escape(point.label)}: {escape(point.release)}</title></g>"
            )
    for i, point in enumerate(points):
        px = _fmt(x(i))
        if point.regressed:
            py = y(point.value) if point.value is not None else TOP + plot_h
            parts.append(
                f'<path d="M{px} {_fmt(py - 6)}l6 6-6 6-6-6z" class="rg">'
                f"<title>{escape(point.label)}: regression</title></path>"
            )
        elif point.failed:
            py = y(point.value) if point.value is not None else TOP + plot_h
            parts.append(
                f'<circle cx="{px}" cy="{_fmt(py)}" r="4" class="fl">'
                f"<title>{escape(point.label)}: failed</title></circle>"
            )
        elif count <= 60 and point.value is not None:
            parts.append(f'<circle cx="{px}" cy="{_fmt(y(point.value))}" r="2.5" class="pt"/>')
    base = HEIGHT - 10
    parts.append(f'<text x="{LEFT}" y="{base}" class="ax">{escape(first)}</text>')
    parts.append(
        f'<text x="{LEFT + plot_w}" y="{base}" class="ax" text-anchor="end">{escape(last)}</text>'
    )
    parts.append("</svg>")
    return "".join(parts)


STYLE = (
    f".chart .ct{{font:600 13px sans-serif;fill:#222}}"
    f".chart .ax{{font:11px sans-serif;fill:#666}}"
    f".chart .empty{{font:12px sans-serif;fill:#999}}"
    f".chart .plot{{fill:#fafafa;stroke:#ddd}}"
    f".chart .grid{{stroke:#e6e6e6}}"
    f".chart .ln{{fill:none;stroke:{LINE};stroke-width:1.6}}"
    f".chart .pt{{fill:{LINE}}}"
    f".chart .fl{{fill:{FAILED};stroke:#fff}}"
    f".chart .rg{{fill:{REGRESSED};stroke:#fff}}"
    f".chart .rl line{{stroke:{RELEASED};stroke-dasharray:3 3}}.chart .rl path{{fill:{RELEASED}}}"
)

__all__ = ["FAILED", "REGRESSED", "RELEASED", "STYLE", "Point", "chart"]

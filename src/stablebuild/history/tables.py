"""The KPI table in each `stablebuild history --format`: terminal (with sparklines), json,
markdown and csv. Pure: a KpiTable in, text (or a rich renderable) out."""

from __future__ import annotations

import csv
import io
import json
import os
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from stablebuild.history.formats import HistoryFormat
from stablebuild.history.kpi import ImageKpi, KpiTable, sparkline

if TYPE_CHECKING:
    from rich.console import RenderableType

JSON_VERSION = 1
SPARK_WIDTH = 20
NARROW_SPARKS = 17  # three images side by side in 80 columns
NONE = "–"


def rate(value: float | None) -> str:
    return NONE if value is None else f"{value:.0%}"


def seconds(value: float | None) -> str:
    return NONE if value is None else f"{value:.1f}s"


def megabytes(value: int | None) -> str:
    return NONE if value is None else f"{value / 1e6:,.0f} MB"


def change(value: float | None) -> str:
    # NOTE: + 0.0 turns the -0.0 of a tiny shrink into 0.0: "+0.0%", not "-0.0%".
    return NONE if value is None else f"{round(value, 3) + 0.0:+.1%}"


def failing(kpi: ImageKpi) -> str:
    return ", ".join(f"{check} ×{count}" for check, count in kpi.failing) or NONE


def released(kpi: ImageKpi) -> str:
    """The channels holding the image, and since when: `stable (promoted 2026-11-02 10:00)`."""
    return (
        ", ".join(
            f"{state.channel} ({'rolled back' if state.action == 'rollback' else 'promoted'} "
            f"{state.at[:16].replace('T', ' ')})"
            for state in kpi.channels
        )
        or NONE
    )


def title(table: KpiTable, filters: Mapping[str, Any]) -> str:
    window = f"{table.runs} run{'s' if table.runs != 1 else ''}"
    if filters.get("branch"):
        window += f" on {filters['branch']}"
    if table.first_at and table.last_at:
        window += (
            f" · {table.first_at[:16].replace('T', ' ')} → {table.last_at[:16].replace('T', ' ')}"
        )
    return f"stablebuild history · {table.stack} · {window}"


def audit_line(table: KpiTable) -> str | None:
    audit = table.audit
    if audit is None:
        return None
    counts = ", ".join(f"{n} {severity}" for severity, n in audit.latest.items())
    top = ", ".join(f"{rule} ×{n}" for rule, n in audit.top_rules)
    line = f"audits: {audit.runs} recorded; newest {audit.latest_at[:10]}: {counts}"
    return line + (f"; most frequent: {top}" if top else "")


COLUMNS = (
    "image",
    "runs",
    "built",
    "passed",
    "build p50",
    "build p90",
    "size now",
    "vs first",
    "size min",
    "healthy p50",
    "health",
    "failing most",
    "released",
)


def cells(kpi: ImageKpi) -> list[str]:
    return [
        kpi.image,
        str(kpi.runs),
        rate(kpi.success_rate),
        rate(kpi.pass_rate),
        seconds(kpi.build_median),
        seconds(kpi.build_p90),
        megabytes(kpi.size_now),
        change(kpi.size_change),
        megabytes(kpi.size_min),
        seconds(kpi.healthy_median),
        rate(kpi.health_rate),
        failing(kpi),
        released(kpi),
    ]


TEXT_COLUMNS = ("image", "failing most", "released")
WIDE = 170  # below this many columns the table turns: one column per image


def terminal(table: KpiTable, filters: Mapping[str, Any], width: int = WIDE) -> RenderableType:
    """The KPI table, one row per image, then the trends as sparklines (oldest left). On a
    terminal narrower than `WIDE`, one column per image and one row per KPI instead."""
    from rich import box
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    parts: list[RenderableType] = [Text(title(table, filters), style="bold")]
    if not table.images:
        parts.append(Text("no validate run recorded in this window", style="yellow"))
    elif width >= WIDE:
        widest = max(len(kpi.image) for kpi in table.images)
        grid = Table(box=box.SIMPLE_HEAD, pad_edge=False)
        for column in COLUMNS:
            left = column in TEXT_COLUMNS
            grid.add_column(column, justify="left" if left else "right", min_width=len(column))
        for name in TRENDS:
            grid.add_column(name, no_wrap=True)
        for kpi in table.images:
            row = [Text(cell) for cell in cells(kpi)]
            row[0].stylize("bold")
            grid.add_row(*row, *_sparks(kpi, Text, 12))
        grid.columns[0].min_width = widest
        parts.append(grid)
    else:
        per_block = max(1, (width - 16) // (NARROW_SPARKS + 3))
        images = list(table.images)
        for start in range(0, len(images), per_block):
            block = images[start : start + per_block]
            grid = Table(box=box.SIMPLE_HEAD, pad_edge=False)
            grid.add_column("", style="bold", no_wrap=True)
            for kpi in block:
                grid.add_column(kpi.image, overflow="fold")
            columns = [cells(kpi) for kpi in block]
            for i, label in enumerate(COLUMNS[1:], start=1):
                grid.add_row(label, *(column[i] for column in columns))
            for i, name in enumerate(TRENDS):
                grid.add_row(name, *(_sparks(kpi, Text, NARROW_SPARKS)[i] for kpi in block))
            parts.append(grid)
    line = audit_line(table)
    if line:
        parts.append(Text(line, style="dim"))
    return Group(*parts)


TRENDS = ("size trend", "build trend", "start trend")


def _sparks(kpi: ImageKpi, text: Any, width: int = SPARK_WIDTH) -> list[Any]:
    return [
        text(sparkline(kpi.sizes, width), style="cyan"),
        text(sparkline(kpi.build_times, width), style="magenta"),
        text(sparkline(kpi.healthy_times, width), style="green"),
    ]


def _image_json(kpi: ImageKpi) -> dict[str, Any]:
    return {
        "image": kpi.image,
        "runs": kpi.runs,
        "success_rate": kpi.success_rate,
        "pass_rate": kpi.pass_rate,
        "build_seconds": {"median": kpi.build_median, "p90": kpi.build_p90},
        "size_bytes": {
            "now": kpi.size_now,
            "first": kpi.size_first,
            "min": kpi.size_min,
            "change": None if kpi.size_change is None else round(kpi.size_change, 4),
        },
        "healthy_seconds": {"median": kpi.healthy_median},
        "health_pass_rate": kpi.health_rate,
        "failing_checks": [{"id": check, "runs": n} for check, n in kpi.failing],
        "channels": [
            {
                "channel": state.channel,
                "action": state.action,
                "at": state.at,
                "run_id": state.run_id,
                "image_id": state.image_id,
            }
            for state in kpi.channels
        ],
        "series": {
            "size_mb": list(kpi.sizes),
            "build_seconds": list(kpi.build_times),
            "healthy_seconds": list(kpi.healthy_times),
        },
    }


def as_json(table: KpiTable, filters: Mapping[str, Any]) -> str:
    audit = table.audit
    data: dict[str, Any] = {
        "version": JSON_VERSION,
        "stack": table.stack,
        "filters": dict(filters),
        "runs": table.runs,
        "first_at": table.first_at,
        "last_at": table.last_at,
        "images": [_image_json(kpi) for kpi in table.images],
        "audit": None
        if audit is None
        else {
            "runs": audit.runs,
            "latest_at": audit.latest_at,
            "latest": audit.latest,
            "top_rules": [{"rule": rule, "findings": n} for rule, n in audit.top_rules],
        },
    }
    # NOTE: each series on one line, by json's C encoder: indented, the 90,000 numbers of
    # `--last 10000` took the pure-Python encoder longer than reading them from the store.
    # The token keeps a stack or image name from ever passing for a placeholder.
    token = os.urandom(8).hex()
    lines: list[str] = []
    for image in data["images"]:
        series: dict[str, Any] = image["series"]
        for key, values in series.items():
            series[key] = f"{token}:{len(lines)}"
            lines.append(json.dumps(values))
    text = json.dumps(data, indent=2, ensure_ascii=False)
    if lines:
        text = re.sub(f'"{token}:(\\d+)"', lambda match: lines[int(match.group(1))], text)
    return text + "\n"


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def as_markdown(table: KpiTable, filters: Mapping[str, Any]) -> str:
    lines = [f"### {_md(title(table, filters))}", ""]
    lines.append("| " + " | ".join(COLUMNS) + " |")
    lines.append("|" + "|".join("---" if c in TEXT_COLUMNS else "--:" for c in COLUMNS) + "|")
    for kpi in table.images:
        lines.append("| " + " | ".join(_md(cell) for cell in cells(kpi)) + " |")
    line = audit_line(table)
    if line:
        lines += ["", _md(line)]
    return "\n".join(lines) + "\n"


CSV_COLUMNS = (
    "image",
    "runs",
    "success_rate",
    "pass_rate",
    "build_median_s",
    "build_p90_s",
    "size_now_bytes",
    "size_first_bytes",
    "size_min_bytes",
    "size_change",
    "healthy_median_s",
    "health_pass_rate",
    "failing_checks",
    "channels",
)


def as_csv(table: KpiTable, filters: Mapping[str, Any]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for kpi in table.images:
        values = (
            kpi.image,
            kpi.runs,
            kpi.success_rate,
            kpi.pass_rate,
            kpi.build_median,
            kpi.build_p90,
            kpi.size_now,
            kpi.size_first,
            kpi.size_min,
            None if kpi.size_change is None else round(kpi.size_change, 4),
            kpi.healthy_median,
            kpi.health_rate,
            ";".join(f"{check}:{n}" for check, n in kpi.failing),
            ";".join(f"{s.channel}:{s.action}:{s.at}" for s in kpi.channels),
        )
        writer.writerow("" if v is None else _csv_value(v) for v in values)
    return out.getvalue()


def _csv_value(value: object) -> str:
    text = f"{value:.4g}" if isinstance(value, float) else str(value)
    # NOTE: a cell starting with = + - @ is a formula to a spreadsheet; image names and check
    # ids never do, but a quote keeps it so if one ever did.
    return "'" + text if text[:1] in ("=", "+", "@") else text


def render(table: KpiTable, fmt: HistoryFormat, filters: Mapping[str, Any]) -> str:
    """The text of every format but the terminal's (which `terminal` renders)."""
    if fmt is HistoryFormat.JSON:
        return as_json(table, filters)
    if fmt is HistoryFormat.MARKDOWN:
        return as_markdown(table, filters)
    return as_csv(table, filters)


__all__ = ["HistoryFormat", "as_csv", "as_json", "as_markdown", "render", "terminal"]

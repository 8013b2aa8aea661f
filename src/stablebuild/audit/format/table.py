"""The terminal table (rich): severity, rule, location, message and fix, then a summary line."""

from __future__ import annotations

import io

from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from stablebuild.audit.format.interface import AuditFormatter
from stablebuild.audit.runner import AuditResult

_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}


def renderable(result: AuditResult) -> RenderableType:
    counts = result.counts()
    parts = ", ".join(f"{n} {s}{'s' if n != 1 else ''}" for s, n in counts.items() if n)
    summary = Text(
        f"{parts or 'no findings'} · {result.files_scanned} files · {result.seconds:.2f} s",
        style="bold",
    )
    if not result.findings:
        return summary
    table = Table(show_lines=False, expand=False, pad_edge=False)
    table.add_column("severity", no_wrap=True)
    table.add_column("rule", no_wrap=True)
    table.add_column("location", no_wrap=True)
    table.add_column("message", overflow="fold", ratio=3)
    table.add_column("fix", overflow="fold", style="dim", ratio=2)
    for f in result.findings:
        table.add_row(
            Text(f.severity.value, style=_STYLE[f.severity.value]),
            f.rule,
            f.location or "(project)",
            Text(f.message),
            Text(f.hint),
        )
    return Group(table, summary)


class TableFormat(AuditFormatter):
    """Plain text without colour (for `-o FILE`); the CLI prints `renderable()` to a terminal."""

    def __init__(self, width: int = 160) -> None:
        self.width = width

    def format(self, result: AuditResult) -> str:
        buffer = io.StringIO()
        console = Console(file=buffer, width=self.width, color_system=None, highlight=False)
        console.print(renderable(result))
        return buffer.getvalue()

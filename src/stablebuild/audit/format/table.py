"""The terminal listing (rich): one line per finding (location, severity, rule, message), its
fix indented below, then a summary line. Reads well at any width, like a compiler's output.

Suppressed and baseline findings are counted in the summary, not listed (`--format json` lists
them); baseline entries nothing matches any more are listed, so the file can shrink."""

from __future__ import annotations

import io

from rich.console import Console, Group, RenderableType
from rich.text import Text

from stablebuild.audit.format.adoption import fixed_note, note
from stablebuild.audit.format.interface import AuditFormatter
from stablebuild.audit.result import AuditResult

_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}


def renderable(result: AuditResult) -> RenderableType:
    counts = result.counts()
    parts = ", ".join(f"{n} {s}{'s' if n != 1 else ''}" for s, n in counts.items() if n)
    known = f" ({note(result)})" if note(result) else ""
    summary = Text(
        f"{parts or 'no findings'}{known} · {result.files_scanned} files · {result.seconds:.2f} s",
        style="bold",
    )
    lines: list[RenderableType] = []
    for f in result.active:
        line = Text()
        line.append(f.location or "(project)", style="bold")
        line.append("  ")
        line.append(f.severity.value, style=_STYLE[f.severity.value])
        line.append(f"  {f.rule}  ", style="dim")
        line.append(f.message)
        lines.append(line)
        if f.hint:
            lines.append(Text(f"    fix: {f.hint}", style="dim"))
    if fixed_note(result):
        lines.append(Text(fixed_note(result), style="cyan"))
        for entry in result.fixed:
            where = entry.file or "(project)"
            lines.append(Text(f"    fixed: {where}  {entry.rule}  {entry.message}", style="dim"))
    return Group(*lines, Text(), summary) if lines else summary


class TableFormat(AuditFormatter):
    """Plain text without colour (for `-o FILE`); the CLI prints `renderable()` to a terminal."""

    def __init__(self, width: int = 160) -> None:
        self.width = width

    def format(self, result: AuditResult) -> str:
        buffer = io.StringIO()
        console = Console(file=buffer, width=self.width, color_system=None, highlight=False)
        console.print(renderable(result))
        return buffer.getvalue()

"""Markdown output, sized for a pull-request comment: a summary line and one table."""

from __future__ import annotations

from stablebuild.audit.format.interface import AuditFormatter
from stablebuild.audit.runner import AuditResult

_ICON = {"error": "❌", "warning": "⚠️", "info": "ℹ️"}


def _cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


class MarkdownFormat(AuditFormatter):
    def format(self, result: AuditResult) -> str:
        counts = result.counts()
        summary = ", ".join(f"{n} {s}" for s, n in counts.items() if n) or "no findings"
        lines = [
            "## stablebuild audit",
            "",
            f"**{summary}** in {result.files_scanned} files ({result.seconds:.2f} s)",
            "",
        ]
        if not result.findings:
            return "\n".join([*lines, "Nothing to report. ✅", ""])
        lines += ["| | Rule | Location | Message | Fix |", "|---|---|---|---|---|"]
        for f in result.findings:
            where = f"`{_cell(f.location)}`" if f.file else ""
            lines.append(
                f"| {_ICON[f.severity.value]} | {f.rule} | {where} | {_cell(f.message)} "
                f"| {_cell(f.hint)} |"
            )
        return "\n".join([*lines, ""])

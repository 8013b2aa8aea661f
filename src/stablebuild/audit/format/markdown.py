"""Markdown output, sized for a pull-request comment: a summary line and one table, each rule
id linked to its documentation (the rule catalogue's, or hadolint's for its own codes)."""

from __future__ import annotations

from stablebuild.audit.format import catalog
from stablebuild.audit.format.adoption import fixed_note, note
from stablebuild.audit.format.interface import AuditFormatter
from stablebuild.audit.result import AuditResult

_ICON = {"error": "❌", "warning": "⚠️", "info": "ℹ️"}


def _cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


class MarkdownFormat(AuditFormatter):
    def format(self, result: AuditResult) -> str:
        counts = result.counts()
        summary = ", ".join(f"{n} {s}" for s, n in counts.items() if n) or "no findings"
        known = f" ({note(result)})" if note(result) else ""
        lines = [
            "## stablebuild audit",
            "",
            f"**{summary}**{known} in {result.files_scanned} files ({result.seconds:.2f} s)",
            "",
        ]
        if not result.active:
            lines.append("Nothing to report. ✅" if not result.findings else "Nothing new. ✅")
            return "\n".join([*lines, *_known(result), ""])
        lines += ["| | Rule | Location | Message | Fix |", "|---|---|---|---|---|"]
        for f in result.active:
            where = f"`{_cell(f.location)}`" if f.file else ""
            lines.append(
                f"| {_ICON[f.severity.value]} | [{f.rule}]({catalog.help_uri(f.rule)}) "
                f"| {where} | {_cell(f.message)} "
                f"| {_cell(f.hint)} |"
            )
        return "\n".join([*lines, *_known(result), ""])


def _known(result: AuditResult) -> list[str]:
    """Suppressed and baseline findings, folded away; the baseline's fixed entries."""
    lines = []
    hidden = [f for f in result.findings if not f.active]
    if hidden:
        lines += ["", f"<details><summary>{note(result)}</summary>", ""]
        lines += ["| State | Rule | Location | Message | Why |", "|---|---|---|---|---|"]
        for f in hidden:
            where = f"`{_cell(f.location)}`" if f.file else ""
            lines.append(
                f"| {f.state.value} | {f.rule} | {where} | {_cell(f.message)} "
                f"| {_cell(f.justification) or '*(no reason given)*'} |"
            )
        lines += ["", "</details>"]
    if fixed_note(result):
        lines += ["", f"ℹ️ {_cell(fixed_note(result))}"]
    return lines

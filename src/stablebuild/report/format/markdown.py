"""The Markdown report, fit for a pull-request comment or $GITHUB_STEP_SUMMARY."""

from __future__ import annotations

import html

from stablebuild.report.format.interface import ReportFormatter
from stablebuild.report.format.summary import (
    Cell,
    build_reused,
    cells,
    column_names,
    log_tail,
    not_passed,
    overall_status,
    stack_heading,
    verdict,
)
from stablebuild.report.model import CheckStatus, ImageReport, Report, StackReport

RETRIED = " (retried: "  # how ImageReport.engine marks an image moved off a lost engine

EMOJI = {
    Cell.PASSED: "✅",
    Cell.FAILED: "❌",
    Cell.SKIPPED: "➖",
    Cell.ERROR: "⚠️",
    Cell.NONE: "",
}
STATUS_EMOJI = {
    CheckStatus.PASSED: "✅",
    CheckStatus.FAILED: "❌",
    CheckStatus.SKIPPED: "➖",
    CheckStatus.ERROR: "⚠️",
}
HEADLINE = {"passed": "✅ passed", "failed": "❌ failed", "incomplete": "⚠️ incomplete"}


def _cell_text(text: str) -> str:
    """Safe inside a table cell: no pipes, no HTML, one line."""
    return html.escape(text, quote=False).replace("|", "\\|").replace("\n", " ")


def _code_block(lines: list[str]) -> list[str]:
    fence = "````" if any("```" in line for line in lines) else "```"
    return [f"{fence}text", *lines, fence]


def _engines(report: Report) -> list[str]:
    """The engine table, when the run used several: what each is, and what it built."""
    engines = report.engine.get("engines")
    if not isinstance(engines, list) or len(engines) < 2:
        return []
    built: dict[str, list[str]] = {}
    for image in report.images:
        if image.engine:
            name, retried, _ = image.engine.partition(RETRIED)
            built.setdefault(name, []).append(f"`{image.name}`" + (" (retried)" if retried else ""))
    out = [
        "| engine | endpoint | version | OS/arch | CPUs | memory | runtimes | images |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for engine in engines:
        name = str(engine.get("name", ""))
        if engine.get("reachable") is False:
            why = _cell_text(str(engine.get("error") or "did not answer"))
            row = [f"⚠️ unreachable: {why}", "", "", "", "", "—"]
        else:
            memory = engine.get("memory_bytes")
            row = [
                _cell_text(str(engine.get("server_version") or "?")),
                _cell_text(str(engine.get("os_arch") or "?")),
                str(engine.get("cpus") or "?"),
                f"{memory / 1024**3:.1f} GiB" if isinstance(memory, int) else "?",
                _cell_text(", ".join(engine.get("runtimes") or ())),
                ", ".join(built.get(name, [])) or "—",
            ]
        endpoint = _cell_text(str(engine.get("endpoint", "")))
        out.append(f"| {_cell_text(name)} | `{endpoint}` | " + " | ".join(row) + " |")
    return [*out, ""]


class MarkdownFormat(ReportFormatter):
    def __init__(self, log_lines: int = 20) -> None:
        self.log_lines = log_lines

    def format(self, report: Report) -> str:
        status = overall_status(report)
        profile = f" (profile `{report.profile}`)" if report.profile else ""
        out = [f"## stablebuild · {_cell_text(report.stack)}{profile} — {HEADLINE[status]}", ""]
        if status == "incomplete":
            out += ["> ⚠️ **Incomplete report**: the run was interrupted; results are partial.", ""]
        columns = column_names(report)
        out.append("| image | " + " | ".join(columns) + " |")
        out.append("|---" * (len(columns) + 1) + "|")
        for image in report.images:
            row = [EMOJI[c] for c in cells(image, columns)]
            if row and cells(image, columns)[0] is Cell.PASSED:
                row[0] += " cached" if build_reused(image) else f" {image.build.seconds:.0f}s"
            out.append(f"| `{_cell_text(image.name)}` | " + " | ".join(row) + " |")
        out += ["", f"**{_cell_text(verdict(report))}**", ""]
        out += _engines(report)
        for image in report.images:
            out += self._details(image)
        if report.stack_phase is not None:
            out += self._stack(report.stack_phase)
        out.append(f"<sub>run `{report.run_id}` · started {report.started_at}</sub>")
        return "\n".join(out) + "\n"

    def _stack(self, stack: StackReport) -> list[str]:
        """Every stack check in the order they ran; what did not pass with its details."""
        out = [f"**{_cell_text(stack_heading(stack))}**", ""]
        for check in stack.checks:
            first, *rest = check.message.splitlines() or [""]
            out.append(f"- {STATUS_EMOJI[check.status]} `{check.id}` — {_cell_text(first)}")
            if rest and check.status is not CheckStatus.PASSED:
                out += ["", *("  " + line for line in _code_block(rest)), ""]
        return [*out, ""]

    def _details(self, image: ImageReport) -> list[str]:
        bad = not_passed(image)
        tail = log_tail(image, self.log_lines)
        diagnosis = image.build.diagnosis
        if not bad and not tail and diagnosis is None and not image.build.error:
            return []
        n = {s: sum(1 for c in bad if c.status is s) for s in CheckStatus}
        parts = [f"build {image.build.status.value}"] if tail or image.build.error else []
        parts += [f"{n[s]} {s.value}" for s in CheckStatus if n[s] and s is not CheckStatus.PASSED]
        summary = f"<b>{html.escape(image.name)}</b>: {', '.join(parts)}"
        out = ["<details>", f"<summary>{summary}</summary>", ""]
        if image.build.error:
            out.append(f"**Build {image.build.status.value}**: {_cell_text(image.build.error)}")
            out.append("")
        if diagnosis is not None:
            out += [
                f"- **Cause** (`{diagnosis.cause}`): {_cell_text(diagnosis.summary)}",
                f"- **Fix**: {_cell_text(diagnosis.hint)}",
            ]
            if diagnosis.evidence:
                evidence = diagnosis.evidence.replace("`", "'")
                out.append(f"- **Seen**: `{evidence}`")
            out.append("")
        if tail:
            out += [f"Last {len(tail)} lines of the build log:", "", *_code_block(tail), ""]
        for check in bad:
            first, *rest = check.message.splitlines() or [""]
            out.append(f"- {STATUS_EMOJI[check.status]} `{check.id}` — {_cell_text(first)}")
            if rest:
                out += ["", *("  " + line for line in _code_block(rest)), ""]
        out += ["", "</details>", ""]
        return out

"""The rich terminal summary: the build-success matrix, what did not pass, and the verdict."""

from __future__ import annotations

import io

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from stablebuild.report.format.interface import ReportFormatter
from stablebuild.report.format.summary import (
    LEGEND,
    SYMBOLS,
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

STYLES = {
    Cell.PASSED: "green",
    Cell.FAILED: "bold red",
    Cell.SKIPPED: "yellow",
    Cell.ERROR: "bold magenta",
    Cell.NONE: "",
}
STATUS_CELL = {
    CheckStatus.PASSED: Cell.PASSED,
    CheckStatus.FAILED: Cell.FAILED,
    CheckStatus.SKIPPED: Cell.SKIPPED,
    CheckStatus.ERROR: Cell.ERROR,
}
VERDICT_STYLE = {"passed": "bold green", "failed": "bold red", "incomplete": "bold yellow"}


class TerminalFormat(ReportFormatter):
    """Prints to a rich Console; `format` renders the same to plain text."""

    def __init__(self, width: int = 110, log_lines: int = 15) -> None:
        self.width = width
        self.log_lines = log_lines

    def format(self, report: Report) -> str:
        console = Console(
            file=io.StringIO(), record=True, width=self.width, color_system=None, highlight=False
        )
        self.print(report, console)
        return console.export_text()

    def print(self, report: Report, console: Console) -> None:
        status = overall_status(report)
        if status == "incomplete":
            console.print(
                "[bold yellow]INCOMPLETE REPORT[/]: the run was interrupted; "
                "images and checks below are partial."
            )
        console.print(self._matrix(report))
        console.print(f"[dim]{LEGEND}[/]")
        for image in report.images:
            self._details(image, console)
        if report.stack_phase is not None:
            self._stack(report.stack_phase, console)
        console.print(f"[{VERDICT_STYLE[status]}]{escape(verdict(report))}[/]")

    def _matrix(self, report: Report) -> Table:
        columns = column_names(report)
        profile = f" · profile {report.profile}" if report.profile else ""
        table = Table(
            title=f"stablebuild · {report.stack}{profile} · run {report.run_id}",
            box=box.SIMPLE_HEAD,
            collapse_padding=True,
            pad_edge=False,
        )
        widest = max((len(image.name) for image in report.images), default=5)
        table.add_column("image", style="bold", no_wrap=True, min_width=widest)
        for column in columns:
            width = max(len(column), 8 if column == "build" else 1)  # "✔ cached", "✔ 123s"
            table.add_column(column, justify="center", no_wrap=True, min_width=width)
        for image in report.images:
            row = [escape(image.name)]
            for column, cell in zip(columns, cells(image, columns), strict=True):
                text = SYMBOLS[cell]
                if column == "build" and cell is Cell.PASSED:
                    text += " cached" if build_reused(image) else f" {image.build.seconds:.0f}s"
                row.append(f"[{STYLES[cell]}]{text}[/]" if STYLES[cell] else text)
            table.add_row(*row)
        return table

    def _stack(self, stack: StackReport, console: Console) -> None:
        """Every stack check, in the order they ran; details under those that did not pass."""
        console.print(f"[bold]{escape(stack_heading(stack))}[/]")
        for check in stack.checks:
            cell = STATUS_CELL[check.status]
            first, *rest = check.message.splitlines() or [""]
            console.print(
                f"  [{STYLES[cell]}]{SYMBOLS[cell]}[/] {escape(check.id)} "
                f"[dim]{check.status.value}[/]: {escape(first)}",
                soft_wrap=True,
            )
            if check.status is not CheckStatus.PASSED:
                for line in rest:
                    console.print(f"      [dim]{escape(line)}[/]", soft_wrap=True)

    def _details(self, image: ImageReport, console: Console) -> None:
        build = image.build
        lines: list[str] = []
        if build.error or build.diagnosis or log_tail(image):
            lines.append(
                f"  [bold red]✘ build {build.status.value}[/]: {escape(build.error or '')}"
            )
        if build.diagnosis is not None:
            d = build.diagnosis
            lines.append(f"    cause: {escape(d.summary)} [dim]({d.cause})[/]")
            lines.append(f"    fix:   {escape(d.hint)}")
            if d.evidence:
                lines.append(f"    seen:  [dim]{escape(d.evidence)}[/]")
        elif log_tail(image):
            lines.append("    last lines of the build log:")
            lines += [f"    [dim]{escape(x)}[/]" for x in log_tail(image, self.log_lines)]
        for check in not_passed(image):
            cell = STATUS_CELL[check.status]
            first, *rest = check.message.splitlines() or [""]
            lines.append(
                f"  [{STYLES[cell]}]{SYMBOLS[cell]}[/] {escape(check.id)} "
                f"[dim]{check.status.value}[/]: {escape(first)}"
            )
            lines += [f"      [dim]{escape(x)}[/]" for x in rest]
        if lines:
            console.print(f"[bold]{escape(image.name)}[/]")
            for line in lines:
                console.print(line, soft_wrap=True)

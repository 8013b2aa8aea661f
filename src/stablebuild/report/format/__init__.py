"""Report formats, one module each, chosen by `ReportFormat`."""

from __future__ import annotations

from stablebuild.report.format.codequality import CodeQualityFormat
from stablebuild.report.format.github import GithubFormat
from stablebuild.report.format.interface import ReportFormat, ReportFormatter
from stablebuild.report.format.json import JsonFormat
from stablebuild.report.format.junit import JunitFormat
from stablebuild.report.format.markdown import MarkdownFormat
from stablebuild.report.format.sarif import SarifFormat
from stablebuild.report.format.terminal import TerminalFormat

__all__ = [
    "CodeQualityFormat",
    "GithubFormat",
    "JsonFormat",
    "JunitFormat",
    "MarkdownFormat",
    "ReportFormat",
    "ReportFormatter",
    "SarifFormat",
    "TerminalFormat",
    "formatter_for",
]


def formatter_for(fmt: ReportFormat) -> ReportFormatter:
    """The default formatter of each format."""
    formatters: dict[ReportFormat, type[ReportFormatter]] = {
        ReportFormat.TERMINAL: TerminalFormat,
        ReportFormat.JSON: JsonFormat,
        ReportFormat.MARKDOWN: MarkdownFormat,
        ReportFormat.JUNIT: JunitFormat,
        ReportFormat.SARIF: SarifFormat,
        ReportFormat.CODEQUALITY: CodeQualityFormat,
        ReportFormat.GITHUB: GithubFormat,
    }
    return formatters[fmt]()

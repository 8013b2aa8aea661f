"""Report formats, one module each, chosen by `ReportFormat`."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from stablebuild.report.format.interface import ReportFormat, ReportFormatter

if TYPE_CHECKING:
    from stablebuild.report.format.codequality import CodeQualityFormat
    from stablebuild.report.format.github import GithubFormat
    from stablebuild.report.format.json import JsonFormat
    from stablebuild.report.format.junit import JunitFormat
    from stablebuild.report.format.markdown import MarkdownFormat
    from stablebuild.report.format.sarif import SarifFormat
    from stablebuild.report.format.terminal import TerminalFormat

# NOTE: each format is loaded when first named: the CLI imports this package for
# `ReportFormat` at start-up, and `--help` or a JSON report must not pay for all of them.
_MODULES = {
    "CodeQualityFormat": "codequality",
    "GithubFormat": "github",
    "JsonFormat": "json",
    "JunitFormat": "junit",
    "MarkdownFormat": "markdown",
    "SarifFormat": "sarif",
    "TerminalFormat": "terminal",
}


def __getattr__(name: str) -> Any:
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)


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
    names = {
        ReportFormat.TERMINAL: "TerminalFormat",
        ReportFormat.JSON: "JsonFormat",
        ReportFormat.MARKDOWN: "MarkdownFormat",
        ReportFormat.JUNIT: "JunitFormat",
        ReportFormat.SARIF: "SarifFormat",
        ReportFormat.CODEQUALITY: "CodeQualityFormat",
        ReportFormat.GITHUB: "GithubFormat",
    }
    formatter: type[ReportFormatter] = __getattr__(names[fmt])
    return formatter()

"""The report formats and the interface each implements: `format(report) -> str`."""

from __future__ import annotations

from abc import ABC, abstractmethod
from enum import Enum

from stablebuild.report.model import Report


class ReportFormat(str, Enum):
    """The `--format` choices."""

    TERMINAL = "terminal"
    JSON = "json"
    MARKDOWN = "markdown"
    JUNIT = "junit"
    SARIF = "sarif"  # code scanning (GitHub)
    CODEQUALITY = "codequality"  # GitLab Code Quality JSON
    GITHUB = "github"  # `file:line: severity rule message` lines, for problem matchers


class ReportFormatter(ABC):
    """Turns one Report into the text of one format. Implementations are pure."""

    @abstractmethod
    def format(self, report: Report) -> str:
        """The whole document for `report` (a partial report says so)."""

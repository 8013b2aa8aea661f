"""The audit's output formats: one module per format, each turning an AuditResult into text."""

from __future__ import annotations

from abc import ABC, abstractmethod
from enum import Enum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from stablebuild.audit.result import AuditResult

__all__ = ["AuditFormat", "AuditFormatter"]


# NOTE: here, not in audit/options.py: rendering a remembered answer needs the formats, not the
# options of a run (whose defaults load the configuration layer).
class AuditFormat(str, Enum):
    """`stablebuild audit --format`."""

    TABLE = "table"
    JSON = "json"
    MARKDOWN = "markdown"
    SARIF = "sarif"
    CODEQUALITY = "codequality"  # GitLab Code Quality JSON
    GITHUB = "github"  # `file:line: severity rule message` lines, for problem matchers


class AuditFormatter(ABC):
    """Turns an audit's result into the text of one output format."""

    @abstractmethod
    def format(self, result: AuditResult) -> str:
        raise NotImplementedError  # pragma: no cover

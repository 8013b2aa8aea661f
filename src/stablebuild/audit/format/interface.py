"""The audit's output formats: one module per format, each turning an AuditResult into text."""

from __future__ import annotations

from abc import ABC, abstractmethod
from enum import Enum

from stablebuild.audit.runner import AuditResult


class AuditFormat(str, Enum):
    TABLE = "table"
    JSON = "json"
    MARKDOWN = "markdown"
    SARIF = "sarif"


class AuditFormatter(ABC):
    """Turns an audit's result into the text of one output format."""

    @abstractmethod
    def format(self, result: AuditResult) -> str:
        raise NotImplementedError  # pragma: no cover

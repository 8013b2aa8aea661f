"""The audit's output formats: one module per format, each turning an AuditResult into text."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING

from stablebuild.audit.options import AuditFormat

if TYPE_CHECKING:
    from stablebuild.audit.runner import AuditResult

__all__ = ["AuditFormat", "AuditFormatter"]


class AuditFormatter(ABC):
    """Turns an audit's result into the text of one output format."""

    @abstractmethod
    def format(self, result: AuditResult) -> str:
        raise NotImplementedError  # pragma: no cover

"""What an audit rule reports: a Finding with a stable rule id, a severity, a place and a fix."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Severity(str, Enum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        return {"error": 2, "warning": 1, "info": 0}[self.value]


@dataclass(frozen=True)
class Finding:
    """One problem found on disk. `file` is relative to the audited root, POSIX style."""

    rule: str  # stable id, e.g. "SB101"; documented in docs/rules.md
    severity: Severity
    file: str
    line: int | None
    message: str
    hint: str = ""

    @property
    def location(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file

"""What an audit rule reports: a Finding with a stable rule id, a severity, a place and a fix.

A finding is `active` when it counts toward the gate; an inline suppression makes it
`suppressed`, a baseline entry `baseline`: both stay in the report, said as such.
"""

from __future__ import annotations

from enum import Enum
from typing import NamedTuple


class Severity(str, Enum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        return {"error": 2, "warning": 1, "info": 0}[self.value]


class State(str, Enum):
    ACTIVE = "active"  # counts toward --fail-on
    SUPPRESSED = "suppressed"  # `# stablebuild: ignore[RULE] reason` on the line or above
    BASELINE = "baseline"  # recorded in the --baseline file: known, only new ones fail


class Finding(NamedTuple):
    """One problem found on disk. `file` is relative to the audited root, POSIX style."""

    rule: str  # stable id, e.g. "SB101"; documented in docs/rules.md
    severity: Severity
    file: str
    line: int | None
    message: str
    hint: str = ""
    state: State = State.ACTIVE
    justification: str = ""  # the suppression's reason, or the baseline file's name

    @property
    def location(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file

    @property
    def active(self) -> bool:
        return self.state is State.ACTIVE

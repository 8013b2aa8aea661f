"""What the human formats (table, Markdown) say about findings that do not count: suppressed
inline, recorded in the baseline, and baseline entries nothing matches any more."""

from __future__ import annotations

from stablebuild.audit.finding import State
from stablebuild.audit.result import AuditResult


def note(result: AuditResult) -> str:
    """`2 suppressed, 14 in the baseline` (empty when every finding counts)."""
    states = result.states()
    parts = []
    if states[State.SUPPRESSED.value]:
        parts.append(f"{states[State.SUPPRESSED.value]} suppressed")
    if states[State.BASELINE.value]:
        parts.append(f"{states[State.BASELINE.value]} in the baseline")
    return ", ".join(parts)


def fixed_note(result: AuditResult) -> str:
    """One line on baseline entries nothing matches any more; empty when none."""
    if result.baseline is None or not result.fixed:
        return ""
    return (
        f"{len(result.fixed)} baseline entr{'y' if len(result.fixed) == 1 else 'ies'} in "
        f"{result.baseline.name} no longer found (fixed): rewrite it with --write-baseline"
    )


__all__ = ["fixed_note", "note"]

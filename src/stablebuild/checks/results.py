"""Constructors for CheckResult and the shared reading of facts sections, used by every family."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from stablebuild.report.model import CheckResult, CheckStatus

Facts = Mapping[str, Any]


def passed(
    id: str, family: str, message: str, value: Any = None, expected: Any = None
) -> CheckResult:
    return CheckResult(id, family, CheckStatus.PASSED, message, value, expected)


def failed(
    id: str, family: str, message: str, value: Any = None, expected: Any = None
) -> CheckResult:
    return CheckResult(id, family, CheckStatus.FAILED, message, value, expected)


def skipped(
    id: str, family: str, message: str, value: Any = None, expected: Any = None
) -> CheckResult:
    return CheckResult(id, family, CheckStatus.SKIPPED, message, value, expected)


def error(
    id: str, family: str, message: str, value: Any = None, expected: Any = None
) -> CheckResult:
    return CheckResult(id, family, CheckStatus.ERROR, message, value, expected)


# Sections the probe gathers together: a crash is reported under the gathering section's name.
GATHERED_BY = {"imports": "python", "distributions": "python", "pip_check": "python"}


def probe_errors(facts: Facts, section: str) -> list[str]:
    """The probe's own error lines about `section` ("ffmpeg: OSError: ...")."""
    raw = facts.get("errors")
    if not isinstance(raw, list):
        return []
    names = {section, GATHERED_BY.get(section, section)}
    return [str(e) for e in raw if str(e).split(":", 1)[0].strip() in names]


def not_reported(facts: Facts, section: str) -> str:
    """The message of an ERROR for a section the spec asked for and the facts lack."""
    why = probe_errors(facts, section)
    return f"probe did not report {section}" + (f" ({'; '.join(why)})" if why else "")


def section(facts: Facts, name: str) -> Mapping[str, Any] | None:
    """A facts section when present and a JSON object, else None."""
    value = facts.get(name)
    return value if isinstance(value, Mapping) else None


def tail(text: str, lines: int = 20) -> str:
    """The last `lines` non-empty lines of `text`, for messages about failures."""
    kept = [line for line in text.splitlines() if line.strip()]
    return "\n".join(kept[-lines:])

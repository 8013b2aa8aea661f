"""Judging the stack phase's answers: JSON fields against `until:`, placeholders, health states.

Pure functions; `stablebuild.stack` does the waiting, the requests and the commands.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from enum import Enum
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import quote

if TYPE_CHECKING:
    from stablebuild.manifest.model import StackSpec
    from stablebuild.report.model import ImageReport

FAMILY = "stack"
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_.-]*)\}")
_MISSING = object()


def field_value(document: Any, name: str) -> Any:
    """The value of `name` in a JSON document; dots go into nested objects (`result.state`).

    Returns `MISSING` when there is no such field."""
    value = document
    for part in name.split("."):
        if isinstance(value, Mapping) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return _MISSING
    return value


MISSING = _MISSING


def as_written(value: Any) -> str:
    """A JSON value as YAML would write it: "done", 3, true, null. Strings stay bare."""
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"))


def matches(document: Any, wanted: Mapping[str, str]) -> bool:
    """Whether every field of `wanted` has the value written there (an empty one never does)."""
    return bool(wanted) and all(
        (found := field_value(document, name)) is not MISSING and as_written(found) == value
        for name, value in wanted.items()
    )


def seen(document: Any, wanted: Mapping[str, str]) -> str:
    """What the document holds for each field of `wanted`, for a message."""
    parts = []
    for name in wanted:
        found = field_value(document, name)
        parts.append(f"{name}: " + ("(absent)" if found is MISSING else as_written(found)[:80]))
    return ", ".join(parts) if parts else "(nothing asked)"


class PollState(str, Enum):
    DONE = "done"  # every `until` field matches
    FAILED = "failed"  # every `fail_when` field matches: no point waiting longer
    WAITING = "waiting"


def poll_state(document: Any, until: Mapping[str, str], fail_when: Mapping[str, str]) -> PollState:
    if matches(document, until):
        return PollState.DONE
    if matches(document, fail_when):
        return PollState.FAILED
    return PollState.WAITING


def fill(path: str, document: Any) -> tuple[str, list[str]]:
    """`path` with each `{field}` replaced by that field of `document` (percent-encoded); and
    the fields the document lacks, or holds as something other than a string or number."""
    absent: list[str] = []

    def value(match: re.Match[str]) -> str:
        found = field_value(document, match.group(1))
        if found is MISSING or isinstance(found, (dict, list)) or found is None:
            absent.append(match.group(1))
            return match.group(0)
        return quote(as_written(found), safe="")

    return _PLACEHOLDER.sub(value, path), absent


def parse_json(text: str) -> tuple[Any, str | None]:
    """The JSON document in `text`, or None and why not."""
    try:
        return json.loads(text), None
    except ValueError as exc:
        return None, f"the answer is not JSON ({exc})"


class Health(NamedTuple):
    """A waited service's containers, reduced to what the wait judges."""

    service: str
    containers: int  # how many the service has
    running: int
    healthy: int
    statuses: tuple[str, ...] = ()  # e.g. ("exited (1)", "running, health starting")
    no_check: bool = False  # a running container without any health check
    ended: bool = False  # a container exited and will not come back (no restart)


class HealthState(str, Enum):
    HEALTHY = "healthy"
    WAITING = "waiting"
    BROKEN = "broken"  # waiting longer cannot help


def health_state(health: Health) -> HealthState:
    if health.containers and health.healthy == health.containers:
        return HealthState.HEALTHY
    if health.ended or (health.no_check and health.running == health.containers):
        return HealthState.BROKEN
    return HealthState.WAITING


def health_problem(health: Health, seconds: float, limit: float) -> str:
    """Why a waited service is not healthy, in one line."""
    if not health.containers:
        return f"no container of service {health.service} was created"
    if health.no_check:
        return (
            f"{health.service} has no health check (none in its image, none in the compose "
            "files): it cannot become healthy; add one, or leave it out of `wait.healthy`"
        )
    state = "; ".join(health.statuses)
    if health.ended:
        return f"{health.service} stopped after {seconds:.0f} s: {state}"
    return f"{health.service} not healthy within {limit:g} s: {state}"


def skip_reason(spec: StackSpec, images: list[ImageReport], enabled: bool) -> str | None:
    """Why the stack phase does not run for this report, or None when it does."""
    if not enabled:
        return "not run: --no-stack"
    bad = [image.name for image in images if not image.ok or not image.build.image_id]
    if bad:
        return f"not run: {plural(bad, 'image')} {', '.join(bad)} did not pass"
    present = {image.name for image in images}
    missing = sorted({name for name in spec.services.values() if name not in present})
    if missing:
        return (
            f"not run: the stack runs {plural(missing, 'image')} {', '.join(missing)}, "
            "not validated in this run (--image or --changed left it out)"
        )
    return None


def plural(names: list[str], word: str) -> str:
    return word if len(names) == 1 else word + "s"


__all__ = [
    "FAMILY",
    "MISSING",
    "Health",
    "HealthState",
    "PollState",
    "as_written",
    "field_value",
    "fill",
    "health_problem",
    "health_state",
    "matches",
    "parse_json",
    "plural",
    "poll_state",
    "seen",
    "skip_reason",
]

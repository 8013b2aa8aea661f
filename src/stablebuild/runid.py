"""Run ids and run times: one place, light enough for a remembered answer to use (`secrets`
would load `random` and `base64` for what `os.urandom` gives, `datetime` ~2 ms for what
`time.strftime` gives)."""

from __future__ import annotations

import os
import time


def new_run_id() -> str:
    """Time-ordered and unique; STABLEBUILD_RUN_PREFIX lets a CI job find its own leftovers."""
    prefix = os.environ.get("STABLEBUILD_RUN_PREFIX", "")
    return prefix + time.strftime("%Y%m%d%H%M%S", time.gmtime()) + "-" + os.urandom(3).hex()


def now() -> str:
    """The time now, ISO 8601 in UTC, to the second (the report's started_at, finished_at):
    what `datetime.now(timezone.utc).isoformat(timespec="seconds")` says."""
    return time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())


__all__ = ["new_run_id", "now"]

"""Run ids and run times: one place, light enough for a remembered answer to use (`secrets`
would load `random` and `base64` for what `os.urandom` gives)."""

from __future__ import annotations

import os
from datetime import datetime, timezone


def new_run_id() -> str:
    """Time-ordered and unique; STABLEBUILD_RUN_PREFIX lets a CI job find its own leftovers."""
    prefix = os.environ.get("STABLEBUILD_RUN_PREFIX", "")
    return prefix + datetime.now(timezone.utc).strftime("%Y%m%d%H%M%S") + "-" + os.urandom(3).hex()


def now() -> str:
    """The time now, ISO 8601 in UTC, to the second (the report's started_at, finished_at)."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


__all__ = ["new_run_id", "now"]

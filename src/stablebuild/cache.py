"""The validation cache: known builds by input digest, judged results by (image, probe, spec),
passing stack-phase verdicts by what the phase ran (`stackinputs.py`).

Plain JSON files under the user's cache dir, written atomically; a corrupt or unreadable entry
is a miss, never an error.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from stablebuild import atomic
from stablebuild.paths import default_cache_dir
from stablebuild.report.codec import stack_from_data, stack_to_data
from stablebuild.report.model import CheckStatus, StackReport


def digest(*parts: Any) -> str:
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


class ValidationCache:
    """`builds/<inputs digest>.json`, `results/<key>.json`, `stacks/<inputs>.json`,
    `passed/<stack>/<image>`."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = (root or default_cache_dir()) / "validate"

    def _read(self, path: Path) -> dict[str, Any] | None:
        try:
            value = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return value if isinstance(value, dict) else None

    def _write(self, path: Path, value: dict[str, Any]) -> None:
        # NOTE: not fsynced: an entry a crash empties is read as a miss, and an fsync is a wait
        # on the disk between a build and its probe (1-3 ms here, far more on a CI volume).
        with contextlib.suppress(OSError):  # NOTE: a read-only cache only costs speed
            text = json.dumps(value, sort_keys=True)
            atomic.write_text(path, text, make_parents=True, durable=False)

    def build(self, inputs: str) -> dict[str, Any] | None:
        return self._read(self.root / "builds" / f"{inputs}.json")

    def put_build(self, inputs: str, entry: dict[str, Any]) -> None:
        self._write(self.root / "builds" / f"{inputs}.json", entry)

    def results(self, key: str) -> dict[str, Any] | None:
        return self._read(self.root / "results" / f"{key}.json")

    def put_results(self, key: str, entry: dict[str, Any]) -> None:
        self._write(self.root / "results" / f"{key}.json", entry)

    def stack(self, inputs: str) -> StackReport | None:
        entry = self._read(self.root / "stacks" / f"{inputs}.json")
        if entry is None:
            return None
        try:
            stack = stack_from_data(entry)
        except (KeyError, TypeError, ValueError):  # NOTE: an entry of another shape is a miss
            return None
        stack.from_cache = True  # NOTE: the remembered verdict, marked as such
        return stack

    def put_stack(self, inputs: str, stack: StackReport) -> None:
        self._write(self.root / "stacks" / f"{inputs}.json", stack_to_data(stack))

    def _passed_path(self, stack: str, image: str) -> Path:
        return self.root / "passed" / digest(stack) / f"{digest(image)}.json"

    def last_passed(self, stack: str, image: str) -> str | None:
        entry = self._read(self._passed_path(stack, image))
        return str(entry["inputs"]) if entry and "inputs" in entry else None

    def mark_passed(self, stack: str, image: str, inputs: str) -> None:
        self._write(self._passed_path(stack, image), {"inputs": inputs})


# --- the cache policy: what a run may reuse, and what it records ------------------------------


def reusable_build(
    cache: ValidationCache | None, inputs: str | None, exists: Callable[[str], bool]
) -> dict[str, Any] | None:
    """The build these inputs produced before, when the engine still has its image."""
    entry = cache.build(inputs) if cache is not None and inputs else None
    if entry is None or "image_id" not in entry:
        return None
    return entry if exists(str(entry["image_id"])) else None


def should_record_build(cache: ValidationCache | None, inputs: str | None, built: bool) -> bool:
    """Only a fresh build with known inputs is worth recording (a cached one already is)."""
    return cache is not None and bool(inputs) and built


def should_record_stack(stack: StackReport | None) -> bool:
    """Only a stack phase that ran and passed: a failure may have been the weather (a slow
    start, a port in use), and is always run again."""
    return (
        stack is not None
        and not stack.from_cache
        and stack.ok
        and bool(stack.checks)
        and all(c.status is CheckStatus.PASSED for c in stack.checks)
    )


def changed_since_pass(
    cache: ValidationCache | None, stack: str, image: str, inputs: str | None
) -> bool:
    """Whether the image's inputs differ from those of its last passing run (unknown: yes)."""
    if cache is None or inputs is None:
        return True
    return cache.last_passed(stack, image) != inputs

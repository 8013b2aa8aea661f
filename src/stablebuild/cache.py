"""The validation cache: known builds by input digest, judged results by (image, probe, spec).

Plain JSON files under the user's cache dir, written atomically; a corrupt or unreadable entry
is a miss, never an error.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from stablebuild import atomic
from stablebuild.audit.options import default_cache_dir
from stablebuild.report.model import CheckResult, CheckStatus


def digest(*parts: Any) -> str:
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def check_to_json(check: CheckResult) -> dict[str, Any]:
    data = asdict(check)
    data["status"] = check.status.value
    return data


def check_from_json(data: dict[str, Any]) -> CheckResult:
    return CheckResult(
        id=data["id"],
        family=data["family"],
        status=CheckStatus(data["status"]),
        message=data["message"],
        value=data.get("value"),
        expected=data.get("expected"),
    )


class ValidationCache:
    """`builds/<inputs digest>.json`, `results/<key>.json`, `passed/<stack>/<image>`."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = (root or default_cache_dir()) / "validate"

    def _read(self, path: Path) -> dict[str, Any] | None:
        try:
            value = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return value if isinstance(value, dict) else None

    def _write(self, path: Path, value: dict[str, Any]) -> None:
        with contextlib.suppress(OSError):  # NOTE: a read-only cache only costs speed
            atomic.write_text(path, json.dumps(value, sort_keys=True), make_parents=True)

    def build(self, inputs: str) -> dict[str, Any] | None:
        return self._read(self.root / "builds" / f"{inputs}.json")

    def put_build(self, inputs: str, entry: dict[str, Any]) -> None:
        self._write(self.root / "builds" / f"{inputs}.json", entry)

    def results(self, key: str) -> dict[str, Any] | None:
        return self._read(self.root / "results" / f"{key}.json")

    def put_results(self, key: str, entry: dict[str, Any]) -> None:
        self._write(self.root / "results" / f"{key}.json", entry)

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


def changed_since_pass(
    cache: ValidationCache | None, stack: str, image: str, inputs: str | None
) -> bool:
    """Whether the image's inputs differ from those of its last passing run (unknown: yes)."""
    if cache is None or inputs is None:
        return True
    return cache.last_passed(stack, image) != inputs

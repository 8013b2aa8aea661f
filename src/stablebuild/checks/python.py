"""Python checks: the interpreter resolves, runs, and is the version the stack pins."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from stablebuild.checks.results import Facts, error, failed, not_reported, passed, section, skipped
from stablebuild.manifest.model import ImageSpec
from stablebuild.report.model import CheckResult

FAMILY = "python"
IDS = ("python.interpreter", "python.runs", "python.version")


def check_python(
    spec: ImageSpec, facts: Facts, *, python: str | None, python_match: str
) -> list[CheckResult]:
    info = section(facts, "python")
    if info is None:
        message = not_reported(facts, "python")
        return [error(id, FAMILY, message) for id in IDS]
    return [
        _interpreter(spec, info),
        _runs(info),
        _version(info, python, python_match),
    ]


def _missing_target(info: Mapping[str, Any]) -> str:
    """The path a dangling link chain ends at, from its last "link -> target" step."""
    chain = info.get("link_chain") or []
    if not chain:
        return "its target"
    link, _, target = str(chain[-1]).partition(" -> ")
    if target and not target.startswith("/"):
        base = link.rsplit("/", 1)[0]
        target = f"{base}/{target}"
    return target or "its target"


def _interpreter(spec: ImageSpec, info: Mapping[str, Any]) -> CheckResult:
    id = "python.interpreter"
    asked = str(info.get("interpreter") or spec.interpreter)
    if info.get("dangling"):
        target = _missing_target(info)
        venv = info.get("venv") or {}
        home = venv.get("home") if isinstance(venv, Mapping) else None
        where = f" (pyvenv.cfg home = {home})" if home else ""
        return failed(
            id,
            FAMILY,
            f"{asked} is a dangling symlink: {target} does not exist{where}; "
            "a virtualenv copied from a different base image? Build the venv with the same "
            "Python the runtime stage has",
            value=list(info.get("link_chain") or []),
            expected=asked,
        )
    if not info.get("path"):
        return failed(id, FAMILY, info.get("error") or f"{asked} not found", expected=asked)
    if not info.get("exists"):
        return failed(
            id, FAMILY, info.get("error") or f"{info['path']} does not exist", expected=asked
        )
    resolved = info.get("resolved")
    if not resolved:
        return error(id, FAMILY, f"probe did not report where {asked} resolves", expected=asked)
    return passed(id, FAMILY, f"{asked} resolves to {resolved}", value=resolved, expected=asked)


def _runs(info: Mapping[str, Any]) -> CheckResult:
    id = "python.runs"
    if info.get("runs") is True and info.get("version"):
        return passed(id, FAMILY, f"runs: Python {info['version']}", value=info.get("executable"))
    reason = info.get("error") or "no output from the interpreter"
    return failed(id, FAMILY, f"the interpreter does not run: {reason}")


def _release(version: str) -> tuple[int, ...]:
    match = re.match(r"\s*(\d+(?:\.\d+)*)", version)
    return tuple(int(p) for p in match.group(1).split(".")) if match else ()


def version_matches(found: str, expected: str, match: str) -> bool:
    """Minor: 3.12 == 3.12.7. Patch: every part the pin gives is equal (3.12.7 != 3.12.8)."""
    have, want = _release(found), _release(expected)
    if not have or not want:
        return False
    if match == "minor":
        return have[:2] == want[:2]
    return have[: len(want)] == want


def _version(info: Mapping[str, Any], python: str | None, python_match: str) -> CheckResult:
    id = "python.version"
    if python is None:
        return skipped(id, FAMILY, "the manifest pins no python version")
    found = info.get("version")
    if not (info.get("runs") is True and found):
        return failed(id, FAMILY, "no version: the interpreter does not run", expected=python)
    if version_matches(str(found), python, python_match):
        return passed(
            id, FAMILY, f"{found} matches {python} ({python_match})", value=found, expected=python
        )
    return failed(
        id,
        FAMILY,
        f"Python {found} in the image, the stack pins {python} ({python_match} match)",
        value=found,
        expected=python,
    )

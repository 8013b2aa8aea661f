"""Import checks: each module imports, its distribution is at the pinned version, pins vs image.

`pins` maps PEP 503 canonical distribution names to the exact pinned version.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from packaging.version import InvalidVersion, Version

from stablebuild.checks.results import (
    Facts,
    error,
    failed,
    not_reported,
    passed,
    section,
    skipped,
    tail,
)
from stablebuild.report.model import CheckResult

# NOTE: installer tooling lives in every venv and is rarely pinned; listing it is noise.
TOOLING = frozenset({"pip", "setuptools", "wheel"})
_SEPARATORS = re.compile(r"[-_.]+")


def canonicalize_name(name: str) -> str:
    """The PEP 503 normal form of a distribution name, as `packaging.utils` gives it.

    NOTE: not imported from there: `packaging.utils` loads `packaging.tags` (platform,
    sysconfig, logging, the ELF readers: ~25 ms here) on every validate, for this one line.
    tests/unit/checks/test_check_imports.py holds the two to the same answers."""
    return _SEPARATORS.sub("-", name).lower()


def same_version(a: str, b: str) -> bool:
    """Equal as PEP 440 versions (1.0 == 1.0.0), or as strings when either is not PEP 440."""
    try:
        return Version(a) == Version(b)
    except InvalidVersion:
        return a.strip() == b.strip()


def check_imports(
    modules: tuple[str, ...], facts: Facts, pins: Mapping[str, str]
) -> list[CheckResult]:
    """imports.<module>, pins.<dist>, pins.drift (when pins are given) and pip.check."""
    pins = {canonicalize_name(k): v for k, v in pins.items()}
    results: list[CheckResult] = []
    imports = section(facts, "imports")
    dists_raw = section(facts, "distributions")
    dists: dict[str, str] = {canonicalize_name(k): str(v) for k, v in (dists_raw or {}).items()}
    if modules:
        if imports is None:
            message = not_reported(facts, "imports")
            results += [error(f"imports.{m}", "imports", message) for m in modules]
        else:
            results += [_import(m, imports.get(m)) for m in modules]
            results += _module_pins(modules, imports, dists, dists_raw is not None, pins)
    if pins:
        if dists_raw is None:
            results.append(error("pins.drift", "pins", not_reported(facts, "distributions")))
        else:
            results.append(_drift(dists, pins))
    results.append(_pip_check(facts))
    return results


def _import(module: str, entry: Any) -> CheckResult:
    id = f"imports.{module}"
    if not isinstance(entry, Mapping):
        return error(id, "imports", f"probe did not report imports.{module}")
    if entry.get("ok") is True:
        version = entry.get("version")
        names = ", ".join(entry.get("distributions") or []) or "no known distribution"
        return passed(id, "imports", f"imports ({names} {version or ''})".strip(), value=version)
    return failed(id, "imports", f"import {module} failed: {entry.get('error') or 'unknown error'}")


def _module_pins(
    modules: tuple[str, ...],
    imports: Mapping[str, Any],
    dists: Mapping[str, str],
    have_dists: bool,
    pins: Mapping[str, str],
) -> list[CheckResult]:
    results: list[CheckResult] = []
    seen: set[str] = set()
    for module in modules:
        entry = imports.get(module)
        if not isinstance(entry, Mapping):
            continue
        for raw in entry.get("distributions") or []:
            dist = canonicalize_name(str(raw))
            if dist in seen or dist not in pins:
                continue
            seen.add(dist)
            installed = dists.get(dist)
            if installed is None and not have_dists and len(entry["distributions"]) == 1:
                installed = entry.get("version")
            results.append(_pin(dist, module, installed, pins[dist]))
    return results


def _pin(dist: str, module: str, installed: str | None, pinned: str) -> CheckResult:
    id = f"pins.{dist}"
    if installed is None:
        return failed(
            id, "pins", f"{dist} (for {module}) is not installed; pinned {pinned}", expected=pinned
        )
    if same_version(installed, pinned):
        return passed(id, "pins", f"{dist} {installed} as pinned", installed, pinned)
    return failed(id, "pins", f"{dist} {installed} installed, pinned {pinned}", installed, pinned)


def _drift(dists: Mapping[str, str], pins: Mapping[str, str]) -> CheckResult:
    missing = sorted(d for d in pins if d not in dists)
    other = sorted(d for d in pins if d in dists and not same_version(dists[d], pins[d]))
    unpinned = sorted(d for d in dists if d not in pins and d not in TOOLING)
    value = {
        "missing": missing,
        "mismatched": {d: {"installed": dists[d], "pinned": pins[d]} for d in other},
        "unpinned": {d: dists[d] for d in unpinned},
    }
    parts: list[str] = []
    if missing:
        parts.append(f"pinned but not installed: {', '.join(missing)}")
    if other:
        parts.append(
            "installed at another version: "
            + ", ".join(f"{d} {dists[d]} (pinned {pins[d]})" for d in other)
        )
    if unpinned:
        parts.append(f"installed but not pinned: {', '.join(unpinned)}")
    if missing or other:
        return failed("pins.drift", "pins", "; ".join(parts), value=value)
    note = f"; {parts[0]}" if parts else ""
    return passed("pins.drift", "pins", f"all {len(pins)} pins installed as pinned{note}", value)


def _pip_check(facts: Facts) -> CheckResult:
    id = "pip.check"
    check = section(facts, "pip_check")
    if check is None:
        return error(id, "imports", not_reported(facts, "pip_check"))
    output = str(check.get("output") or "")
    if not check.get("ran") or check.get("ok") is None:
        return skipped(id, "imports", f"pip check did not run: {output or 'pip is not installed'}")
    if check.get("ok") is True:
        return passed(id, "imports", "pip check: no broken requirements")
    return failed(id, "imports", f"pip check found broken requirements:\n{tail(output)}")

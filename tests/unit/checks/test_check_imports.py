"""imports.*, pins.*, pins.drift and pip.check."""

from __future__ import annotations

from typing import Any

import pytest

from stablebuild.checks.imports import canonicalize_name, check_imports, same_version
from stablebuild.report.model import CheckStatus

MODULES = ("fastapi", "psycopg2")


def by_id(results: list[Any]) -> dict[str, Any]:
    return {r.id: r for r in results}


def test_good_imports_and_pins_pass(facts: dict[str, Any], pins: dict[str, str]) -> None:
    results = by_id(check_imports(MODULES, facts, pins))
    assert set(results) == {
        "imports.fastapi",
        "imports.psycopg2",
        "pins.fastapi",
        "pins.psycopg2-binary",
        "pins.drift",
        "pip.check",
    }
    assert all(r.status is CheckStatus.PASSED for r in results.values()), results
    assert results["imports.fastapi"].value == "0.109.0"


def test_missing_module_fails_with_the_import_error(
    facts: dict[str, Any], pins: dict[str, str]
) -> None:
    facts["imports"]["asyncpg"] = {
        "ok": False,
        "error": "ModuleNotFoundError: No module named 'asyncpg'",
        "distributions": [],
        "version": None,
    }
    results = by_id(check_imports((*MODULES, "asyncpg"), facts, pins))
    assert results["imports.asyncpg"].status is CheckStatus.FAILED
    assert "No module named 'asyncpg'" in results["imports.asyncpg"].message


def test_wrong_pinned_version_fails(facts: dict[str, Any], pins: dict[str, str]) -> None:
    facts["distributions"]["fastapi"] = "0.110.0"
    facts["imports"]["fastapi"]["version"] = "0.110.0"
    results = by_id(check_imports(MODULES, facts, pins))
    pin = results["pins.fastapi"]
    assert pin.status is CheckStatus.FAILED
    assert (pin.value, pin.expected) == ("0.110.0", "0.109.0")
    assert "0.110.0 installed, pinned 0.109.0" in pin.message
    assert results["pins.drift"].status is CheckStatus.FAILED


def test_pin_names_are_canonicalised(facts: dict[str, Any]) -> None:
    results = by_id(check_imports(MODULES, facts, {"Psycopg2_Binary": "2.9.9"}))
    assert results["pins.psycopg2-binary"].status is CheckStatus.PASSED


def test_drift_lists_missing_and_unpinned(facts: dict[str, Any], pins: dict[str, str]) -> None:
    pins["uvicorn"] = "0.27.0"
    facts["distributions"]["anyio"] = "4.2.0"
    drift = by_id(check_imports(MODULES, facts, pins))["pins.drift"]
    assert drift.status is CheckStatus.FAILED
    assert "pinned but not installed: uvicorn" in drift.message
    assert "installed but not pinned: anyio" in drift.message
    assert drift.value["missing"] == ["uvicorn"]
    assert "pip" not in drift.value["unpinned"]


def test_unpinned_alone_does_not_fail_drift(facts: dict[str, Any], pins: dict[str, str]) -> None:
    facts["distributions"]["anyio"] = "4.2.0"
    drift = by_id(check_imports(MODULES, facts, pins))["pins.drift"]
    assert drift.status is CheckStatus.PASSED
    assert drift.value["unpinned"] == {"anyio": "4.2.0"}
    assert "anyio" in drift.message


def test_no_pins_no_drift_check(facts: dict[str, Any]) -> None:
    results = by_id(check_imports(MODULES, facts, {}))
    assert "pins.drift" not in results
    assert not any(i.startswith("pins.") for i in results)


def test_pip_check_failure_carries_output(facts: dict[str, Any], pins: dict[str, str]) -> None:
    facts["pip_check"] = {
        "ran": True,
        "ok": False,
        "output": "fastapi 0.109.0 has requirement starlette<0.36.0,>=0.35.0, but you have "
        "starlette 0.37.2.",
    }
    result = by_id(check_imports(MODULES, facts, pins))["pip.check"]
    assert result.status is CheckStatus.FAILED
    assert "starlette 0.37.2" in result.message


def test_pip_absent_skips_pip_check(facts: dict[str, Any], pins: dict[str, str]) -> None:
    facts["pip_check"] = {"ran": False, "ok": None, "output": "pip is not installed"}
    result = by_id(check_imports(MODULES, facts, pins))["pip.check"]
    assert result.status is CheckStatus.SKIPPED
    assert "pip is not installed" in result.message


def test_missing_sections_are_errors(facts: dict[str, Any], pins: dict[str, str]) -> None:
    for key in ("imports", "distributions", "pip_check"):
        del facts[key]
    results = by_id(check_imports(MODULES, facts, pins))
    assert {r.status for r in results.values()} == {CheckStatus.ERROR}
    assert results["imports.fastapi"].message.startswith("probe did not report imports")
    assert "probe did not report distributions" in results["pins.drift"].message


def test_module_not_in_facts_is_error(facts: dict[str, Any]) -> None:
    result = by_id(check_imports(("sqlalchemy",), facts, {}))["imports.sqlalchemy"]
    assert result.status is CheckStatus.ERROR


def test_same_version() -> None:
    assert same_version("1.0", "1.0.0")
    assert not same_version("1.0.1", "1.0")
    assert same_version("weird-ver", "weird-ver")


def test_crash_of_the_python_section_is_quoted(facts: dict[str, Any]) -> None:
    for key in ("python", "imports", "distributions", "pip_check"):
        del facts[key]
    facts["errors"] = ["python: TimeoutExpired: timed out after 60 s"]
    result = by_id(check_imports(("fastapi",), facts, {}))["imports.fastapi"]
    assert (
        result.message
        == "probe did not report imports (python: TimeoutExpired: timed out after 60 s)"
    )


@pytest.mark.parametrize(
    "name",
    ["Django", "psycopg2_binary", "zope.interface", "ruamel.yaml.clib", "A-_.b", "pip", "X__Y", ""],
)
def test_distribution_names_normalise_as_packaging_does(name: str) -> None:
    """The checks' own PEP 503 normal form (packaging.utils is not loaded by a validate)."""
    from packaging.utils import canonicalize_name as packagings

    assert canonicalize_name(name) == packagings(name)

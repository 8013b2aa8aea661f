"""python.* checks: interpreter resolution, runs, version match."""

from __future__ import annotations

from typing import Any

import pytest

from stablebuild.checks.python import check_python, version_matches
from stablebuild.report.model import CheckStatus


def by_id(results: list[Any]) -> dict[str, Any]:
    return {r.id: r for r in results}


def test_good_python_passes(make_spec: Any, facts: dict[str, Any]) -> None:
    results = by_id(check_python(make_spec(), facts, python="3.12", python_match="minor"))
    assert [r.status for r in results.values()] == [CheckStatus.PASSED] * 3
    assert results["python.version"].value == "3.12.7"
    assert results["python.interpreter"].value == "/usr/local/bin/python3.12"


def test_dangling_venv_interpreter_is_named(make_spec: Any, facts: dict[str, Any]) -> None:
    facts["python"].update(
        exists=False,
        dangling=True,
        resolved=None,
        runs=False,
        version=None,
        link_chain=["/opt/venv/bin/python -> /usr/local/bin/python3.11"],
        error="/opt/venv/bin/python points at /usr/local/bin/python3.11, which does not exist",
    )
    results = by_id(check_python(make_spec(), facts, python="3.12", python_match="minor"))
    interp = results["python.interpreter"]
    assert interp.status is CheckStatus.FAILED
    assert "/usr/local/bin/python3.11" in interp.message
    assert "virtualenv copied from a different base image" in interp.message
    assert results["python.runs"].status is CheckStatus.FAILED
    assert results["python.version"].status is CheckStatus.FAILED


def test_relative_link_target_is_resolved_in_message(make_spec: Any, facts: dict[str, Any]) -> None:
    facts["python"].update(
        exists=False, dangling=True, link_chain=["/opt/venv/bin/python -> python3.11"]
    )
    result = by_id(check_python(make_spec(), facts, python=None, python_match="minor"))
    assert "/opt/venv/bin/python3.11 does not exist" in result["python.interpreter"].message


def test_interpreter_not_on_path(make_spec: Any, facts: dict[str, Any]) -> None:
    facts["python"].update(
        interpreter="python3",
        path=None,
        exists=False,
        runs=False,
        error="python3 not found on PATH",
    )
    results = by_id(check_python(make_spec(), facts, python=None, python_match="minor"))
    assert results["python.interpreter"].status is CheckStatus.FAILED
    assert "not found on PATH" in results["python.interpreter"].message
    assert results["python.runs"].status is CheckStatus.FAILED


def test_minor_mismatch_fails(make_spec: Any, facts: dict[str, Any]) -> None:
    facts["python"]["version"] = "3.11.9"
    result = by_id(check_python(make_spec(), facts, python="3.12.7", python_match="minor"))
    version = result["python.version"]
    assert version.status is CheckStatus.FAILED
    assert "3.11.9" in version.message and "3.12.7" in version.message


def test_patch_match_is_exact(make_spec: Any, facts: dict[str, Any]) -> None:
    result = by_id(check_python(make_spec(), facts, python="3.12.8", python_match="patch"))
    assert result["python.version"].status is CheckStatus.FAILED
    result = by_id(check_python(make_spec(), facts, python="3.12.8", python_match="minor"))
    assert result["python.version"].status is CheckStatus.PASSED


def test_no_python_pin_skips_with_reason(make_spec: Any, facts: dict[str, Any]) -> None:
    result = by_id(check_python(make_spec(), facts, python=None, python_match="minor"))
    assert result["python.version"].status is CheckStatus.SKIPPED
    assert "pins no python" in result["python.version"].message


def test_missing_section_is_error(make_spec: Any, facts: dict[str, Any]) -> None:
    del facts["python"]
    facts["errors"] = ["python: OSError: exec failed"]
    results = check_python(make_spec(), facts, python="3.12", python_match="minor")
    assert {r.status for r in results} == {CheckStatus.ERROR}
    assert all("probe did not report python" in r.message for r in results)
    assert "exec failed" in results[0].message


@pytest.mark.parametrize(
    ("found", "expected", "match", "ok"),
    [
        ("3.12.7", "3.12", "minor", True),
        ("3.12.7", "3.12.1", "minor", True),
        ("3.12.7", "3.12.7", "patch", True),
        ("3.12.7", "3.12.6", "patch", False),
        ("3.13.0rc1", "3.13", "minor", True),
        ("3.1.2", "3.12", "minor", False),
        ("", "3.12", "minor", False),
    ],
)
def test_version_matches(found: str, expected: str, match: str, ok: bool) -> None:
    assert version_matches(found, expected, match) is ok

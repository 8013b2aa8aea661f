"""files.<path>."""

from __future__ import annotations

from typing import Any

from stablebuild.checks.files import check_files
from stablebuild.report.model import CheckStatus


def test_existing_file_passes(facts: dict[str, Any]) -> None:
    [result] = check_files(("/app/main.py",), facts)
    assert (result.id, result.status, result.value) == (
        "files./app/main.py",
        CheckStatus.PASSED,
        "file",
    )


def test_missing_file_fails(facts: dict[str, Any]) -> None:
    facts["files"]["/app/missing.py"] = {"exists": False, "type": None, "mode": None}
    [result] = check_files(("/app/missing.py",), facts)
    assert result.status is CheckStatus.FAILED
    assert "does not exist" in result.message


def test_dangling_link_fails(facts: dict[str, Any]) -> None:
    facts["files"]["/app/cfg"] = {"exists": False, "type": "link", "mode": "0777"}
    [result] = check_files(("/app/cfg",), facts)
    assert "dangling symlink" in result.message


def test_unreported_is_error(facts: dict[str, Any]) -> None:
    [result] = check_files(("/etc/other",), facts)
    assert result.status is CheckStatus.ERROR
    del facts["files"]
    [result] = check_files(("/app/main.py",), facts)
    assert result.message == "probe did not report files"

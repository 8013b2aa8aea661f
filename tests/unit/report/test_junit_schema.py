"""JUnit that Jenkins' strict junit-10.xsd accepts, whatever a build log holds."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from tests.schemas.consumers import junit_problems

from stablebuild.report.model import (
    BuildOutcome,
    BuildStatus,
    CheckResult,
    CheckStatus,
    ImageReport,
    Report,
)
from stablebuild.report.write import render


@pytest.mark.parametrize("name", ["passing_report", "failing_report", "partial_report"])
def test_every_report_is_valid_junit_10(name: str, request: pytest.FixtureRequest) -> None:
    report: Report = request.getfixturevalue(name)
    assert junit_problems(render(report, "junit")) == []


def test_ansi_escapes_and_illegal_characters_are_stripped() -> None:
    log = [
        "Step 3/5 : RUN make",
        "\x1b[1m\x1b[31merror:\x1b[0m cc1: \x00fatal\x07 error\x1b]8;;http://x\x07link\x1b]8;;\x07",
        "progress 10%\r20%\r\x0b\x0cdone \ufffe\ud800",
    ]
    build = BuildOutcome(BuildStatus.FAILED, 3.0, log=log, error="\x1b[31mbuild failed\x1b[0m")
    checks = [CheckResult("imports.x", "imports", CheckStatus.FAILED, "\x1b[33mno x\x1b[0m\x01")]
    report = Report(
        "s\x1b[0m", "r", "2026-01-01T00:00:00Z", images=[ImageReport("a", build, checks)]
    )
    text = render(report, "junit")
    assert junit_problems(text) == []
    assert "\x1b" not in text and "\x00" not in text and "\x07" not in text
    root = ET.fromstring(text)
    failure = root.find("testsuite/testcase[@name='build']/failure")
    assert failure is not None and failure.get("message") == "build failed"
    assert "error: cc1: fatal error" in (failure.text or "")
    assert "link" in (failure.text or "") and "20%" in (failure.text or "")
    check = root.find("testsuite/testcase[@name='imports.x']/failure")
    assert check is not None and check.get("message") == "no x"
    assert root.get("name") == "stablebuild: s"


def test_skipped_is_counted_on_suites_only(partial_report: Report) -> None:
    root = ET.fromstring(render(partial_report, "junit"))
    assert "skipped" not in root.attrib
    assert [s.get("skipped") for s in root.findall("testsuite")] == ["0", "1"]

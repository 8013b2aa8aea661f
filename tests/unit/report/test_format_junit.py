"""The JUnit report parses and counts right."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from stablebuild.report.model import Report
from stablebuild.report.write import render


def test_counts_and_cases(failing_report: Report) -> None:
    root = ET.fromstring(render(failing_report, "junit"))
    assert root.tag == "testsuites"
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    assert list(suites) == ["api", "worker-gpu", "migrate"]
    worker = suites["worker-gpu"]
    assert (worker.get("tests"), worker.get("failures"), worker.get("errors")) == ("10", "4", "1")
    assert worker.get("skipped") == "1"
    cases = {c.get("name"): c for c in worker.findall("testcase")}
    assert "build" in cases
    skipped = cases["nvenc.encode.h264_nvenc"].find("skipped")
    assert skipped is not None and "no NVIDIA runtime" in (skipped.get("message") or "")
    assert cases["user"].find("failure") is not None
    assert cases["pip.check"].find("error") is not None
    assert cases["python.runs"].find("failure") is None
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("19", "5", "1")


def test_failed_build_is_a_failure_with_diagnosis(failing_report: Report) -> None:
    root = ET.fromstring(render(failing_report, "junit"))
    migrate = next(s for s in root.findall("testsuite") if s.get("name") == "migrate")
    [case] = migrate.findall("testcase")
    failure = case.find("failure")
    assert case.get("name") == "build" and failure is not None
    assert failure.get("type") == "pg-config-missing"
    assert "use psycopg2-binary" in (failure.text or "")


def test_partial_report_marks_itself(partial_report: Report) -> None:
    root = ET.fromstring(render(partial_report, "junit"))
    prop = root.find("testsuite/properties/property[@name='complete']")
    assert prop is not None and prop.get("value") == "false"
    assert root.get("skipped") is None  # junit-10.xsd: skipped is counted per testsuite
    assert root.find("testsuite[@name='worker-gpu']").get("skipped") == "1"

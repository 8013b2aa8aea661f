"""The JSON report: schema 1, round-trips, only a failed build's log tail."""

from __future__ import annotations

import json

from stablebuild.report.format.json import JsonFormat
from stablebuild.report.model import Report
from stablebuild.report.write import render


def test_schema_and_round_trip(failing_report: Report) -> None:
    text = render(failing_report, "json")
    doc = json.loads(text)
    assert doc["schema"] == 1
    assert doc["status"] == "failed"
    assert doc["complete"] is True
    assert doc["profile"] == "airgap"
    assert [i["name"] for i in doc["images"]] == ["api", "worker-gpu", "migrate"]
    assert json.loads(json.dumps(doc)) == doc
    check = doc["images"][0]["checks"][1]
    assert check == {
        "id": "python.version",
        "family": "python",
        "status": "passed",
        "message": "3.12.7 matches 3.12",
        "value": "3.12.7",
        "expected": "3.12",
    }
    assert doc["summary"] == {
        "passed": 10,
        "failed": 4,
        "skipped": 1,
        "error": 1,
        "images": 3,
        "builds_failed": 1,
    }


def test_build_fields_and_log_tail(failing_report: Report) -> None:
    doc = json.loads(render(failing_report, "json"))
    good, _, bad = (i["build"] for i in doc["images"])
    assert good["status"] == "built"
    assert good["image_id"] == "sha256:aaa"
    assert good["size_bytes"] == 412_000_000
    assert "log_tail" not in good and "log" not in good
    assert bad["status"] == "failed"
    assert len(bad["log_tail"]) == 50
    assert bad["log_tail"][-1].endswith("non-zero code: 1")
    assert bad["diagnosis"]["cause"] == "pg-config-missing"
    assert "log" not in bad


def test_full_log_on_request(failing_report: Report) -> None:
    doc = json.loads(JsonFormat(include_log=True).format(failing_report))
    assert len(doc["images"][2]["build"]["log"]) == 83


def test_passing_and_partial_status(passing_report: Report, partial_report: Report) -> None:
    assert json.loads(render(passing_report, "json"))["status"] == "passed"
    partial = json.loads(render(partial_report, "json"))
    assert (partial["status"], partial["complete"]) == ("incomplete", False)
    assert partial["images"][1]["build"]["status"] == "skipped"

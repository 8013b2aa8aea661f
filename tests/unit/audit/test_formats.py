"""The audit's output formats: table, JSON schema 1, markdown, and a structurally valid SARIF."""

from __future__ import annotations

import json
from pathlib import Path

from stablebuild.audit.finding import Finding, Severity
from stablebuild.audit.format import AuditFormat, formatter
from stablebuild.audit.runner import AuditResult

FINDINGS = (
    Finding("SB000", Severity.ERROR, "", None, "internal error in ci: boom", "report it"),
    Finding("SB401", Severity.ERROR, "worker/Dockerfile", 18, "FROM uses ${X} | y", "declare it"),
    Finding("SB700:DL3008", Severity.WARNING, "api/Dockerfile", 2, "Pin versions", "see x"),
    Finding("SB405", Severity.WARNING, "api/Dockerfile", 1, "runs as root", "add USER"),
    Finding("SB603", Severity.INFO, "requirements.txt", None, "skipped", ""),
)
RESULT = AuditResult(Path("/repo"), FINDINGS, 12, 0.25, {"ci": "ValueError: boom"})
EMPTY = AuditResult(Path("/repo"), (), 3, 0.01)


def test_json_schema_1() -> None:
    data = json.loads(formatter(AuditFormat.JSON).format(RESULT))
    assert data["schema"] == 1 and data["root"] == "/repo"
    assert data["summary"] == {"error": 2, "warning": 2, "info": 1, "total": 5}
    assert data["errors"] == {"ci": "ValueError: boom"}
    assert data["findings"][1] == {
        "rule": "SB401",
        "severity": "error",
        "file": "worker/Dockerfile",
        "line": 18,
        "message": "FROM uses ${X} | y",
        "hint": "declare it",
    }


def test_table_lists_every_finding() -> None:
    text = formatter(AuditFormat.TABLE).format(RESULT)
    for needle in ("SB401", "worker/Dockerfile:18", "SB700:DL3008", "(project)", "2 errors"):
        assert needle in text
    assert "no findings" in formatter(AuditFormat.TABLE).format(EMPTY)


def test_markdown_escapes_pipes() -> None:
    text = formatter(AuditFormat.MARKDOWN).format(RESULT)
    assert text.startswith("## stablebuild audit")
    assert "FROM uses ${X} \\| y" in text
    assert "`worker/Dockerfile:18`" in text
    assert "Nothing to report" in formatter(AuditFormat.MARKDOWN).format(EMPTY)


def test_sarif_structure() -> None:
    sarif = json.loads(formatter(AuditFormat.SARIF).format(RESULT))
    assert sarif["version"] == "2.1.0" and "sarif-2.1.0" in sarif["$schema"]
    [run] = sarif["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "stablebuild"
    ids = [r["id"] for r in driver["rules"]]
    assert len(ids) == len(set(ids)) == 5
    for rule in driver["rules"]:
        assert rule["shortDescription"]["text"] and rule["help"]["text"]
        assert rule["defaultConfiguration"]["level"] in {"error", "warning", "note"}
    hadolint_rule = driver["rules"][ids.index("SB700:DL3008")]
    assert hadolint_rule["helpUri"].endswith("/DL3008")
    assert run["originalUriBaseIds"]["SRCROOT"]["uri"] == "file:///repo/"
    assert len(run["results"]) == 5
    for result in run["results"]:
        assert ids[result["ruleIndex"]] == result["ruleId"]
        assert result["level"] in {"error", "warning", "note"}
        assert result["message"]["text"]
        for location in result.get("locations", []):
            physical = location["physicalLocation"]
            assert physical["artifactLocation"]["uri"]
            assert physical["artifactLocation"]["uriBaseId"] == "SRCROOT"
            assert physical.get("region", {"startLine": 1})["startLine"] >= 1
    by_rule = {r["ruleId"]: r for r in run["results"]}
    assert "locations" not in by_rule["SB000"]
    region = by_rule["SB401"]["locations"][0]["physicalLocation"]["region"]
    assert region == {"startLine": 18}
    assert "region" not in by_rule["SB603"]["locations"][0]["physicalLocation"]
    assert by_rule["SB603"]["level"] == "note"

"""SARIF for `stablebuild validate`: accepted by the schema and GitHub, each failure located
at the manifest entry, Dockerfile instruction or requirement line that caused it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from tests.schemas.consumers import sarif_problems, sarif_uris
from tests.unit.ci.stack import failing_report, make_stack

from stablebuild.report.model import Report
from stablebuild.report.write import render


def sarif(report: Report) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(render(report, "sarif"))
    assert sarif_problems(doc) == []
    return doc


def places(doc: dict[str, Any]) -> dict[str, tuple[str, int]]:
    out = {}
    for result in doc["runs"][0]["results"]:
        [location] = result["locations"]
        line = location["physicalLocation"]["region"]["startLine"]
        key = f"{result['properties']['image']}:{result['properties']['check']}"
        out[key] = (location["physicalLocation"]["artifactLocation"]["uri"], line)
    return out


def test_each_failure_points_where_it_is_fixed(tmp_path: Path) -> None:
    doc = sarif(failing_report(make_stack(tmp_path)))
    stack = "deploy/shop%20stack"
    assert places(doc) == {
        # the profile's imports list names psycopg2 (line 27), not the base one
        "api:imports.psycopg2": (f"{stack}/stablebuild.yml", 27),
        "api:pins.psycopg2-binary": (f"{stack}/requirements-stable.txt", 3),
        # the continuation line of the RUN that installs gcc-12
        "api:packages.forbid.gcc": (f"{stack}/docker/api/Dockerfile", 7),
        "api:user": (f"{stack}/docker/api/Dockerfile", 9),
        "api:size": (f"{stack}/stablebuild.yml", 17),
        "api:imports.pip_check": (f"{stack}/stablebuild.yml", 10),
        # the step the build log shows last
        "migrate:build": (f"{stack}/docker/migrate/Dockerfile", 3),
    }
    for uri in sarif_uris(doc):
        assert (tmp_path / uri).is_file()


def test_rules_results_and_run(tmp_path: Path) -> None:
    doc = sarif(failing_report(make_stack(tmp_path)))
    [run] = doc["runs"]
    rules = {r["id"]: r for r in run["tool"]["driver"]["rules"]}
    assert set(rules) == {
        "validate.imports",
        "validate.pins",
        "validate.packages",
        "validate.user",
        "validate.size",
        "validate.build",
    }
    assert rules["validate.packages"]["name"] == "DebianPackage"
    assert rules["validate.build"]["helpUri"].endswith("docs/report-schema.md#build-diagnosis")
    messages = [r["message"]["text"] for r in run["results"]]
    assert "api: imports.psycopg2: import psycopg2 failed: ImportError: libpq.so.5" in messages[0]
    assert all("\x1b" not in m for m in messages)
    assert run["invocations"][0]["executionSuccessful"] is True
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == tmp_path.as_uri() + "/"
    # Skipped and passed checks are no alerts.
    checks = [r["properties"]["check"] for r in run["results"]]
    assert "nvenc.encode.h264_nvenc" not in checks and "imports.fastapi" not in checks


def test_fingerprints_survive_moved_lines(tmp_path: Path) -> None:
    manifest = make_stack(tmp_path)
    before = sarif(failing_report(manifest))["runs"][0]["results"]
    manifest.write_text("# a comment on top\n" + manifest.read_text("utf-8"), "utf-8")
    after = sarif(failing_report(manifest))["runs"][0]["results"]
    assert [r["partialFingerprints"] for r in before] == [r["partialFingerprints"] for r in after]
    lines = [r["locations"][0]["physicalLocation"]["region"]["startLine"] for r in after]
    assert lines[0] == 28


def test_without_a_manifest_the_failures_still_have_a_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An old Report (no manifest path) and no stablebuild.yml here: line 1 of stablebuild.yml."""
    monkeypatch.chdir(tmp_path)
    doc = sarif(failing_report(None))
    assert set(places(doc).values()) == {("stablebuild.yml", 1)}


def test_interrupted_run_is_a_notification(partial_report: Report) -> None:
    [run] = sarif(partial_report)["runs"]
    [invocation] = run["invocations"]
    assert invocation["executionSuccessful"] is False
    [note] = invocation["toolExecutionNotifications"]
    assert note["message"]["text"].startswith("INCOMPLETE")


def test_conftest_reports_are_valid(failing_report: Report, passing_report: Report) -> None:
    assert len(sarif(failing_report)["runs"][0]["results"]) == 6
    assert sarif(passing_report)["runs"][0]["results"] == []

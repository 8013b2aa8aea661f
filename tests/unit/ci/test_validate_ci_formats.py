"""`validate --format codequality|github`: GitLab's Code Quality JSON and problem-matcher lines."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.schemas.consumers import codequality_problems
from tests.unit.ci.stack import failing_report, make_stack

from stablebuild.report.format import ReportFormat, formatter_for
from stablebuild.report.model import Report
from stablebuild.report.write import render

MATCHER = Path(__file__).resolve().parents[3] / "ci" / "github" / "stablebuild-matcher.json"


def test_registry_has_the_ci_formats() -> None:
    for name in ("sarif", "codequality", "github"):
        assert (
            formatter_for(ReportFormat(name))
            .format(Report("s", "r", "2026-01-01T00:00:00Z"))
            .strip()
        )


def test_codequality_for_gitlab(tmp_path: Path) -> None:
    issues = json.loads(render(failing_report(make_stack(tmp_path)), "codequality"))
    assert codequality_problems(issues) == []
    by_check = {i["description"].split(": ")[1]: i for i in issues}
    assert by_check["build"]["severity"] == "blocker"
    assert by_check["packages.forbid.gcc"]["severity"] == "critical"
    assert by_check["imports.pip_check"]["severity"] == "major"
    assert by_check["packages.forbid.gcc"]["location"] == {
        "path": "deploy/shop stack/docker/api/Dockerfile",
        "lines": {"begin": 7},
    }
    assert by_check["packages.forbid.gcc"]["check_name"] == "validate.packages"


def test_github_lines_match_the_problem_matcher(tmp_path: Path) -> None:
    matcher = json.loads(MATCHER.read_text(encoding="utf-8"))
    [pattern] = matcher["problemMatcher"][0]["pattern"]
    text = render(failing_report(make_stack(tmp_path)), "github")
    lines = text.splitlines()
    assert lines[-1].startswith("stablebuild: FAILED")
    matched = [m for line in lines if (m := re.match(pattern["regexp"], line))]
    assert len(matched) == len(lines) - 1 == 7
    first = matched[0]
    assert first.group(pattern["file"]) == "deploy/shop stack/stablebuild.yml"
    assert first.group(pattern["line"]) == "27"
    assert first.group(pattern["code"]) == "validate.imports"
    assert "\x1b" not in text

"""Stack results in every report format, the verdict they change, and when the phase is skipped."""

from __future__ import annotations

import json
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from tests.schemas.consumers import junit_problems, sarif_problems

from stablebuild.checks.stack import skip_reason
from stablebuild.manifest.model import HttpStep, StackSpec
from stablebuild.report.model import (
    BuildOutcome,
    BuildStatus,
    CheckResult,
    CheckStatus,
    ImageReport,
    Report,
    StackReport,
)
from stablebuild.report.write import render

P, F, S = CheckStatus.PASSED, CheckStatus.FAILED, CheckStatus.SKIPPED

MANIFEST = """\
version: 1
name: shop
images:
  api: {dockerfile: Dockerfile}
stack:
  compose: compose.yml
  services: {api: api}
  wait:
    healthy: [api, db]
  smoke:
    - http: {service: api, path: /health}
    - http: {service: api, method: POST, path: /jobs, form: {a: b}}
"""

SMOKE_FAILURE = (
    "POST api/jobs answered 500, expected 202: internal error\n"
    "--- api: last 20 log lines ---\n"
    "Traceback (most recent call last):\n"
    "RuntimeError: the broker is gone"
)


def image(name: str = "api", ok: bool = True) -> ImageReport:
    checks = [CheckResult("user", "user", P if ok else F, "runs as 1000")]
    return ImageReport(name, BuildOutcome(BuildStatus.BUILT, 3.0, image_id="sha256:a"), checks)


def stack_report(failing: bool) -> StackReport:
    checks = [
        CheckResult("stack.up", "stack", P, "3 services up in 4.0 s", 4.0),
        CheckResult("stack.healthy.api", "stack", P, "healthy after 2.5 s", 2.5, 120),
        CheckResult("stack.healthy.db", "stack", P, "healthy after 3.1 s", 3.1, 120),
        CheckResult("stack.smoke.1", "stack", P, "GET api/health answered 200", 0.01),
    ]
    if failing:
        checks.append(CheckResult("stack.smoke.2", "stack", F, SMOKE_FAILURE, 500, 202))
    else:
        checks.append(CheckResult("stack.smoke.2", "stack", P, "POST api/jobs answered 202"))
    checks.append(CheckResult("stack.down", "stack", P, "removed in 2.0 s", 2.0))
    return StackReport("sb-shop-r1", "docker-compose 1.29.2", 18.25, checks)


@pytest.fixture
def manifest(tmp_path: Path) -> Path:
    (tmp_path / ".git").mkdir()
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    (tmp_path / "compose.yml").write_text("services:\n  api: {build: .}\n  db: {image: pg}\n")
    path = tmp_path / "stablebuild.yml"
    path.write_text(MANIFEST)
    return path


def report(manifest: Path, failing: bool) -> Report:
    return Report(
        "shop", "r1", "2026-01-01T00:00:00+00:00", "2026-01-01T00:01:00+00:00",
        images=[image()], stack_phase=stack_report(failing), manifest=str(manifest),
    )  # fmt: skip


def test_a_failed_stack_fails_the_run_and_every_format_says_where(manifest: Path) -> None:
    failing = report(manifest, failing=True)
    assert not failing.ok
    terminal = render(failing, "terminal")
    assert "stack phase · compose project sb-shop-r1 · docker-compose 1.29.2 · 18.2 s" in terminal
    assert "✘ stack.smoke.2 failed: POST api/jobs answered 500, expected 202" in terminal
    assert "RuntimeError: the broker is gone" in terminal  # the log tail under it
    assert "✔ stack.healthy.db passed: healthy after 3.1 s" in terminal
    assert (
        terminal.strip()
        .splitlines()[-1]
        .startswith("FAILED: 1 image passed, the stack phase failed (6 checks passed, 1 failed")
    )
    markdown = render(failing, "markdown")
    assert "- ❌ `stack.smoke.2` — POST api/jobs answered 500, expected 202" in markdown
    assert "RuntimeError: the broker is gone" in markdown
    github = render(failing, "github").splitlines()
    assert github[0].startswith(
        "stablebuild.yml:12: error validate.stack stack: stack.smoke.2: POST api/jobs answered 500"
    )


def test_json_keeps_the_stack_phase_and_counts_its_checks(manifest: Path) -> None:
    doc = json.loads(render(report(manifest, failing=True), "json"))
    phase = doc["stack_phase"]
    assert (phase["ok"], phase["project"], phase["compose"]) == (
        False, "sb-shop-r1", "docker-compose 1.29.2",
    )  # fmt: skip
    assert [c["id"] for c in phase["checks"]][-2:] == ["stack.smoke.2", "stack.down"]
    assert phase["checks"][-2]["status"] == "failed" and phase["checks"][-2]["value"] == 500
    assert doc["summary"]["failed"] == 1 and doc["summary"]["passed"] == 6
    assert doc["status"] == "failed"
    plain = Report("shop", "r1", "2026-01-01T00:00:00+00:00", images=[image()])
    assert json.loads(render(plain, "json"))["stack_phase"] is None


def test_junit_has_a_stack_suite_valid_for_jenkins(manifest: Path) -> None:
    text = render(report(manifest, failing=True), "junit")
    assert junit_problems(text) == []
    root = ET.fromstring(text)
    suite = root.find("testsuite[@name='stack']")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures"), suite.get("time")) == ("6", "1", "18.250")
    failure = suite.find("testcase[@name='stack.smoke.2']/failure")
    assert failure is not None and "the broker is gone" in (failure.text or "")
    assert root.get("failures") == "1"


def test_sarif_and_codequality_point_at_the_smoke_step(manifest: Path) -> None:
    doc: dict[str, Any] = json.loads(render(report(manifest, failing=True), "sarif"))
    assert sarif_problems(doc) == []
    [result] = doc["runs"][0]["results"]
    assert result["ruleId"] == "validate.stack"
    location = result["locations"][0]["physicalLocation"]
    assert (location["artifactLocation"]["uri"], location["region"]["startLine"]) == (
        "stablebuild.yml", 12,
    )  # fmt: skip
    [rule] = doc["runs"][0]["tool"]["driver"]["rules"]
    assert rule["name"] == "StackPhase"
    [issue] = json.loads(render(report(manifest, failing=True), "codequality"))
    assert issue["check_name"] == "validate.stack" and issue["location"]["lines"]["begin"] == 12


def test_unhealthy_services_point_at_their_wait_entry(manifest: Path) -> None:
    broken = report(manifest, failing=False)
    assert broken.stack_phase is not None
    broken.stack_phase.checks[2] = CheckResult(
        "stack.healthy.db", "stack", F, "db not healthy within 120 s: running, health starting"
    )
    [line, _] = render(broken, "github").splitlines()
    assert line.startswith("stablebuild.yml:9: error validate.stack stack: stack.healthy.db")


def test_a_passed_or_skipped_stack_keeps_the_run_passing(manifest: Path) -> None:
    passing = report(manifest, failing=False)
    assert passing.ok
    verdict = render(passing, "terminal").strip().splitlines()[-1]
    assert verdict.startswith("PASSED: 1 image built and checked, stack phase passed")
    not_run = CheckResult("stack.up", "stack", S, "not run: --no-stack")
    skipped = Report(
        "shop", "r1", "2026-01-01T00:00:00+00:00", images=[image()],
        stack_phase=StackReport(checks=[not_run]),
    )  # fmt: skip
    assert skipped.ok
    text = render(skipped, "terminal")
    assert "– stack.up skipped: not run: --no-stack" in text
    assert text.strip().splitlines()[-1].startswith("PASSED: 1 image built and checked, stack")
    assert "stack phase skipped" in text


SPEC = StackSpec((Path("compose.yml"),), {"api": "api", "worker": "worker"},
                 smoke=(HttpStep("api", "/health"),))  # fmt: skip


def test_the_phase_is_skipped_with_a_reason() -> None:
    both = [image("api"), image("worker")]
    assert skip_reason(SPEC, both, enabled=True) is None
    assert skip_reason(SPEC, both, enabled=False) == "not run: --no-stack"
    assert skip_reason(SPEC, [image("api"), image("worker", ok=False)], enabled=True) == (
        "not run: image worker did not pass"
    )
    assert skip_reason(SPEC, [image("api")], enabled=True) == textwrap.shorten(
        "not run: the stack runs image worker, not validated in this run "
        "(--image or --changed left it out)", 200,
    )  # fmt: skip
    unbuilt = ImageReport("api", BuildOutcome(BuildStatus.FAILED, 1.0))
    assert skip_reason(SPEC, [unbuilt, image("worker")], enabled=True) == (
        "not run: image api did not pass"
    )

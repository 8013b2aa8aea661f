"""ci/gitlab/stablebuild.gitlab-ci.yml, run as a GitLab runner runs a job: before_script and
script lines with sh, the job's variables and GitLab's own (GITLAB_CI, CI_PROJECT_DIR)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml
from tests.schemas.consumers import codequality_problems, sarif_problems

ROOT = Path(__file__).resolve().parents[3]
TEMPLATE: dict[str, Any] = yaml.safe_load(
    (ROOT / "ci" / "gitlab" / "stablebuild.gitlab-ci.yml").read_text(encoding="utf-8")
)


def job(name: str) -> dict[str, Any]:
    """A hidden job with what it `extends` merged in (one level, as the template uses)."""
    spec = dict(TEMPLATE[name])
    parent = spec.pop("extends", None)
    return {**TEMPLATE[parent], **spec} if parent else spec


def run_job(name: str, project: Path, **variables: str) -> subprocess.CompletedProcess[str]:
    spec = job(name)
    env = {
        **os.environ,
        **TEMPLATE["variables"],
        **spec.get("variables", {}),
        "STABLEBUILD_INSTALL": "",  # stablebuild comes from this virtualenv
        **variables,
        "CI": "true",
        "GITLAB_CI": "true",
        "CI_PROJECT_DIR": str(project),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    }
    lines = [*spec["before_script"], *spec["script"]]
    # GitLab stops a job at the first failing line, as `sh -e` does.
    return subprocess.run(
        ["sh", "-ec", "\n".join(lines)],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_audit_job_writes_what_its_artifacts_name(tmp_path: Path) -> None:
    project = tmp_path / "project dir"
    (project / ".git").mkdir(parents=True)
    (project / "app").mkdir()
    (project / "app" / "Dockerfile").write_text("FROM python:3.12-slim\nCOPY missing.txt /\n")
    proc = run_job(
        ".stablebuild-audit",
        project,
        STABLEBUILD_DIR="app",
        STABLEBUILD_AUDIT_ARGS="--offline --no-hadolint",
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr  # SB402: the job fails
    artifacts = job(".stablebuild-audit")["artifacts"]
    assert artifacts["when"] == "always"
    report = project / artifacts["reports"]["codequality"]
    issues = json.loads(report.read_text(encoding="utf-8"))
    assert codequality_problems(issues) == []
    assert {"check_name": "SB402", "path": "app/Dockerfile", "line": 2} in [
        {
            "check_name": i["check_name"],
            "path": i["location"]["path"],
            "line": i["location"]["lines"]["begin"],
        }
        for i in issues
    ]
    doc = json.loads((project / "stablebuild-reports" / "audit.sarif").read_text("utf-8"))
    assert sarif_problems(doc) == []


def test_validate_job_names_the_reports_it_writes() -> None:
    spec = job(".stablebuild-validate")
    script = " ".join(spec["script"])
    for kind, path in spec["artifacts"]["reports"].items():
        fmt = {"junit": "junit", "codequality": "codequality"}[kind]
        assert f"-o {fmt}:{path}" in script
    assert spec["variables"]["DOCKER_HOST"] == "tcp://docker:2375"

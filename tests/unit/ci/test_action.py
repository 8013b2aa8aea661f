"""action.yml, run as a GitHub runner runs a composite action: each `run:` script with bash,
`${{ … }}` expressions substituted, and the runner's environment (GITHUB_ACTIONS, GITHUB_OUTPUT,
GITHUB_STEP_SUMMARY, GITHUB_WORKSPACE…). `uses:` steps (setup-python, upload-sarif) are GitHub's
own and are recorded, not run; stablebuild comes from this virtualenv (`version: local`)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.schemas.consumers import codequality_problems, sarif_problems

ROOT = Path(__file__).resolve().parents[3]
ACTION = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
EXPRESSION = re.compile(r"\$\{\{\s*(.+?)\s*\}\}")


@dataclass
class Run:
    """What one run of the action left: outputs, step outputs, skipped `uses:`, exit code."""

    outputs: dict[str, str]
    steps: dict[str, dict[str, str]]
    used: list[str] = field(default_factory=list)
    exit_code: int = 0
    log: str = ""


def evaluate(expression: str, context: dict[str, Any]) -> str:
    """The expressions action.yml uses: a.b.c lookups, `||`, `!=`, `==`, `&&` and always()."""
    if "||" in expression:
        values = [evaluate(part, context) for part in expression.split("||")]
        return next((v for v in values if v), "")
    if "&&" in expression:
        return "true" if all(evaluate(p, context) == "true" for p in expression.split("&&")) else ""
    for op in ("!=", "=="):
        if op in expression:
            left, right = (evaluate(p, context) for p in expression.split(op))
            return "true" if (left == right) == (op == "==") else ""
    expression = expression.strip()
    if expression == "always()":
        return "true"
    if expression.startswith("'"):
        return expression.strip("'")
    value: Any = context
    for key in expression.split("."):
        value = value.get(key, "") if isinstance(value, dict) else ""
    return str(value)


def substitute(text: str, context: dict[str, Any]) -> str:
    return EXPRESSION.sub(lambda m: evaluate(m.group(1), context), text)


def read_outputs(path: Path) -> dict[str, str]:
    """A GITHUB_OUTPUT file: `key=value` lines and `key<<DELIM` blocks."""
    out: dict[str, str] = {}
    lines = iter(path.read_text(encoding="utf-8").splitlines())
    for line in lines:
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            key, delimiter = line.split("<<", 1)
            block = []
            for inner in lines:
                if inner == delimiter:
                    break
                block.append(inner)
            out[key] = "\n".join(block)
        elif "=" in line:
            key, value = line.split("=", 1)
            out[key] = value
    return out


def run_action(workspace: Path, tmp: Path, **given: str) -> Run:
    inputs = {name: str(spec.get("default", "")) for name, spec in ACTION["inputs"].items()}
    inputs.update({k.replace("_", "-"): v for k, v in given.items()})
    summary = tmp / "step_summary.md"
    summary.touch()
    context: dict[str, Any] = {
        "inputs": inputs,
        "github": {"action_path": str(ROOT), "workspace": str(workspace)},
        "steps": {},
        "runner": {"temp": str(tmp)},
    }
    runner_env = {
        **os.environ,
        "CI": "true",
        "GITHUB_ACTIONS": "true",
        "GITHUB_WORKSPACE": str(workspace),
        "GITHUB_ACTION_PATH": str(ROOT),
        "GITHUB_STEP_SUMMARY": str(summary),
        "RUNNER_TEMP": str(tmp),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        **{f"INPUT_{k.upper()}": v for k, v in inputs.items()},
    }
    result = Run({}, {})
    failed = False
    for n, step in enumerate(ACTION["runs"]["steps"]):
        condition = step.get("if")
        if condition and not evaluate(condition, context):
            continue
        if failed and "always()" not in str(condition):
            continue
        if "uses" in step:
            result.used.append(step["uses"])
            continue
        output = tmp / f"output_{n}"
        output.touch()
        env = {k: substitute(str(v), context) for k, v in step.get("env", {}).items()}
        script = tmp / f"step_{n}.sh"
        script.write_text(substitute(step["run"], context), encoding="utf-8")
        proc = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
            cwd=workspace,
            env={**runner_env, **env, "GITHUB_OUTPUT": str(output)},
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        result.log += proc.stdout + proc.stderr
        if "id" in step:
            context["steps"][step["id"]] = {"outputs": read_outputs(output)}
            result.steps[step["id"]] = read_outputs(output)
        if proc.returncode != 0:
            failed = True
            result.exit_code = proc.returncode
    result.outputs = {
        name: substitute(spec["value"], context) for name, spec in ACTION["outputs"].items()
    }
    result.log += summary.read_text(encoding="utf-8")
    return result


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A checked-out repository: a stack in a sub-folder with a manifest, a Dockerfile, pins."""
    repo = tmp_path / "workspace"
    (repo / ".git").mkdir(parents=True)
    stack = repo / "services" / "api"
    (stack / "docker").mkdir(parents=True)
    (stack / ".python-version").write_text("3.12.7\n", encoding="utf-8")
    (stack / "stablebuild.yml").write_text(
        "version: 1\nname: api\npython: .python-version\nimages: {}\n", encoding="utf-8"
    )
    (stack / "requirements.txt").write_text("fastapi>=0.100\n", encoding="utf-8")
    (stack / "docker" / "Dockerfile").write_text(
        "FROM python:3.13-slim\nCOPY requirements.txt /app/\n"
        'RUN pip install -r /app/requirements.txt\nCMD ["python"]\n',
        encoding="utf-8",
    )
    return repo


def test_audit_writes_reports_and_fails_the_step(workspace: Path, tmp_path: Path) -> None:
    run = run_action(
        workspace,
        tmp_path,
        dir="services/api",
        version="local",
        formats="sarif, markdown,json codequality",
        audit_args="--offline --no-hadolint",
        upload_sarif="true",
    )
    assert run.steps["install"]["version"].startswith("stablebuild")
    assert run.outputs["audit-exit-code"] == "1" and run.outputs["exit-code"] == "1"
    assert run.exit_code == 1  # the verdict step fails the job, after the upload
    assert run.outputs["validate-exit-code"] == ""  # command: audit only
    assert run.outputs["reports-dir"] == "stablebuild-reports"
    sarif_path = workspace / run.outputs["audit-sarif"]
    assert run.outputs["audit-sarif"] == "stablebuild-reports/audit.sarif"
    doc = json.loads(sarif_path.read_text(encoding="utf-8"))
    assert sarif_problems(doc) == []
    uris = {
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        for r in doc["runs"][0]["results"]
    }
    assert "services/api/docker/Dockerfile" in uris  # relative to the repository, not to dir
    issues = json.loads((workspace / run.outputs["audit-codequality"]).read_text("utf-8"))
    assert codequality_problems(issues) == []
    assert (
        (workspace / run.outputs["audit-markdown"])
        .read_text("utf-8")
        .startswith("## stablebuild audit")
    )
    assert json.loads((workspace / run.outputs["audit-json"]).read_text("utf-8"))["schema"] == 1
    # setup-python is skipped with version: local; the SARIF upload runs although audit failed
    assert run.used == ["github/codeql-action/upload-sarif@v3"]
    assert "::error file=services/api/" in run.log
    assert "## stablebuild audit" in run.log


def test_both_commands_and_a_usage_error_outranks_a_failure(
    workspace: Path, tmp_path: Path
) -> None:
    """validate of a manifest without images is exit 2: the verdict keeps the worse code."""
    run = run_action(
        workspace,
        tmp_path,
        command="both",
        dir="services/api",
        version="local",
        fail_on="never",
        formats="sarif junit",
        audit_args="--offline --no-hadolint",
        output_dir="out/reports",
    )
    assert run.outputs["audit-exit-code"] == "0"
    assert run.outputs["validate-exit-code"] == "2"
    assert run.outputs["exit-code"] == "2" and run.exit_code == 2
    assert "names no images" in run.log
    assert run.outputs["audit-sarif"] == "out/reports/audit.sarif"
    assert "audit-junit" not in run.steps["audit"]  # audit writes no JUnit
    assert run.outputs["validate-sarif"] == ""  # nothing written, nothing to upload
    assert run.used == []  # upload-sarif is off by default


def test_bad_inputs_are_exit_2_with_an_annotation(workspace: Path, tmp_path: Path) -> None:
    run = run_action(workspace, tmp_path, version="local", formats="sarif pdf")
    assert run.outputs["exit-code"] == "2"
    assert "::error title=stablebuild audit::unknown format 'pdf'" in run.log
    run = run_action(workspace, tmp_path, version="local", command="lint")
    assert run.outputs["exit-code"] == "2"
    assert "input command must be audit, validate or both" in run.log


def test_action_inputs_are_never_interpolated_into_scripts() -> None:
    """Inputs reach scripts through env only: no `${{ inputs.x }}` inside a `run:`."""
    for step in ACTION["runs"]["steps"]:
        assert "${{" not in step.get("run", ""), step.get("name")

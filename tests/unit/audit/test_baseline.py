"""Baselines: today's findings recorded by fingerprint; only new ones fail, fixed ones listed.

The fingerprints are the SARIF partialFingerprints (one implementation), so they survive lines
moving and unrelated edits."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.schemas.consumers import sarif_problems
from typer.testing import CliRunner

from stablebuild.audit import baseline
from stablebuild.audit.finding import State
from stablebuild.audit.format import formatter
from stablebuild.audit.options import AuditFormat, AuditOptions
from stablebuild.audit.runner import AuditResult, exit_code, run_audit
from stablebuild.cli import app
from stablebuild.errors import UsageError

OSV = Path(__file__).parents[2] / "fixtures" / "audit" / "osv" / "pypa"

DOCKERFILE = """\
FROM python:3.12-slim
WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt
COPY static/ /app/static/
COPY templates/ /app/templates/
USER 1000
"""
REQUIREMENTS = "django==3.2.0\njinja2==2.10\n"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / ".git").mkdir(parents=True)
    (root / "Dockerfile").write_text(DOCKERFILE)
    (root / "requirements.txt").write_text(REQUIREMENTS)
    return root


def audit(root: Path, tmp_path: Path, **extra: object) -> AuditResult:
    options = AuditOptions(
        offline=True,
        cache_dir=tmp_path / "cache",
        hadolint=False,
        vuln_db=OSV,
        **extra,  # type: ignore[arg-type]
    )
    return run_audit(root, options, None)


def errors(result: AuditResult) -> set[tuple[str, str]]:
    return {(f.rule, f.message.split(":")[0]) for f in result.active if f.rule != "SB306"}


def test_writing_a_baseline_makes_today_pass(repo: Path, tmp_path: Path) -> None:
    before = audit(repo, tmp_path)
    assert exit_code(before, "error") == 1
    assert errors(before) == {
        ("SB402", "COPY static/"),
        ("SB402", "COPY templates/"),
        ("SB601", "django==3.2.0 has a known vulnerability (PYSEC-2021-98, CVE-2021-33203, "
                  "GHSA-68w8-qjq3-2gfm)"),
        ("SB601", "jinja2==2.10 has a known vulnerability (PYSEC-2019-217, CVE-2019-10906)"),
    }  # fmt: skip
    path = repo / ".stablebuild-baseline.json"
    written = audit(repo, tmp_path, write_baseline=path)
    assert exit_code(written, "warning") == 0 and not written.active
    assert written.states()["baseline"] == len(before.findings)
    data = json.loads(path.read_text())
    assert data["schema"] == 1 and len(data["findings"]) == len(before.findings)
    assert all("line" not in entry for entry in data["findings"])  # lines move; never recorded
    assert [e["file"] for e in data["findings"]] == sorted(e["file"] for e in data["findings"])


def test_lines_moving_and_unrelated_edits_keep_the_baseline(repo: Path, tmp_path: Path) -> None:
    path = tmp_path / "baseline.json"
    audit(repo, tmp_path, write_baseline=path)
    # New lines above everything, and an unrelated line changed
    (repo / "Dockerfile").write_text(
        "# syntax=docker/dockerfile:1\n# the API image\n"
        + DOCKERFILE.replace("WORKDIR /app", "WORKDIR /srv/app")
    )
    (repo / "requirements.txt").write_text("# pinned by pip-compile\n\n" + REQUIREMENTS)
    later = audit(repo, tmp_path, baseline=path)
    assert later.active == () and later.fixed == ()
    assert exit_code(later, "warning") == 0


def test_only_new_findings_fail_and_fixed_ones_are_listed(repo: Path, tmp_path: Path) -> None:
    path = tmp_path / "baseline.json"
    audit(repo, tmp_path, write_baseline=path)
    (repo / "Dockerfile").write_text(
        DOCKERFILE.replace("COPY templates/ /app/templates/\n", "COPY locale/ /app/locale/\n")
    )
    later = audit(repo, tmp_path, baseline=path)
    assert [(f.rule, f.message.split(":")[0]) for f in later.active] == [("SB402", "COPY locale/")]
    assert exit_code(later, "error") == 1
    assert [(e.rule, e.file) for e in later.fixed] == [("SB402", "Dockerfile")]
    assert "COPY templates/" in later.fixed[0].message
    # said in every format that has room for it
    table = formatter(AuditFormat.TABLE).format(later)
    assert "1 baseline entry in baseline.json no longer found (fixed)" in table
    assert "COPY templates/" in table and "in the baseline" in table
    data = json.loads(formatter(AuditFormat.JSON).format(later))
    assert data["baseline"]["fixed"][0]["rule"] == "SB402"
    assert data["summary"]["baseline"] == len(later.findings) - 1
    markdown = formatter(AuditFormat.MARKDOWN).format(later)
    assert "no longer found (fixed)" in markdown and "| baseline | SB601 |" in markdown


def test_sarif_says_new_and_unchanged(repo: Path, tmp_path: Path) -> None:
    path = tmp_path / "baseline.json"
    audit(repo, tmp_path, write_baseline=path)
    (repo / "requirements.txt").write_text(REQUIREMENTS + "leftpad-py==1.2\n")
    later = audit(repo, tmp_path, baseline=path)
    doc = json.loads(formatter(AuditFormat.SARIF).format(later))
    assert sarif_problems(doc) == []
    results = doc["runs"][0]["results"]
    states = {(r["ruleId"], r["baselineState"]) for r in results}
    assert ("SB601", "new") in states and ("SB601", "unchanged") in states
    new = next(r for r in results if r["baselineState"] == "new" and r["ruleId"] == "SB601")
    assert "leftpad-py" in new["message"]["text"] and "suppressions" not in new
    old = next(r for r in results if r["baselineState"] == "unchanged")
    assert old["suppressions"] == [
        {"kind": "external", "justification": "recorded in the baseline baseline.json"}
    ]
    # GitLab's widget: the baseline is there, as info
    quality = json.loads(formatter(AuditFormat.CODEQUALITY).format(later))
    assert {i["severity"] for i in quality if "(in the baseline)" in i["description"]} == {"info"}


def test_fingerprints_are_the_sarif_ones(repo: Path, tmp_path: Path) -> None:
    path = tmp_path / "baseline.json"
    result = audit(repo, tmp_path, write_baseline=path)
    recorded = {e["fingerprint"] for e in json.loads(path.read_text())["findings"]}
    sarif = json.loads(formatter(AuditFormat.SARIF).format(result))["runs"][0]["results"]
    assert {r["partialFingerprints"]["stablebuild/v1"] for r in sarif} <= recorded
    assert set(result.fingerprints()) == recorded
    listed = json.loads(formatter(AuditFormat.JSON).format(result))["findings"]
    assert {f["fingerprint"] for f in listed} == recorded


def test_repeated_findings_count_by_occurrence(repo: Path, tmp_path: Path) -> None:
    path = tmp_path / "baseline.json"
    twice = DOCKERFILE.replace("USER 1000\n", "COPY static/ /app/static/\nUSER 1000\n")
    (repo / "Dockerfile").write_text(twice)
    audit(repo, tmp_path, write_baseline=path)
    ids = [e["fingerprint"] for e in json.loads(path.read_text())["findings"]]
    static = [i for i in ids if i.endswith((":1", ":2"))]
    assert len({i.split(":")[0] for i in static}) < len(static)  # the same digest, :1 and :2
    (repo / "Dockerfile").write_text(twice.replace("USER", "COPY static/ /app/static/\nUSER"))
    later = audit(repo, tmp_path, baseline=path)
    assert [f.message.split(":")[0] for f in later.active] == ["COPY static/"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"schema": 1, "findings": [', "baseline.json:1: not a baseline"),
        ('{"schema": 9, "findings": []}', "not a stablebuild baseline"),
        ('{"schema": 1, "findings": [{"rule": "SB402"}]}', "finding 1 has no fingerprint"),
    ],
)
def test_a_bad_baseline_is_a_usage_error(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "baseline.json"
    path.write_text(text)
    with pytest.raises(UsageError, match=message):
        baseline.load(path)


def test_cli_write_then_use(repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")
    runner = CliRunner()
    args = ["audit", str(repo), "--offline", "--no-hadolint", "--vuln-db", str(OSV)]
    assert runner.invoke(app, args).exit_code == 1
    path = repo / ".stablebuild-baseline.json"
    wrote = runner.invoke(app, [*args, "--write-baseline", str(path)])
    assert wrote.exit_code == 0 and "baseline written to" in wrote.stderr
    assert runner.invoke(app, [*args, "--baseline", str(path)]).exit_code == 0
    # the variable CI sets does the same
    monkeypatch.setenv("STABLEBUILD_BASELINE", str(path))
    used = runner.invoke(app, [*args, "--fail-on", "warning", "--format", "json"])
    assert used.exit_code == 0, used.output
    assert json.loads(used.stdout)["baseline"]["file"] == str(path)
    # a broken one: exit 2, one line, no traceback
    path.write_text("{")
    broken = runner.invoke(app, args)
    assert broken.exit_code == 2
    assert broken.stderr.startswith(f"error: {path}:1: not a baseline") and "Traceback" not in (
        broken.output
    )
    missing = runner.invoke(app, [*args, "--baseline", str(tmp_path / "nope.json")])
    assert missing.exit_code == 2 and "nope.json" in missing.stderr
    nowhere = runner.invoke(app, [*args, "--write-baseline", str(tmp_path / "no" / "b.json")])
    assert nowhere.exit_code == 2 and "does not exist" in nowhere.stderr
    folder = runner.invoke(app, [*args, "--write-baseline", str(tmp_path)])
    assert folder.exit_code == 2 and "not a regular file" in folder.stderr


def test_entries_leave_suppressed_findings_out() -> None:
    from stablebuild.audit.finding import Finding, Severity

    active = Finding("SB402", Severity.ERROR, "Dockerfile", 3, "COPY a: missing")
    hushed = Finding("SB405", Severity.WARNING, "Dockerfile", 1, "root", state=State.SUPPRESSED)
    recorded = baseline.entries([active, hushed], ["aa:1", "bb:1"])
    assert [e.fingerprint for e in recorded] == ["aa:1"]

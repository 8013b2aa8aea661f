"""GitHub workflow commands and step summary, GitLab log sections: only inside those CIs."""

from __future__ import annotations

import io
from pathlib import Path

from tests.unit.ci.stack import failing_report, make_stack

from stablebuild.audit.finding import Finding, Severity
from stablebuild.audit.runner import AuditResult
from stablebuild.report import ci_surfaces
from stablebuild.report.format.source import Place


def test_escaping_follows_githubs_toolkit() -> None:
    assert ci_surfaces.escape_data("50% done\r\nnext") == "50%25 done%0Anext"
    assert ci_surfaces.escape_property("a:b,c%\n") == "a%3Ab%2Cc%25%0A"
    command = ci_surfaces.workflow_command(
        "error", "line one\nline two", Place("my dir/Docker,file", 3), "stablebuild SB401"
    )
    assert command == (
        "::error file=my dir/Docker%2Cfile,line=3,title=stablebuild SB401::line one%0Aline two"
    )
    assert ci_surfaces.workflow_command("info", "m", None, "t") == "::notice title=t::m"


def audit_result(tmp_path: Path) -> AuditResult:
    (tmp_path / ".git").mkdir(parents=True)
    (tmp_path / "api").mkdir()
    (tmp_path / "api" / "Dockerfile").write_text("FROM x\nUSER root\n", encoding="utf-8")
    return AuditResult(
        tmp_path,
        (
            Finding("SB701", Severity.INFO, "", None, "hadolint is not installed", ""),
            Finding("SB405", Severity.WARNING, "api/Dockerfile", 2, "runs as root", "add USER"),
            Finding("SB401", Severity.ERROR, "api/Dockerfile", 1, "FROM uses ${X}", ""),
        ),
        2,
        0.1,
    )


def test_audit_on_github_annotates_and_writes_the_summary(tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    summary.write_text("# earlier step\n", encoding="utf-8")
    out = io.StringIO()
    env = {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)}
    ci_surfaces.announce_audit(audit_result(tmp_path / "repo"), env, out)
    assert out.getvalue().splitlines() == [
        "::error file=api/Dockerfile,line=1,title=stablebuild SB401::FROM uses ${X}",
        "::warning file=api/Dockerfile,line=2,title=stablebuild SB405::"
        "runs as root%0AFix: add USER",
        "::notice title=stablebuild SB701::hadolint is not installed",
    ]
    text = summary.read_text(encoding="utf-8")
    assert text.startswith("# earlier step\n## stablebuild audit")  # appended, never replaced
    assert "`api/Dockerfile:2`" in text


def test_nothing_happens_outside_github(tmp_path: Path) -> None:
    out = io.StringIO()
    ci_surfaces.announce_audit(audit_result(tmp_path), {"CI": "true"}, out)
    ci_surfaces.announce_validate(failing_report(None), {}, out)
    assert out.getvalue() == ""


def test_validate_on_github(tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    out = io.StringIO()
    env = {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)}
    ci_surfaces.announce_validate(failing_report(make_stack(tmp_path / "repo")), env, out)
    lines = out.getvalue().splitlines()
    assert len(lines) == 7 and all(
        line.startswith("::error file=deploy/shop stack/") for line in lines
    )
    assert lines[0].startswith(
        "::error file=deploy/shop stack/stablebuild.yml,line=27,"
        "title=stablebuild api%3A imports.psycopg2::"
    )
    assert "\x1b" not in out.getvalue()
    assert "## stablebuild · shop" in summary.read_text(encoding="utf-8")


def test_unwritable_summary_is_a_warning_not_a_crash(tmp_path: Path) -> None:
    out = io.StringIO()
    env = {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(tmp_path / "no" / "such" / "file")}
    ci_surfaces.announce_audit(audit_result(tmp_path), env, out)
    assert out.getvalue().splitlines()[-1].startswith("::warning title=stablebuild::cannot append")


def test_summary_is_cut_at_githubs_limit(tmp_path: Path) -> None:
    summary = tmp_path / "s.md"
    assert (
        ci_surfaces.append_summary("é" * 2_000_000, {"GITHUB_STEP_SUMMARY": str(summary)}) is None
    )
    data = summary.read_bytes()
    assert len(data) <= ci_surfaces.SUMMARY_LIMIT + 1 and data.decode("utf-8").endswith(
        "wrote)_\n\n"
    )


def test_gitlab_sections_fold_only_on_gitlab() -> None:
    out = io.StringIO()
    with ci_surfaces.section("build api", "Building api", env={"GITLAB_CI": "true"}, out=out):
        out.write("inside\n")
    start, inside, end, _ = out.getvalue().split("\n")
    assert start.startswith("\x1b[0Ksection_start:") and start.endswith(
        ":build_api[collapsed=true]\r\x1b[0KBuilding api"
    )
    assert inside == "inside"
    assert end.startswith("\x1b[0Ksection_end:") and end.endswith(":build_api\r\x1b[0K")
    plain = io.StringIO()
    with ci_surfaces.section("x", "X", env={}, out=plain):
        plain.write("inside\n")
    assert plain.getvalue() == "inside\n"

"""The audit's output formats: table, JSON schema 1, markdown, and the CI formats (SARIF,
GitLab Code Quality, problem-matcher lines), each checked against its consumer's own schema."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from urllib.parse import unquote

import pytest
from tests.schemas.consumers import codequality_problems, sarif_problems, sarif_uris

from stablebuild.audit import hadolint
from stablebuild.audit.finding import Finding, Severity
from stablebuild.audit.format import AuditFormat, catalog, formatter
from stablebuild.audit.options import AuditOptions
from stablebuild.audit.runner import AuditResult, run_audit

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
    assert data["summary"] == {
        "error": 2,
        "warning": 2,
        "info": 1,
        "suppressed": 0,
        "baseline": 0,
        "total": 5,
    }
    assert data["errors"] == {"ci": "ValueError: boom"}
    fingerprint = data["findings"][1].pop("fingerprint")
    assert re.fullmatch(r"[0-9a-f]{32}:1", fingerprint)
    assert data["findings"][1] == {
        "rule": "SB401",
        "severity": "error",
        "file": "worker/Dockerfile",
        "line": 18,
        "message": "FROM uses ${X} | y",
        "hint": "declare it",
        "state": "active",
        "justification": "",
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


def sarif(result: AuditResult) -> dict:  # type: ignore[type-arg]
    doc = json.loads(formatter(AuditFormat.SARIF).format(result))
    assert sarif_problems(doc) == []
    return doc  # type: ignore[no-any-return]


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git work tree whose audited stack sits in a sub-folder with a space and an umlaut."""
    (tmp_path / ".git").mkdir()
    stack = tmp_path / "services" / "äpi svc"
    (stack / "worker").mkdir(parents=True)
    (stack / "worker" / "Dockerfile").write_text(
        "ARG BASE=python:3.12-slim\nFROM base-${X}\nUSER app\n", encoding="utf-8"
    )
    (stack / "requirements.txt").write_text("fastapi==0.1\n", encoding="utf-8")
    return stack


def located_result(stack: Path) -> AuditResult:
    return AuditResult(
        stack,
        (
            Finding("SB000", Severity.ERROR, "", None, "internal error in ci: boom", "report it"),
            Finding("SB401", Severity.ERROR, "worker/Dockerfile", 2, "FROM uses ${X}", "declare"),
            Finding("SB701", Severity.INFO, "", None, "hadolint is not installed", "pip install"),
            Finding("SB603", Severity.INFO, "requirements.txt", None, "skipped", ""),
            Finding("SB700:DL3008", Severity.WARNING, "worker/Dockerfile", 3, "Pin versions", ""),
        ),
        4,
        0.1,
        {"ci": "ValueError: boom"},
    )


def test_sarif_accepted_by_the_schema_and_github(repo: Path) -> None:
    doc = sarif(located_result(repo))
    [run] = doc["runs"]
    driver = run["tool"]["driver"]
    assert driver["semanticVersion"] == driver["version"]
    # Located relative to the work tree root, percent-encoded; decoded they name real files.
    assert sarif_uris(doc) == [
        "services/äpi svc/worker/Dockerfile",
        "services/äpi svc/requirements.txt",
        "services/äpi svc/worker/Dockerfile",
    ]
    uris = [r["locations"][0]["physicalLocation"]["artifactLocation"] for r in run["results"]]
    assert uris[0] == {
        "uri": "services/%C3%A4pi%20svc/worker/Dockerfile",
        "uriBaseId": "%SRCROOT%",
    }
    base = run["originalUriBaseIds"]["%SRCROOT%"]["uri"]
    assert base == repo.parents[1].as_uri() + "/"
    for uri in sarif_uris(doc):
        assert (repo.parents[1] / unquote(uri)).is_file()
    regions = [r["locations"][0]["physicalLocation"]["region"] for r in run["results"]]
    assert regions == [{"startLine": 2}, {"startLine": 1}, {"startLine": 3}]


def test_tool_problems_are_notifications_not_results(repo: Path) -> None:
    [run] = sarif(located_result(repo))["runs"]
    assert {r["ruleId"] for r in run["results"]} == {"SB401", "SB603", "SB700:DL3008"}
    [invocation] = run["invocations"]
    assert invocation["executionSuccessful"] is False  # SB000: a family did not run
    notes = invocation["toolExecutionNotifications"]
    assert [(n["descriptor"]["id"], n["level"]) for n in notes] == [
        ("SB000", "error"),
        ("SB701", "note"),
    ]
    assert "hadolint is not installed" in notes[1]["message"]["text"]
    described = [d["id"] for d in run["tool"]["driver"]["notifications"]]
    assert [described[n["descriptor"]["index"]] for n in notes] == ["SB000", "SB701"]


def test_rules_are_described_and_link_to_real_anchors(repo: Path) -> None:
    [run] = sarif(located_result(repo))["runs"]
    rules = {r["id"]: r for r in run["tool"]["driver"]["rules"]}
    sb401 = rules["SB401"]
    assert sb401["name"] == "UndeclaredFromArg"
    assert sb401["shortDescription"]["text"] == catalog.summary("SB401")
    assert sb401["fullDescription"]["text"] and sb401["help"]["markdown"]
    assert sb401["helpUri"].endswith("docs/rules/dockerfile-compose-ci.md#sb401")
    hadolint_rule = rules["SB700:DL3008"]
    assert hadolint_rule["helpUri"] == "https://github.com/hadolint/hadolint/wiki/DL3008"
    assert hadolint_rule["name"] == "HadolintDl3008"
    assert rules["SB603"]["defaultConfiguration"]["level"] == "note"


def github_anchors(page: Path) -> set[str]:
    """The anchors GitHub gives the headings of a Markdown page, and its `<a id>` anchors."""
    anchors = set(re.findall(r'<a id="([^"]+)"></a>', page.read_text(encoding="utf-8")))
    for line in page.read_text(encoding="utf-8").splitlines():
        if match := re.match(r"#{1,6} (.+)", line):
            slug = re.sub(r"[^\w\- ]", "", match.group(1).strip().lower()).replace(" ", "-")
            anchors.add(slug)
    return anchors


def test_every_rule_has_a_name_and_a_docs_anchor_that_exists() -> None:
    docs = Path(__file__).resolve().parents[3]
    for rule in catalog.RULES:
        name = catalog.name(rule)
        assert re.fullmatch(r"[A-Z][A-Za-z0-9]+", name) and name != rule
        page, _, anchor = catalog.doc_path(rule).partition("#")
        assert anchor in github_anchors(docs / page), f"{rule}: {page}#{anchor} does not exist"
        assert catalog.help_uri(rule).endswith(catalog.doc_path(rule))


def test_fingerprints_follow_content_not_line_numbers(repo: Path) -> None:
    first = sarif(located_result(repo))["runs"][0]["results"]
    dockerfile = repo / "worker" / "Dockerfile"
    dockerfile.write_text("# moved\n\n" + dockerfile.read_text(encoding="utf-8"), "utf-8")
    moved = AuditResult(
        repo,
        tuple(
            Finding(f.rule, f.severity, f.file, f.line + 2, f.message, f.hint)
            if f.file == "worker/Dockerfile" and f.line
            else f
            for f in located_result(repo).findings
        ),
        4,
        0.1,
    )
    second = sarif(moved)["runs"][0]["results"]
    assert [r["partialFingerprints"] for r in first] == [r["partialFingerprints"] for r in second]
    assert [r["locations"][0]["physicalLocation"]["region"]["startLine"] for r in second] == [
        4,
        1,
        5,
    ]
    assert len({r["partialFingerprints"]["stablebuild/v1"] for r in second}) == 3


def test_sarif_of_a_real_audit_without_hadolint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The plain `pip install` case: hadolint missing is a notification, the upload stays valid."""
    (tmp_path / ".git").mkdir()
    stack = tmp_path / "stack dir"
    shutil.copytree(
        Path(__file__).parents[2] / "fixtures" / "audit" / "dockerfile" / "reference", stack
    )
    monkeypatch.setattr(hadolint, "find_binary", lambda: None)
    result = run_audit(stack, AuditOptions(offline=True, cache_dir=tmp_path / "cache"), None)
    assert any(f.rule == "SB701" for f in result.findings)
    [run] = sarif(result)["runs"]
    assert run["results"] and all(r["ruleId"] != "SB701" for r in run["results"])
    for uri in sarif_uris({"runs": [run]}):
        assert uri.startswith("stack dir/") and (tmp_path / uri).is_file()
    notes = run["invocations"][0]["toolExecutionNotifications"]
    assert [n["descriptor"]["id"] for n in notes] == ["SB701"]


def test_codequality_for_gitlab(repo: Path) -> None:
    issues = json.loads(formatter(AuditFormat.CODEQUALITY).format(located_result(repo)))
    assert codequality_problems(issues) == []
    assert [(i["check_name"], i["severity"]) for i in issues] == [
        ("SB401", "major"),
        ("SB603", "info"),
        ("SB700:DL3008", "minor"),
    ]
    assert issues[0]["location"] == {
        "path": "services/äpi svc/worker/Dockerfile",
        "lines": {"begin": 2},
    }
    assert issues[0]["description"] == "FROM uses ${X} Fix: declare"


def test_github_lines_match_the_problem_matcher(repo: Path) -> None:
    matcher = json.loads(
        (
            Path(__file__).resolve().parents[3] / "ci" / "github" / "stablebuild-matcher.json"
        ).read_text(encoding="utf-8")
    )
    [pattern] = matcher["problemMatcher"][0]["pattern"]
    regexp = re.compile(pattern["regexp"])
    lines = formatter(AuditFormat.GITHUB).format(located_result(repo)).splitlines()
    assert lines[0] == "stablebuild: error SB000 internal error in ci: boom (fix: report it)"
    assert (
        lines[1]
        == "services/äpi svc/worker/Dockerfile:2: error SB401 FROM uses ${X} (fix: declare)"
    )
    matched = [m for line in lines if (m := regexp.match(line))]
    assert [
        (m.group(pattern["file"]), m.group(pattern["line"]), m.group(pattern["severity"]))
        for m in matched
    ] == [
        ("services/äpi svc/worker/Dockerfile", "2", "error"),
        ("services/äpi svc/worker/Dockerfile", "3", "warning"),
    ]

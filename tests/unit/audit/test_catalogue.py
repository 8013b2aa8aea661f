"""The rule catalogue: each rule declared once next to its code, and everything reads that one
declaration — the source, the docs pages (generated, anchored), SARIF, Markdown, `--explain`."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from stablebuild.audit import catalog, hadolint, project, rules_doc, wheels
from stablebuild.audit.finding import Finding, Severity
from stablebuild.audit.format import AuditFormat, formatter
from stablebuild.audit.format import catalog as format_catalog
from stablebuild.audit.rule import Rule
from stablebuild.audit.runner import AuditResult
from stablebuild.cli import app

ROOT = Path(__file__).resolve().parents[3]
SRC = ROOT / "src" / "stablebuild"
ID = re.compile(r"\bSB\d{3}\b")


def _modules() -> dict[Path, ast.Module]:
    return {path: ast.parse(path.read_text(encoding="utf-8")) for path in SRC.rglob("*.py")}


def _declarations() -> list[tuple[Path, str, str]]:
    """(module, constant name, id) of every `NAME = Rule("SBnnn", ...)` in the source."""
    found = []
    for path, tree in _modules().items():
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Assign) and isinstance(node.value, ast.Call)):
                continue
            func = node.value.func
            called = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
            if called not in ("Rule", "RuleDeclaration") or not node.value.args:
                continue
            first = node.value.args[0]
            assert isinstance(first, ast.Constant), f"{path}: a rule id must be a literal"
            [target] = node.targets
            assert isinstance(target, ast.Name)
            found.append((path, target.id, str(first.value)))
    return found


def test_every_rule_is_declared_once_and_the_catalogue_is_exactly_those() -> None:
    declared = _declarations()
    ids = [rule_id for _, _, rule_id in declared]
    assert len(ids) == len(set(ids)), "an id declared twice"
    assert sorted(ids) == list(catalog.rules()), "declared in a module the catalogue misses"
    for path, constant, rule_id in declared:
        assert constant == rule_id, f"{path}: {rule_id} bound to {constant}"
    assert len(catalog.rules()) >= 50
    assert list(catalog.rules()) == sorted(catalog.rules())


def test_findings_are_created_from_the_declarations_not_from_literals() -> None:
    """No finding is made from a bare `"SB301"` (nor `f"SB700:{code}"`), only from a
    declaration; every declaration is used, and every id the source mentions (messages,
    comments, docstrings) is a real rule."""
    declared = {name for _, name, _ in _declarations()}
    used: set[str] = set()
    for path, tree in _modules().items():
        where = path.relative_to(ROOT)
        for node in ast.walk(tree):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
                used.add(node.id)
            elif isinstance(node, ast.Attribute):
                used.add(node.attr)
            elif isinstance(node, ast.Call) and node.args:
                func = node.func
                called = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
                first = node.args[0]
                makes_finding = called == "_f" or "finding" in called.lower()
                if makes_finding and isinstance(first, ast.Constant):
                    assert not re.fullmatch(r"SB\d{3}(:.*)?", str(first.value)), (
                        f"{where}:{node.lineno}: {called}({first.value!r}, ...): "
                        "make findings from the rule's declaration"
                    )
            elif isinstance(node, ast.JoinedStr):
                for part in node.values:
                    if isinstance(part, ast.Constant):
                        assert not re.search(r"\bSB\d{3}:", str(part.value)), (
                            f"{where}:{node.lineno}: a delegated id built from a literal"
                        )
        mentioned = set(ID.findall(path.read_text(encoding="utf-8")))
        assert mentioned <= set(catalog.rules()), f"{where}: {mentioned - set(catalog.rules())}"
    assert declared <= used, f"declared but never used: {sorted(declared - used)}"


def test_each_declaration_is_complete_and_well_formed() -> None:
    names = set()
    for rule in catalog.rules().values():
        assert re.fullmatch(r"SB\d{3}", rule.id)
        assert re.fullmatch(r"[A-Z][a-z0-9]+(?:[A-Z][a-z0-9]+)+|[A-Z][a-z]+", rule.name), rule.name
        assert rule.name not in names
        names.add(rule.name)
        assert "\n" not in rule.summary and not rule.summary.endswith(".")
        assert len(rule.summary) <= 100, rule.id
        assert len(rule.description) > len(rule.summary), rule.id
        assert rule.fix and "\n" not in rule.fix, rule.id
        assert isinstance(rule.severity, Severity)


def test_a_finding_takes_the_declared_severity_and_fix_unless_the_rule_says_otherwise() -> None:
    rule = wheels.SB301
    default = rule.finding("requirements.txt", 3, "numpy has no wheel")
    assert default == Finding(
        "SB301", Severity.ERROR, "requirements.txt", 3, "numpy has no wheel", rule.fix
    )
    lowered = rule.finding("r.txt", 1, "aarch64 only", "upgrade numpy", Severity.WARNING)
    assert (lowered.severity, lowered.hint) == (Severity.WARNING, "upgrade numpy")
    # a family's module constant, the registry and the delegated id all mean the same object
    assert catalog.get("SB700:DL3008") is hadolint.SB700 is catalog.find("sb700")
    assert project.UNREADABLE_RULES[project.Why.OUTSIDE] is catalog.rules()["SB002"]


def _anchors(page: Path) -> list[str]:
    return re.findall(r'<a id="(sb\d{3})"></a>', page.read_text(encoding="utf-8"))


def test_every_rule_has_its_own_heading_and_anchor_on_its_family_page() -> None:
    anchors: list[str] = []
    for page in sorted((ROOT / "docs" / "rules").glob("*.md")):
        text = page.read_text(encoding="utf-8")
        for anchor in _anchors(page):
            rule = catalog.rules()[anchor.upper()]
            assert rule.doc_path == f"docs/rules/{page.name}#{anchor}"
            heading = f'<a id="{anchor}"></a>\n### {rule.id} — '
            assert heading in text, f"{page.name}: no heading for {rule.id}"
        anchors += _anchors(page)
    assert sorted(anchors) == [r.lower() for r in catalog.rules()], "anchor missing or twice"
    index = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    for rule in catalog.rules().values():
        assert f"[{rule.id}]({rule.doc_path.removeprefix('docs/')})" in index


def test_the_committed_docs_are_the_generated_ones() -> None:
    """Fails when a declaration changed and `scripts/gen-rules-doc.py` was not run."""
    pages = rules_doc.expected(ROOT)
    assert {p.relative_to(ROOT).as_posix() for p in pages} == {
        "docs/rules.md",
        "docs/rules/dockerfile-compose-ci.md",
        "docs/rules/python-and-pins.md",
    }
    for page, text in pages.items():
        assert page.read_text(encoding="utf-8") == text, (
            f"{page.relative_to(ROOT)} is stale: run scripts/gen-rules-doc.py"
        )


def test_the_generator_rewrites_a_stale_page_and_check_mode_says_so(tmp_path: Path) -> None:
    (tmp_path / "docs" / "rules").mkdir(parents=True)
    for page in ("rules.md", "rules/python-and-pins.md", "rules/dockerfile-compose-ci.md"):
        (tmp_path / "docs" / page).write_text(
            (ROOT / "docs" / page).read_text(encoding="utf-8"), encoding="utf-8"
        )
    stale = tmp_path / "docs" / "rules" / "python-and-pins.md"
    text = stale.read_text(encoding="utf-8")
    stale.write_text(text.replace("### SB301 — ", "### SB301 — edited by hand "), "utf-8")
    assert rules_doc.main(["--root", str(tmp_path), "--check"]) == 1
    assert "edited by hand" in stale.read_text(encoding="utf-8")  # --check writes nothing
    assert rules_doc.main(["--root", str(tmp_path)]) == 0
    assert stale.read_text(encoding="utf-8") == text
    assert rules_doc.main(["--root", str(tmp_path), "--check"]) == 0


def test_a_rule_without_a_docs_region_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "docs" / "rules").mkdir(parents=True)
    (tmp_path / "docs" / "rules.md").write_text("<!-- rules index: -->\n<!-- /rules -->\n")
    (tmp_path / "docs" / "rules" / "x.md").write_text("<!-- rules SB4: -->\n<!-- /rules -->\n")
    with pytest.raises(ValueError, match="no docs region for SB000"):
        rules_doc.expected(tmp_path)


def _result(*findings: Finding) -> AuditResult:
    return AuditResult(ROOT, tuple(findings), 3, 0.1)


def test_sarif_rules_are_read_from_the_declaration() -> None:
    inferred = wheels.SB301.finding("requirements.txt", 2, "aarch64 only", "x", Severity.WARNING)
    lint = Finding("SB700:DL3008", Severity.WARNING, "Dockerfile", 3, "Pin versions", "")
    doc = json.loads(formatter(AuditFormat.SARIF).format(_result(inferred, lint)))
    rules = {r["id"]: r for r in doc["runs"][0]["tool"]["driver"]["rules"]}
    sb301 = rules["SB301"]
    assert sb301["name"] == "NoWheelSourceBuild"
    assert sb301["shortDescription"]["text"] == wheels.SB301.summary
    assert sb301["fullDescription"]["text"] == wheels.SB301.description
    assert wheels.SB301.fix in sb301["help"]["text"] and "**Fix:**" in sb301["help"]["markdown"]
    assert sb301["helpUri"].endswith("docs/rules/python-and-pins.md#sb301")
    assert sb301["defaultConfiguration"]["level"] == "error"  # the rule's, not this finding's
    assert rules["SB700:DL3008"]["helpUri"] == "https://github.com/hadolint/hadolint/wiki/DL3008"
    assert rules["SB700:DL3008"]["defaultConfiguration"]["level"] == "warning"


def test_a_long_description_is_cut_after_a_sentence_in_sarif() -> None:
    from stablebuild.audit.format.sarif import _clip

    sentences = "A rule that says a great deal about itself. " * 40
    clipped = _clip(sentences)
    assert len(clipped) <= 1000 and clipped.endswith("itself.")
    assert _clip("x" * 1200).endswith("…") and len(_clip("x" * 1200)) == 1000
    assert all(_clip(r.description) == r.description for r in catalog.rules().values())


def test_the_old_catalogue_functions_read_the_declarations() -> None:
    assert {r.id: r.summary for r in catalog.rules().values()} == format_catalog.RULES
    assert format_catalog.summary("SB700:DL3008") == hadolint.SB700.summary
    assert format_catalog.name("SB700:SC2086") == "HadolintSc2086"
    assert format_catalog.anchor("SB401") == "docs/rules/dockerfile-compose-ci.md#sb401"
    assert format_catalog.full_description("SB401") == catalog.rules()["SB401"].description
    assert format_catalog.help_uri("SB700:SC2086") == "https://www.shellcheck.net/wiki/SC2086"


def test_markdown_links_each_rule_to_its_documentation() -> None:
    finding = wheels.SB303.finding("requirements.txt", 4, "fastapi==0.0.0: no such version")
    text = formatter(AuditFormat.MARKDOWN).format(_result(finding))
    assert "| [SB303](https://" in text and "docs/rules/python-and-pins.md#sb303) |" in text


# -- stablebuild audit --explain ---------------------------------------------------------------


def test_explain_prints_the_whole_declaration() -> None:
    result = CliRunner().invoke(app, ["audit", "--explain", "SB301"])
    assert result.exit_code == 0, result.output
    rule = wheels.SB301
    out = " ".join(result.stdout.split())
    assert result.stdout.startswith(f"SB301 — {rule.summary}\n")
    assert "name: NoWheelSourceBuild" in out and "severity: error" in out
    assert " ".join(rule.description.replace("**", "").split()) in out
    assert f"Fix: {' '.join(rule.fix.split())}" in out
    assert "Docs: https://" in out and "python-and-pins.md#sb301" in out


@pytest.mark.parametrize("asked", ["sb301", "301", "NoWheelSourceBuild"])
def test_explain_takes_an_id_in_any_case_or_a_name(asked: str) -> None:
    result = CliRunner().invoke(app, ["audit", "--explain", asked])
    assert result.exit_code == 0 and result.stdout.startswith("SB301 — ")


def test_explain_a_delegated_code_links_hadolint_too() -> None:
    result = CliRunner().invoke(app, ["audit", "--explain", "SB700:DL3008"])
    assert result.exit_code == 0
    assert result.stdout.startswith("SB700 — ")
    assert "DL3008: https://github.com/hadolint/hadolint/wiki/DL3008" in result.stdout


def test_explain_runs_before_anything_else_is_checked(tmp_path: Path) -> None:
    """No audit, no manifest: a folder that does not exist is not even looked at."""
    result = CliRunner().invoke(app, ["audit", str(tmp_path / "nope"), "--explain", "SB401"])
    assert result.exit_code == 0 and result.stdout.startswith("SB401 — ")


@pytest.mark.parametrize(
    ("asked", "meant"),
    [("SB3O1", "did you mean SB301?"), ("NoWheelSourceBuld", "did you mean SB301?")],
)
def test_an_unknown_rule_is_exit_2_with_a_suggestion(asked: str, meant: str) -> None:
    result = CliRunner().invoke(app, ["audit", "--explain", asked])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert f"error: --explain {asked}: no such rule" in result.stderr
    assert meant in result.stderr and "Traceback" not in result.output


def test_an_id_nothing_resembles_still_says_what_ids_look_like() -> None:
    result = CliRunner().invoke(app, ["audit", "--explain", "lint"])
    assert result.exit_code == 2
    assert "hint: rule ids look like SB301 (docs/rules.md lists them all)" in result.stderr


def test_rule_is_a_declaration_compared_by_identity() -> None:
    twin = Rule("SB301", "NoWheelSourceBuild", Severity.ERROR, "s", "d", "f")
    assert twin != wheels.SB301 and {wheels.SB301: 1}[catalog.rules()["SB301"]] == 1

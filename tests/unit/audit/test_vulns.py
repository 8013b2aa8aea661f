"""SB6xx: known-vulnerable pins from a local database in safety-db's insecure_full.json format.

The OSV readers, severities and `vulndb update` are tested in test_vulndb.py."""

from __future__ import annotations

from pathlib import Path

from stablebuild.audit import vulns
from stablebuild.audit.finding import Severity
from stablebuild.audit.options import AuditOptions
from stablebuild.audit.project import Project
from stablebuild.audit.vulndb import SafetyDatabase, open_database
from stablebuild.audit.vulndb.safetydb import split_v
from stablebuild.manifest.model import AuditSpec, Manifest

FIXTURES = Path(__file__).parents[2] / "fixtures" / "audit" / "vulns"
DB = FIXTURES / "insecure_full.json"


def test_vulnerable_pins_are_found_with_specs_and_old_v_entries() -> None:
    project = Project.discover(FIXTURES / "repo")
    findings = vulns.run(project, AuditOptions(vuln_db=DB))
    assert sorted((f.rule, f.line) for f in findings) == [("SB601", 1), ("SB601", 3)]
    django = next(f for f in findings if f.line == 1)
    assert "CVE-2021-33203" in django.message and "pyup.io-40637" in django.message
    # safety-db rates nothing: a known vulnerability is an error, the fix names the release
    assert django.severity is Severity.ERROR and django.file == "requirements.txt"
    assert django.hint.startswith("upgrade django to 3.2.4 or later")
    assert ">=3.2a1,<3.2.4" in django.hint
    jinja = next(f for f in findings if f.line == 3)
    assert "SandboxedEnvironment" in jinja.message  # the older `changelog` field
    # an entry with neither id nor CVE: no empty "()" in the message
    assert "()" not in jinja.message and "vulnerability: " in jinja.message
    assert "2.10.1" in jinja.hint


def test_database_from_the_manifest() -> None:
    root = FIXTURES / "repo"
    manifest = Manifest(
        path=root / "stablebuild.yml",
        root=root,
        name="svc",
        python=None,
        python_source="stablebuild.yml",
        audit=AuditSpec(vuln_db=DB),
    )
    findings = vulns.run(Project.discover(root, manifest), AuditOptions())
    assert len(findings) == 2


def test_no_database_is_an_info_not_a_silent_pass() -> None:
    [skipped] = vulns.run(Project.discover(FIXTURES / "repo"), AuditOptions())
    assert (skipped.rule, skipped.severity) == ("SB603", Severity.INFO)


def test_unreadable_database_and_offline_online_are_warnings(tmp_path: Path) -> None:
    project = Project.discover(FIXTURES / "repo")
    bad = tmp_path / "db.json"
    bad.write_text("{not json")
    [broken] = vulns.run(project, AuditOptions(vuln_db=bad))
    assert (broken.rule, broken.severity) == ("SB602", Severity.WARNING)
    options = AuditOptions(online_vulns=True, offline=True, cache_dir=tmp_path)
    [offline] = vulns.run(project, options)
    assert offline.rule == "SB602" and "offline" in offline.message


def test_database_parses_lazily_and_splits_old_ranges() -> None:
    db = open_database(DB)
    assert isinstance(db, SafetyDatabase) and db.kind == "safety-db"
    assert [a.id for a, _ in db.affecting("django", "3.2.0")] == ["pyup.io-40637"]
    assert db.affecting("Django", "3.2.4") == []
    [(requests, found)] = db.affecting("requests", "2.30.0")
    assert requests.aliases == ("CVE-2023-32681",) and found.fixed_in is not None
    assert split_v("<1.0.4,>=1.1,<1.1.1") == ["<1.0.4", ">=1.1,<1.1.1"]

"""Vulnerability databases read offline (OSV: the PyPA advisory database layout and OSV JSON
exports, as a folder, a zip or one file), the severity of a vulnerable pin, and
`stablebuild vulndb update` against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import functools
import json
import re
import shutil
import socket
import threading
import zipfile
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from typer.testing import CliRunner

from stablebuild.audit import vulns
from stablebuild.audit.finding import Finding, Severity
from stablebuild.audit.options import AuditOptions
from stablebuild.audit.project import Project
from stablebuild.audit.runner import run_audit
from stablebuild.audit.vulndb import OsvDatabase, VulnDbError, open_database
from stablebuild.audit.vulndb.cvss import base_score, rating
from stablebuild.audit.vulndb.update import cached, update
from stablebuild.cli import app

FIXTURES = Path(__file__).parents[2] / "fixtures" / "audit" / "osv"
PYPA = FIXTURES / "pypa"
EXPORT = FIXTURES / "export"

PINS = """\
django==3.2.0
requests==2.31.0
leftpad-py==1.2
jinja2==2.10
withdrawn-pkg==1.0
urllib3==1.26.5
pillow==9.5.0
flask==3.0.0
"""


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    (root / "requirements.txt").write_text(PINS)
    return root


def check(root: Path, database: Path, **extra: object) -> dict[str, Finding]:
    """SB6xx findings by package name (the message's first word)."""
    options = AuditOptions(vuln_db=database, **extra)  # type: ignore[arg-type]
    found = vulns.run(Project.discover(root), options)
    return {re.split(r"==| ", f.message)[0]: f for f in found}


def test_pypa_layout(repo: Path) -> None:
    found = check(repo, PYPA)
    assert set(found) == {"django", "requests", "leftpad-py", "jinja2"}
    django = found["django"]
    assert (django.rule, django.severity, django.line) == ("SB601", Severity.ERROR, 1)
    assert django.message.startswith(
        "django==3.2.0 has a known vulnerability (PYSEC-2021-98, CVE-2021-33203, "
        "GHSA-68w8-qjq3-2gfm): Django before 2.2.24"
    )
    assert django.hint == "upgrade django to 3.2.4 or later (affected: >=3.2,<3.2.4)"
    # the advisory's own word, MODERATE: still an error; the range ends at last_affected
    requests = found["requests"]
    assert requests.severity is Severity.ERROR and "medium-severity" in requests.message
    assert requests.hint == "upgrade requests past 2.31.0 (affected: <=2.31.0)"
    # rated low by its CVSS vector: a warning; the fix read as the string '1.10', not 1.1
    leftpad = found["leftpad-py"]
    assert leftpad.severity is Severity.WARNING and "low-severity" in leftpad.message
    assert leftpad.hint.startswith("upgrade leftpad-py to 1.10 or later")
    # a GIT range only: the versions list decides; no fixed release to name
    assert found["jinja2"].hint.startswith("no fixed release is known (affected: ==2.10)")


def test_osv_json_export(repo: Path) -> None:
    found = check(repo, EXPORT)
    assert set(found) == {"urllib3", "pillow"}  # the npm entry of the same advisory: not PyPI
    assert "medium-severity vulnerability (PYSEC-2023-212, CVE-2023-45803" in (
        found["urllib3"].message
    )
    assert found["urllib3"].hint.startswith("upgrade urllib3 to 1.26.18 or later")
    assert "critical-severity" in found["pillow"].message


def test_zips_in_both_layouts_and_single_files(repo: Path, tmp_path: Path) -> None:
    github = tmp_path / "advisory-database-main.zip"  # GitHub's zip: everything under one folder
    with zipfile.ZipFile(github, "w") as archive:
        for path in sorted(PYPA.rglob("*.yaml")):
            archive.write(path, f"advisory-database-main/{path.relative_to(PYPA).as_posix()}")
        archive.writestr("advisory-database-main/README.md", "# PyPA advisory database")
    assert set(check(repo, github)) == {"django", "requests", "leftpad-py", "jinja2"}
    export = tmp_path / "all.zip"  # osv.dev's PyPI/all.zip: flat JSON
    with zipfile.ZipFile(export, "w") as archive:
        for path in EXPORT.glob("*.json"):
            archive.write(path, path.name)
    assert set(check(repo, export)) == {"urllib3", "pillow"}
    assert set(check(repo, PYPA / "vulns" / "django" / "PYSEC-2021-98.yaml")) == {"django"}
    assert set(check(repo, EXPORT / "PYSEC-2023-212.json")) == {"urllib3"}
    db = open_database(github)
    assert isinstance(db, OsvDatabase) and db.count() == 6
    assert db.packages() == ["django", "jinja2", "leftpad-py", "requests", "withdrawn-pkg"]


def test_levels_from_audit_rules(repo: Path, tmp_path: Path) -> None:
    options = AuditOptions(
        vuln_db=PYPA,
        offline=True,
        cache_dir=tmp_path / "cache",
        hadolint=False,
        rules=(("SB601", "warning"),),
    )
    found = [f for f in run_audit(repo, options, None).findings if f.rule == "SB601"]
    assert len(found) == 4 and {f.severity for f in found} == {Severity.WARNING}
    off = run_audit(repo, AuditOptions(**{**options.__dict__, "rules": (("SB601", "off"),)}), None)
    assert not [f for f in off.findings if f.rule == "SB601"]


def test_a_damaged_advisory_costs_its_package_only(repo: Path, tmp_path: Path) -> None:
    copy = tmp_path / "db"
    shutil.copytree(PYPA, copy)
    (copy / "vulns" / "django" / "PYSEC-2099-9.yaml").write_text("id: [unclosed\n")
    found = check(repo, copy)
    assert found["django"].rule == "SB602"
    assert "django not checked: cannot read advisory" in found["django"].message
    assert {f.rule for name, f in found.items() if name != "django"} == {"SB601"}


def test_an_empty_or_foreign_database_is_said(repo: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    [problem] = check(repo, empty).values()
    assert problem.rule == "SB602" and "no OSV advisories" in problem.message
    other = tmp_path / "other.json"
    other.write_text('["not", "a", "database"]')
    [problem] = check(repo, other).values()
    assert "neither an OSV advisory nor safety-db's insecure_full.json" in problem.message
    with pytest.raises(VulnDbError, match="cannot read vulnerability database"):
        open_database(tmp_path / "missing")


def test_cvss_v3_scores_and_ratings() -> None:
    assert base_score("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H") == 9.8
    assert base_score("CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:H/I:H/A:H") == 9.9
    assert base_score("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N") == 6.1
    assert base_score("CVSS:3.0/AV:L/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N") == 1.8
    assert base_score("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N") == 0.0
    assert base_score("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H") is None
    assert [rating(s) for s in (0.0, 3.9, 4.0, 8.9, 9.0)] == [
        "none", "low", "medium", "high", "critical"
    ]  # fmt: skip


# -- fetching the PyPA advisory database ---------------------------------------------------------


@pytest.fixture
def github(tmp_path: Path) -> Iterator[str]:
    """A web server on 127.0.0.1 holding a zip shaped like GitHub's of the advisory database."""
    site = tmp_path / "site"
    site.mkdir()
    with zipfile.ZipFile(site / "main.zip", "w") as archive:
        for path in sorted(PYPA.rglob("*.yaml")):
            archive.write(path, f"advisory-database-main/{path.relative_to(PYPA).as_posix()}")
        archive.writestr("advisory-database-main/vulns/../../escape.yaml", "id: x\n")
    with zipfile.ZipFile(site / "other.zip", "w") as archive:
        archive.writestr("project-main/README.md", "# not advisories\n")
    handler = functools.partial(QuietHandler, directory=str(site))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        return


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_update_unpacks_the_advisories(github: str, tmp_path: Path, repo: Path) -> None:
    folder = tmp_path / "vulndb"
    done = update(folder, f"{github}/main.zip", timeout=10, clock=lambda: 1000.0)
    assert (done.advisories, done.packages) == (6, 5)
    assert sorted(p.name for p in (folder / "vulns").iterdir()) == [
        "django", "jinja2", "leftpad-py", "requests", "withdrawn-pkg"
    ]  # fmt: skip
    assert not (tmp_path / "escape.yaml").exists() and not list(folder.glob(".*"))
    assert json.loads((folder / "SOURCE.json").read_text())["fetched_at"] == 1000.0
    assert set(check(repo, folder)) == {"django", "requests", "leftpad-py", "jinja2"}
    # again: the new copy replaces the old one whole
    (folder / "vulns" / "stale-pkg").mkdir()
    update(folder, f"{github}/main.zip", timeout=10)
    assert not (folder / "vulns" / "stale-pkg").exists()
    with pytest.raises(VulnDbError, match="not the PyPA advisory database"):
        update(folder, f"{github}/other.zip", timeout=10)
    assert (folder / "vulns" / "django").is_dir()  # a failed update keeps the copy


def test_cli_update_and_offline(github: str, tmp_path: Path) -> None:
    folder = tmp_path / "db"
    ok = CliRunner().invoke(app, ["vulndb", "update", str(folder), "--url", f"{github}/main.zip"])
    assert ok.exit_code == 0, ok.output
    assert ok.stdout.startswith("6 advisories for 5 packages from ") and "--vuln-db" in ok.stdout
    shown = CliRunner().invoke(app, ["vulndb", "show", str(folder), "--package", "Django"])
    assert shown.exit_code == 0
    assert "OSV database, advisories for 5 packages" in shown.stdout
    assert "PYSEC-2021-98, CVE-2021-33203" in shown.stdout
    gone = tmp_path / "never"
    url = f"http://127.0.0.1:{closed_port()}/main.zip"
    offline = CliRunner().invoke(app, ["vulndb", "update", str(gone), "--url", url])
    assert offline.exit_code == 3
    [line] = offline.stderr.splitlines()
    assert line.startswith("error: cannot fetch the advisory database: 127.0.0.1:")
    assert "unreachable" in line
    assert "Traceback" not in offline.output and not gone.exists()


def test_online_vulns_uses_a_fresh_copy_and_falls_back_on_an_old_one(
    github: str, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    with pytest.raises(VulnDbError, match="offline and no cached copy"):
        cached(cache, offline=True, timeout=5, url=f"{github}/main.zip")
    now = [1000.0]
    folder = cached(cache, offline=False, timeout=5, url=f"{github}/main.zip", clock=lambda: now[0])
    assert (folder / "vulns" / "django").is_dir()
    dead = f"http://127.0.0.1:{closed_port()}/main.zip"
    now[0] += 3600  # fresh: no fetch at all
    assert cached(cache, offline=False, timeout=5, url=dead, clock=lambda: now[0]) == folder
    now[0] += 7 * 24 * 3600  # old, and the network is gone: the old copy still serves
    assert cached(cache, offline=False, timeout=5, url=dead, clock=lambda: now[0]) == folder


def test_online_vulns_in_an_audit(repo: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    shutil.copytree(PYPA / "vulns", cache / "vulndb" / "pypa" / "vulns")
    options = AuditOptions(online_vulns=True, offline=True, cache_dir=cache)
    found = vulns.run(Project.discover(repo), options)
    assert {f.message.split("==")[0] for f in found} == {
        "django",
        "requests",
        "leftpad-py",
        "jinja2",
    }

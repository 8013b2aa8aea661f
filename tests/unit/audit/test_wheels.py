"""SB3xx: wheel coverage decided from index answers (fakes here; one test asks the real index)."""

from __future__ import annotations

import shutil
import urllib.request
from pathlib import Path

import pytest

from stablebuild.audit import wheels
from stablebuild.audit.finding import Finding, Severity
from stablebuild.audit.index import (
    DistFile,
    IndexUnavailable,
    ProjectPage,
    SimpleIndex,
    parse_page,
)
from stablebuild.audit.options import AuditOptions
from stablebuild.audit.project import Project

FIXTURES = Path(__file__).parents[2] / "fixtures" / "audit" / "wheels"
ML = "manylinux_2_17_x86_64.manylinux2014_x86_64"


def _psycopg_files() -> list[str]:
    files = ["psycopg2-binary-2.9.9.tar.gz", "psycopg2-binary-2.9.10.tar.gz"]
    files += [f"psycopg2_binary-2.9.9-cp3{m}-cp3{m}-{ML}.whl" for m in range(7, 13)]
    files += [f"psycopg2_binary-2.9.10-cp3{m}-cp3{m}-{ML}.whl" for m in range(8, 14)]
    return files


PAGES: dict[str, list[str]] = {
    "psycopg2-binary": _psycopg_files(),
    "requests": ["requests-2.32.3-py3-none-any.whl", "requests-2.32.3.tar.gz"],
    "numpy": ["numpy-1.26.4-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"],
    "leftpad": ["leftpad-0.1.tar.gz"],
}


def fake_fetch(name: str) -> ProjectPage:
    if name not in PAGES:
        return ProjectPage(name, (), found=False)
    return ProjectPage(name, tuple(DistFile(f) for f in PAGES[name]))


def _repo(tmp_path: Path, python: str, fixture: str = "psycopg") -> Project:
    root = tmp_path / "repo"
    shutil.copytree(FIXTURES / fixture, root)
    (root / ".python-version").write_text(f"{python}\n")
    return Project.discover(root)


def _options(tmp_path: Path, **kw: object) -> AuditOptions:
    return AuditOptions(cache_dir=tmp_path / "cache", **kw)  # type: ignore[arg-type]


def _rules(findings: list[Finding]) -> list[tuple[str, str, int | None]]:
    return sorted((f.rule, f.file, f.line) for f in findings)


def test_headline_psycopg2_binary_on_313_is_flagged(tmp_path: Path) -> None:
    findings = wheels.run(_repo(tmp_path, "3.13.5"), _options(tmp_path), fake_fetch)
    [psycopg] = [f for f in findings if f.rule == "SB301"]
    assert psycopg.severity is Severity.ERROR and (psycopg.file, psycopg.line) == (
        "requirements.txt",
        1,
    )
    assert psycopg.message == (
        "psycopg2-binary==2.9.9 has no wheel for CPython 3.13 on manylinux_2_17_x86_64: "
        "pip will build it from source and needs pg_config (libpq-dev) and gcc"
    )
    assert "psycopg2-binary==2.9.10 has wheels" in psycopg.hint
    # numpy's marker excludes 3.13; requests is pure Python; leftpad only has an sdist
    assert _rules(findings) == [("SB301", "requirements.txt", 1), ("SB302", "requirements.txt", 4)]


def test_same_repo_on_312_is_clean_except_sdist_only(tmp_path: Path) -> None:
    findings = wheels.run(_repo(tmp_path, "3.12.7"), _options(tmp_path), fake_fetch)
    assert _rules(findings) == [("SB302", "requirements.txt", 4)]


def test_extra_targets_and_platforms(tmp_path: Path) -> None:
    options = _options(tmp_path, python_targets=("3.13",), platforms=("manylinux_2_28_aarch64",))
    findings = wheels.run(_repo(tmp_path, "3.12.7"), options, fake_fetch)
    psycopg = next(f for f in findings if f.rule == "SB301")
    assert "CPython 3.12, 3.13 on manylinux_2_28_aarch64" in psycopg.message
    numpy = next(f for f in findings if f.rule == "SB304")  # wheel for x86_64 only, no sdist
    assert numpy.line == 3


def test_version_missing_yanked_and_requires_python(tmp_path: Path) -> None:
    pages = {
        "psycopg2-binary": ProjectPage("psycopg2-binary", ()),
        "requests": ProjectPage(
            "requests",
            (DistFile("requests-2.32.3-py3-none-any.whl", yanked=True, yanked_reason="broken"),),
        ),
        "numpy": ProjectPage(
            "numpy",
            (DistFile("numpy-1.26.4-cp312-cp312-manylinux2014_x86_64.whl", ">=3.13"),),
        ),
    }
    findings = wheels.run(
        _repo(tmp_path, "3.12.7"), _options(tmp_path), lambda n: pages.get(n, fake_fetch(n))
    )
    by_rule = {f.rule: f for f in findings}
    assert "No matching distribution" in by_rule["SB303"].message
    assert "yanked" in by_rule["SB305"].message and "broken" in by_rule["SB305"].message
    assert "require Python >=3.13" in by_rule["SB304"].message


def test_offline_cache_miss_is_a_warning_never_a_pass(tmp_path: Path) -> None:
    def no_network(name: str) -> ProjectPage:
        raise AssertionError("offline must not fetch")

    findings = wheels.run(_repo(tmp_path, "3.13.5"), _options(tmp_path, offline=True), no_network)
    assert {f.rule for f in findings} == {"SB306"}
    assert len(findings) == 4 and "no cached index answer" in findings[0].message


def test_offline_uses_the_cache_written_online(tmp_path: Path) -> None:
    project = _repo(tmp_path, "3.13.5")
    online = wheels.run(project, _options(tmp_path), fake_fetch)
    offline = wheels.run(project, _options(tmp_path, offline=True), None)
    assert _rules(online) == _rules(offline)
    index = SimpleIndex.from_options(_options(tmp_path))
    assert index.cache_path("psycopg2-binary").is_file()


def test_network_failure_is_a_warning_and_stops_early(tmp_path: Path) -> None:
    calls: list[str] = []

    def down(name: str) -> ProjectPage:
        calls.append(name)
        raise IndexUnavailable("pypi.org unreachable: timed out", unreachable=True)

    index = SimpleIndex(
        "https://pypi.org/simple", tmp_path, fetch=down, timeout=0.1
    )  # one worker would make this exact; with a pool a few may start
    answers = index.lookup([f"p{i}" for i in range(200)])
    assert all(a.page is None and "unreachable" in (a.problem or "") for a in answers.values())
    assert len(calls) < 50
    findings = wheels.run(_repo(tmp_path, "3.13.5"), _options(tmp_path), down)
    assert {(f.rule, f.severity) for f in findings} == {("SB306", Severity.WARNING)}


def test_stale_cache_is_used_when_the_index_is_down(tmp_path: Path) -> None:
    project = _repo(tmp_path, "3.13.5")
    wheels.run(project, _options(tmp_path), fake_fetch)
    index = SimpleIndex.from_options(_options(tmp_path))
    for name in PAGES:
        page = index.read_cache(name)
        assert page is not None
        index.write_cache(ProjectPage(page.name, page.files, page.found, fetched_at=1.0))

    def down(name: str) -> ProjectPage:
        raise IndexUnavailable("unreachable", unreachable=True)

    findings = wheels.run(project, _options(tmp_path), down)
    assert {f.rule for f in findings} == {"SB301", "SB302", "SB307"}


def test_installed_files_decide_which_pins_matter(tmp_path: Path) -> None:
    findings = wheels.run(_repo(tmp_path, "3.13.5", "installed"), _options(tmp_path), fake_fetch)
    assert findings == []  # requirements-old.txt is not installed by the Dockerfile


def test_manylinux_2_17_accepts_older_policies() -> None:
    tags = wheels.platform_tags("manylinux_2_17_x86_64")
    assert {"manylinux2014_x86_64", "manylinux2010_x86_64", "manylinux1_x86_64"} <= set(tags)
    assert "manylinux_2_28_x86_64" not in tags and "linux_x86_64" not in tags
    assert wheels.platform_tags("manylinux2014_aarch64")[0] == "manylinux_2_17_aarch64"
    assert wheels.platform_tags("musllinux_1_2_x86_64") == [
        "musllinux_1_2_x86_64",
        "musllinux_1_1_x86_64",
        "musllinux_1_0_x86_64",
    ]
    accepted = wheels.tag_set((3, 13), "manylinux_2_17_x86_64")
    from packaging.tags import Tag

    assert Tag("cp312", "abi3", "manylinux1_x86_64") in accepted
    assert Tag("py3", "none", "any") in accepted
    assert Tag("cp312", "cp312", "manylinux2014_x86_64") not in accepted


def test_parse_page_reads_pep691_fields() -> None:
    page = parse_page(
        "Foo_Bar",
        {
            "meta": {"api-version": "1.1"},
            "name": "foo-bar",
            "files": [
                {"filename": "foo_bar-1.0.tar.gz", "requires-python": ">=3.8", "yanked": False},
                {"filename": "foo_bar-0.9.tar.gz", "yanked": "security"},
            ],
        },
    )
    assert page.name == "foo-bar"
    assert page.files[0].requires_python == ">=3.8" and not page.files[0].yanked
    assert page.files[1].yanked and page.files[1].yanked_reason == "security"


def _pypi_reachable() -> bool:
    try:
        request = urllib.request.Request(
            "https://pypi.org/simple/pip/",
            headers={"Accept": "application/vnd.pypi.simple.v1+json"},
        )
        with urllib.request.urlopen(request, timeout=5):
            return True
    except OSError:
        return False


@pytest.mark.network
def test_real_index_reproduces_the_psycopg2_binary_failure(tmp_path: Path) -> None:
    if not _pypi_reachable():
        pytest.skip("pypi.org is unreachable from here; this test needs the real index")
    broken = wheels.run(_repo(tmp_path / "a", "3.13.5"), _options(tmp_path / "a"))
    flagged = [f for f in broken if f.rule == "SB301" and f.line == 1]
    assert flagged and "CPython 3.13" in flagged[0].message
    assert "pg_config (libpq-dev)" in flagged[0].message
    fixed = wheels.run(_repo(tmp_path / "b", "3.12.7"), _options(tmp_path / "b"))
    assert not [f for f in fixed if f.line == 1]

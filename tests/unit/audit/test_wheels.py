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
    parse_html_page,
    parse_page,
)
from stablebuild.audit.options import AuditOptions
from stablebuild.audit.project import Project

FIXTURES = Path(__file__).parents[2] / "fixtures" / "audit" / "wheels"
ML = "manylinux_2_17_x86_64.manylinux2014_x86_64"
ML_ARM = "manylinux_2_17_aarch64.manylinux2014_aarch64"


def _psycopg_files() -> list[str]:
    files = ["psycopg2-binary-2.9.9.tar.gz", "psycopg2-binary-2.9.10.tar.gz"]
    for plat in (ML, ML_ARM):
        files += [f"psycopg2_binary-2.9.9-cp3{m}-cp3{m}-{plat}.whl" for m in range(7, 13)]
        files += [f"psycopg2_binary-2.9.10-cp3{m}-cp3{m}-{plat}.whl" for m in range(8, 14)]
    return files


PAGES: dict[str, list[str]] = {
    "psycopg2-binary": _psycopg_files(),
    "requests": ["requests-2.32.3-py3-none-any.whl", "requests-2.32.3.tar.gz"],
    "numpy": [
        f"numpy-1.26.4-cp312-cp312-{ML}.whl",
        f"numpy-1.26.4-cp312-cp312-{ML_ARM}.whl",
        "numpy-1.26.4-cp312-cp312-musllinux_1_1_x86_64.whl",
    ],
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


def _rules(findings: list[Finding]) -> list[tuple[str, str, int]]:
    return sorted((f.rule, f.file, f.line or 0) for f in findings)


# No Dockerfile in the `psycopg` fixture: the documented default, said once (SB308)
ASSUMED = ("SB308", "requirements.txt", 0)


def test_headline_psycopg2_binary_on_313_is_flagged(tmp_path: Path) -> None:
    findings = wheels.run(_repo(tmp_path, "3.13.5"), _options(tmp_path), fake_fetch)
    [psycopg] = [f for f in findings if f.rule == "SB301"]
    assert psycopg.severity is Severity.ERROR and (psycopg.file, psycopg.line) == (
        "requirements.txt",
        1,
    )
    assert psycopg.message == (
        "psycopg2-binary==2.9.9 has no wheel for CPython 3.13 on manylinux_2_28_aarch64, "
        "manylinux_2_28_x86_64: pip will build it from source and needs pg_config (libpq-dev) "
        "and gcc"
    )
    assert "psycopg2-binary==2.9.10 has wheels" in psycopg.hint
    # numpy's marker excludes 3.13; requests is pure Python; leftpad only has an sdist
    assert _rules(findings) == [
        ("SB301", "requirements.txt", 1),
        ("SB302", "requirements.txt", 4),
        ASSUMED,
    ]
    [assumed] = [f for f in findings if f.rule == "SB308"]
    assert "no Dockerfile installs these pins" in assumed.message
    assert "manylinux_2_28" in assumed.message and assumed.severity is Severity.INFO


def test_same_repo_on_312_is_clean_except_sdist_only(tmp_path: Path) -> None:
    findings = wheels.run(_repo(tmp_path, "3.12.7"), _options(tmp_path), fake_fetch)
    assert _rules(findings) == [("SB302", "requirements.txt", 4), ASSUMED]


def test_extra_targets_and_platforms(tmp_path: Path) -> None:
    options = _options(tmp_path, python_targets=("3.13",), platforms=("musllinux_1_2_aarch64",))
    findings = wheels.run(_repo(tmp_path, "3.12.7"), options, fake_fetch)
    psycopg = next(f for f in findings if f.rule == "SB301")
    assert "CPython 3.12, 3.13 on musllinux_1_2_aarch64" in psycopg.message
    numpy = next(f for f in findings if f.rule == "SB304")  # no musl aarch64 wheel, no sdist
    assert numpy.line == 3
    assert not [f for f in findings if f.rule == "SB308"]  # the platform was given


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
    unchecked = [f for f in findings if f.rule == "SB306"]
    assert {f.rule for f in findings} == {"SB306", "SB308"}
    assert len(unchecked) == 4 and "no cached index answer" in unchecked[0].message


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
    assert {(f.rule, f.severity) for f in findings} == {
        ("SB306", Severity.WARNING),
        ("SB308", Severity.INFO),
    }


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
    assert {f.rule for f in findings} == {"SB301", "SB302", "SB307", "SB308"}


def test_installed_files_decide_which_pins_matter(tmp_path: Path) -> None:
    findings = wheels.run(_repo(tmp_path, "3.13.5", "installed"), _options(tmp_path), fake_fetch)
    assert findings == []  # requirements-old.txt is not installed by the Dockerfile


def test_manylinux_2_17_accepts_older_policies() -> None:
    tags = wheels.platform_tags("manylinux_2_17_x86_64")
    assert {"manylinux2014_x86_64", "manylinux2010_x86_64", "manylinux1_x86_64"} <= set(tags)
    assert "manylinux_2_28_x86_64" not in tags and "musllinux_1_2_x86_64" not in tags
    assert tags[-1] == "linux_x86_64"  # pip on any Linux takes the plain tag (PyTorch's CPU wheels)
    assert wheels.platform_tags("manylinux2014_aarch64")[0] == "manylinux_2_17_aarch64"
    assert wheels.platform_tags("musllinux_1_2_x86_64") == [
        "musllinux_1_2_x86_64",
        "musllinux_1_1_x86_64",
        "musllinux_1_0_x86_64",
        "linux_x86_64",
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


# -- a local version label served by the extra index the requirements file names -----------

PYTORCH_CPU = "https://download.pytorch.org/whl/cpu"
TORCH_CPU = [
    "torch-2.3.0+cpu-cp311-cp311-linux_x86_64.whl",
    "torch-2.3.0+cpu-cp312-cp312-linux_x86_64.whl",
    "torch-2.3.0+cpu-cp312-cp312-win_amd64.whl",
]
TORCH_PYPI = [
    "torch-2.3.0-cp312-cp312-manylinux1_x86_64.whl",
    "torch-2.3.0-cp312-cp312-manylinux2014_aarch64.whl",
]


def _torch_index(name: str) -> ProjectPage:
    if name != "torch":
        return ProjectPage(name, (), found=False)
    return ProjectPage(name, tuple(DistFile(f) for f in TORCH_CPU))


def _pypi_with_torch(name: str) -> ProjectPage:
    if name == "torch":
        return ProjectPage(name, tuple(DistFile(f) for f in TORCH_PYPI))
    return fake_fetch(name)


def test_local_version_label_is_asked_of_the_extra_index(tmp_path: Path) -> None:
    project = _repo(tmp_path, "3.12.7", "local-label")
    findings = wheels.run(
        project, _options(tmp_path), _pypi_with_torch, fetchers={PYTORCH_CPU: _torch_index}
    )
    assert [f for f in findings if f.rule.startswith("SB30") and f.rule != "SB308"] == []


def test_local_version_label_missing_from_the_extra_index_is_not_there(tmp_path: Path) -> None:
    project = _repo(tmp_path, "3.12.7", "local-label")
    (project.root / "requirements.txt").write_text(
        (project.root / "requirements.txt").read_text().replace("2.3.0+cpu", "2.9.9+cpu")
    )
    project = Project.discover(project.root)
    findings = wheels.run(
        project, _options(tmp_path), _pypi_with_torch, fetchers={PYTORCH_CPU: _torch_index}
    )
    [missing] = [f for f in findings if f.rule == "SB303"]
    assert PYTORCH_CPU in missing.message and missing.line == 3


def test_unreachable_extra_index_means_not_checked_never_no_such_version(
    tmp_path: Path,
) -> None:
    def down(name: str) -> ProjectPage:
        raise IndexUnavailable(f"{PYTORCH_CPU} unreachable: timed out", unreachable=True)

    project = _repo(tmp_path, "3.12.7", "local-label")
    findings = wheels.run(
        project, _options(tmp_path), _pypi_with_torch, fetchers={PYTORCH_CPU: down}
    )
    assert not [f for f in findings if f.rule == "SB303"]
    [unchecked] = [f for f in findings if f.rule == "SB306"]
    assert (unchecked.line, unchecked.severity) == (3, Severity.WARNING)
    assert "torch==2.3.0+cpu" in unchecked.message and "not checked" in unchecked.message


def test_local_version_label_without_a_named_index_is_not_checked(tmp_path: Path) -> None:
    project = _repo(tmp_path, "3.12.7", "local-label")
    text = (project.root / "requirements.txt").read_text()
    (project.root / "requirements.txt").write_text(
        "\n".join(line for line in text.splitlines() if "extra-index" not in line) + "\n"
    )
    findings = wheels.run(Project.discover(project.root), _options(tmp_path), _pypi_with_torch)
    assert not [f for f in findings if f.rule == "SB303"]
    [unchecked] = [f for f in findings if f.rule == "SB306"]
    assert "local version label" in unchecked.message and "--extra-index-url" in unchecked.hint


def test_extra_index_on_the_pip_command_line_counts_too(tmp_path: Path) -> None:
    project = _repo(tmp_path, "3.12.7", "local-label")
    text = (project.root / "requirements.txt").read_text()
    (project.root / "requirements.txt").write_text(
        "\n".join(line for line in text.splitlines() if "extra-index" not in line) + "\n"
    )
    (project.root / "Dockerfile").write_text(
        "FROM --platform=linux/amd64 python:3.12-slim-bookworm\nCOPY requirements.txt .\n"
        f"RUN pip install --extra-index-url {PYTORCH_CPU} -r requirements.txt\n"
    )
    findings = wheels.run(
        Project.discover(project.root),
        _options(tmp_path),
        _pypi_with_torch,
        fetchers={PYTORCH_CPU: _torch_index},
    )
    assert [f for f in findings if f.rule.startswith("SB30") and f.rule != "SB308"] == []


def test_pep503_html_pages_are_read_too() -> None:
    html = (
        "<!DOCTYPE html><html><body><h1>Links for torch</h1>\n"
        '<a href="/whl/cpu/torch-2.3.0%2Bcpu-cp312-cp312-linux_x86_64.whl#sha256=ab" '
        'data-requires-python="&gt;=3.8.0">torch-2.3.0+cpu-cp312-cp312-linux_x86_64.whl</a><br/>\n'
        '<a href="torch-2.2.0+cpu-cp312-cp312-linux_x86_64.whl" data-yanked="bad build">'
        "torch-2.2.0+cpu-cp312-cp312-linux_x86_64.whl</a>\n</body></html>"
    )
    page = parse_html_page("torch", html)
    assert [f.filename for f in page.files] == [
        "torch-2.3.0+cpu-cp312-cp312-linux_x86_64.whl",
        "torch-2.2.0+cpu-cp312-cp312-linux_x86_64.whl",
    ]
    assert page.files[0].requires_python == ">=3.8.0" and not page.files[0].yanked
    assert page.files[1].yanked and page.files[1].yanked_reason == "bad build"


def test_each_wheel_filename_is_parsed_once_per_page(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from stablebuild.audit import releases as releases_module

    calls: list[str] = []
    real = releases_module.parse_wheel_filename

    def counting(filename: str):  # type: ignore[no-untyped-def]
        calls.append(filename)
        return real(filename)

    monkeypatch.setattr(releases_module, "parse_wheel_filename", counting)
    root = tmp_path / "repo"
    root.mkdir()
    (root / ".python-version").write_text("3.12.7\n")
    (root / "Dockerfile").write_text(
        "FROM python:3.12-slim-bookworm\nCOPY requirements*.txt /r/\n"
        "RUN pip install -r /r/requirements-a.txt -r /r/requirements-b.txt\n"
    )
    for part in "ab":
        (root / f"requirements-{part}.txt").write_text("psycopg2-binary==2.9.10\n")
    wheels.run(Project.discover(root), _options(tmp_path), fake_fetch)
    assert len(calls) == len(set(calls))  # two pins, two targets, 14 files: each parsed once
    wheels.run(Project.discover(root), _options(tmp_path), fake_fetch)
    assert len(calls) == len(set(calls))  # a second audit in the process reuses the pages


def test_cache_round_trip_keeps_every_field_and_needs_no_parsing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from stablebuild.audit import index as index_module
    from stablebuild.audit import releases as releases_module

    files = (
        DistFile(f"psycopg2_binary-2.9.10-cp313-cp313-{ML}.whl", ">=3.8"),
        DistFile("psycopg2-binary-2.9.10.tar.gz", ">=3.8", yanked=True, yanked_reason="bad\tsdist"),
        DistFile("psycopg2_binary-2.9.9-cp312-cp312-win_amd64.whl"),
        DistFile("not-a-distribution.txt"),
    )
    writer = SimpleIndex("https://user:secret@mirror.example/simple", tmp_path)
    writer.write_cache(ProjectPage("psycopg2-binary", files, True, 5.0))
    assert "secret" not in str(writer.cache_path("psycopg2-binary"))
    index_module._MEMO.clear()  # as a new process would
    monkeypatch.setattr(releases_module, "parse_wheel_filename", None)  # must not be called
    page = SimpleIndex("https://user:secret@mirror.example/simple", tmp_path).read_cache(
        "psycopg2-binary"
    )
    assert page is not None and page.fetched_at == 5.0
    releases = page.releases
    assert sorted(releases) == ["2.9.10", "2.9.9"]  # the unreadable name is left out, as pip does
    wheel, sdist = releases.files("2.9.10")
    assert wheel.requires_python == ">=3.8" and not wheel.yanked
    assert sdist.yanked and sdist.yanked_reason == "bad sdist"
    from packaging.tags import Tag

    assert Tag("cp313", "cp313", "manylinux2014_x86_64") in (releases.tags(wheel.filename) or ())
    assert releases.tags(sdist.filename) is None
    assert releases.matching("2.9.10") == ["2.9.10"] and releases.matching("2.9.10.0") == ["2.9.10"]


def test_a_pin_takes_its_release_and_the_local_variants_as_pep_440_says() -> None:
    page = ProjectPage("torch", tuple(DistFile(f) for f in [*TORCH_CPU, *TORCH_PYPI]))
    page = ProjectPage(
        "torch", (*page.files, DistFile("torch-2.3.1+cpu-cp312-cp312-linux_x86_64.whl"))
    )
    releases = page.releases
    assert releases.matching("2.3.0") == ["2.3", "2.3+cpu"]  # pip's ==2.3.0 takes 2.3.0+cpu
    assert releases.matching("2.3.0+cpu") == ["2.3+cpu"]
    assert releases.matching("2.3") == ["2.3", "2.3+cpu"]  # zero padding is equal
    assert releases.matching("2.3.0+cu121") == [] and releases.matching("not a version") == []

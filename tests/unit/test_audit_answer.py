"""The remembered audit answer (audit/answer.py on answer.py), the program run as users run it:
what an answer depends on (each kind of change is a miss), what it does not, which answers are
never remembered, and that a damaged or foreign memo only ever costs the full command.

The fixture is a copy of a corpus repository (tests/fixtures/corpus/broken-sample-drift: two
services, one Python drift planted, so the audit exits 1) audited against a package index that
is a `file://` folder, with the pages its pins need fresh in the cache: nothing is asked of a
network, and a page missing from the cache is a fetch.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from stablebuild import answer
from stablebuild.audit.index import DistFile, ProjectPage, SimpleIndex

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "fixtures" / "corpus"
OSV = ROOT / "tests" / "fixtures" / "audit" / "osv" / "pypa"
PINS = ("flask", "celery", "redis")
HIT = "remembered answer: nothing it depends on changed"
REMEMBERED = "answer remembered"
HADOLINT_JSON = '[{"code":"DL3008","level":"warning","line":3,"message":"Pin versions in apt"}]'


@dataclass(frozen=True)
class Run:
    code: int
    stdout: str
    stderr: str


class Program:
    """`stablebuild -v audit REPO ...` in a process of its own, in the repository's parent
    folder, with a cache, a configuration folder and a package index of the test's own."""

    def __init__(self, tmp_path: Path, repo: Path, python: str = sys.executable) -> None:
        self.tmp = tmp_path
        self.python = python
        self.repo = repo
        self.index = tmp_path / "index"  # a file:// index that holds nothing: a miss is a fetch
        self.index.mkdir(exist_ok=True)
        self.url = self.index.as_uri()
        self.cache = tmp_path / "cache"
        self.config = tmp_path / "config"
        self.bin = tmp_path / "bin"
        skip = ("STABLEBUILD_", "PIP_", "HADOLINT_", "GITHUB_", "GITLAB_")
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(skip)}
        self.env |= {"XDG_CACHE_HOME": str(self.cache), "XDG_CONFIG_HOME": str(self.config)}
        self.env["PATH"] = f"{self.bin}{os.pathsep}{self.env.get('PATH', os.defpath)}"

    @property
    def cache_dir(self) -> Path:
        return self.cache / "stablebuild"

    def argv(self, *extra: str) -> list[str]:
        return ["-v", "audit", self.repo.name, "--index-url", self.url, *extra]

    def __call__(self, *extra: str) -> Run:
        done = subprocess.run(
            [self.python, "-m", "stablebuild", *self.argv(*extra)],
            cwd=self.repo.parent,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert "Traceback" not in done.stderr, done.stderr
        return Run(done.returncode, done.stdout, done.stderr)

    def fill_index(self, names: tuple[str, ...] = PINS, fetched_at: float | None = None) -> None:
        """The corpus's pages for `names`, cached as fetched at `fetched_at` (now)."""
        pages = json.loads((CORPUS / "index.json").read_text(encoding="utf-8"))
        index = SimpleIndex(self.url, self.cache_dir)
        when = time.time() if fetched_at is None else fetched_at
        for name in names:
            index.write_cache(
                ProjectPage(name, [DistFile(f) for f in pages[name]], fetched_at=when)
            )

    def page(self, name: str) -> Path:
        return SimpleIndex(self.url, self.cache_dir).cache_path(name)

    def hadolint(self, script: str) -> Path:
        """A stand-in hadolint on PATH, found first: the program runs on the base interpreter
        (this venv's packages on PYTHONPATH), beside which there is none."""
        base = Path(sys.base_prefix) / "bin" / f"python{sys.version_info[0]}.{sys.version_info[1]}"
        if (base.parent / "hadolint").exists() or not base.exists():
            pytest.skip("no interpreter without a hadolint beside it")
        self.python = str(base)
        self.env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), *sys.path[1:]])
        self.bin.mkdir(exist_ok=True)
        fake = self.bin / "hadolint"
        fake.write_text(script)
        fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
        return fake

    def memo(self) -> answer.Memo:
        """The memo the program left last."""
        memos = answer.memo_folder(self.cache_dir).glob("*.json")
        path = max(memos, key=lambda p: p.stat().st_mtime_ns)
        memo = answer.read(path.stem, self.cache_dir, kind="audit")
        assert memo is not None
        return memo

    def still_true(self, memo: answer.Memo, now: float | None = None) -> str | None:
        return answer.still_true(memo, self.env, now)


@pytest.fixture
def program(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Program:
    repo = tmp_path / "work" / "repo"
    shutil.copytree(CORPUS / "broken-sample-drift", repo)
    program = Program(tmp_path, repo)
    program.fill_index()
    # NOTE: this process reads the memos the program signs: the same key
    monkeypatch.setenv("XDG_CONFIG_HOME", str(program.config))
    return program


def remembered(program: Program, *extra: str) -> tuple[Run, answer.Memo]:
    """A full run that leaves a memo, and the memo."""
    first = program(*extra)
    assert REMEMBERED in first.stderr, first.stderr
    return first, program.memo()


# --- a hit ------------------------------------------------------------------------------------


def test_an_unchanged_repository_is_answered_with_the_full_commands_exit_code(
    program: Program,
) -> None:
    first, _ = remembered(program, "-f", "sarif")
    assert first.code == 1  # the planted drift is an error
    again = program("-f", "sarif")
    assert HIT in again.stderr, again.stderr
    assert again.code == 1
    assert again.stdout == first.stdout
    results = json.loads(again.stdout)["runs"][0]["results"]
    assert "SB101" in {r["ruleId"] for r in results}


def test_what_the_answer_does_not_depend_on_changes_nothing(program: Program) -> None:
    _, memo = remembered(program, "-o", "json:repo/report.json")
    (program.repo / ".stablebuild").mkdir(exist_ok=True)
    (program.repo / ".stablebuild" / "history.sqlite").write_bytes(b"x" * 64)
    (program.repo / "report.json").write_text("{}")  # the command's own -o file
    (program.repo / ".git").mkdir()
    assert program.still_true(memo) is not None  # a work tree begins here: paths change
    memo = remembered(program, "-o", "json:repo/report.json")[1]
    (program.repo / ".git" / "objects").mkdir()  # what git keeps is not audited
    (program.repo / ".git" / "index").write_bytes(b"DIRC")
    assert program.still_true(memo) is None
    assert answer.still_true(memo, program.env | {"UNRELATED": "1", "TERM": "dumb"}) is None


# --- every kind of miss -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "change",
    [
        lambda repo: (repo / "flask" / "Dockerfile").write_text("FROM python:3.12-slim\n"),
        lambda repo: (repo / "worker" / "requirements.txt").write_text("redis==5.2.1\n"),
        lambda repo: (repo / "worker" / "extra.txt").write_text(""),
        lambda repo: (repo / "flask" / "app.py").chmod(0o755),
        lambda repo: (repo / "flask" / "app.py").rename(repo / "flask" / "main.py"),
        lambda repo: (repo / ".git" / "info").mkdir(parents=True),
        lambda repo: (repo.parent / "pyproject.toml").write_text("[tool.stablebuild]\n"),
        lambda repo: (repo.parent / ".git").mkdir(),
    ],
    ids=[
        "edited",
        "pin changed",
        "added",
        "mode",
        "renamed",
        "a work tree",
        "pyproject.toml above",
        "a work tree above",
    ],
)
def test_a_change_to_what_was_audited_is_a_miss(program: Program, change: object) -> None:
    _, memo = remembered(program)
    assert program.still_true(memo) is None
    change(program.repo)  # type: ignore[operator]
    assert program.still_true(memo) is not None


def test_pips_configuration_is_read_from_outside_and_counts(program: Program) -> None:
    _, memo = remembered(program)
    conf = program.config / "pip" / "pip.conf"
    assert str(conf) in memo.files
    conf.parent.mkdir(parents=True)
    conf.write_text("[global]\nextra-index-url = https://mirror.example/simple\n")
    assert program.still_true(memo) == f"{conf} changed"


def test_the_answer_expires_with_the_first_index_page_it_used(program: Program) -> None:
    day = 24 * 3600
    program.fill_index(("redis",), fetched_at=time.time() - day + 3600)  # an hour left
    _, memo = remembered(program)
    assert str(program.page("redis")) in memo.files
    assert memo.expires is not None and memo.expires < time.time() + 3600
    assert program.still_true(memo, now=memo.expires - 60) is None
    assert program.still_true(memo, now=memo.expires) == "a cached answer it used has expired"
    # the page fetched again (by another audit): another page
    program.fill_index(("redis",))
    assert program.still_true(memo) == f"{program.page('redis')} changed"


def test_offline_the_cache_answers_for_as_long_as_it_is_there(program: Program) -> None:
    program.fill_index(("redis",), fetched_at=time.time() - 30 * 24 * 3600)
    program.page("celery").unlink()  # "not checked" until a page is there
    run, memo = remembered(program, "--offline")
    assert "SB306" in run.stdout
    assert memo.expires is None
    assert program.still_true(memo, now=time.time() + 365 * 24 * 3600) is None
    program.fill_index(("celery",))
    assert program.still_true(memo) == f"{program.page('celery')} changed"


def test_the_vulnerability_database_counts_file_by_file(program: Program) -> None:
    database = program.tmp / "osv"
    shutil.copytree(OSV, database)
    _, memo = remembered(program, "--vuln-db", str(database))
    assert str(database) in memo.folders
    advisory = database / "vulns" / "requests" / "GHSA-9wx4-h78v-vm56.yaml"
    advisory.write_text(advisory.read_text() + "\n")
    assert program.still_true(memo) == f"a file under {database} changed"


def test_a_vulnerability_database_file_counts(program: Program) -> None:
    database = program.tmp / "insecure_full.json"
    shutil.copy(ROOT / "tests" / "fixtures" / "audit" / "vulns" / "insecure_full.json", database)
    _, memo = remembered(program, "--vuln-db", str(database))
    assert memo.files[str(database)] is not None
    database.write_text(json.dumps({"flask": []}))
    assert program.still_true(memo) == f"{database} changed"


def test_hadolint_counts_where_it_is_found_and_what_it_is(program: Program) -> None:
    fake = program.hadolint("#!/bin/sh\nexit 0\n")
    fake.unlink()
    _, memo = remembered(program)  # no hadolint anywhere: SB701
    program.hadolint(f"#!/bin/sh\ncat >/dev/null\necho '{HADOLINT_JSON}'\n")
    assert program.still_true(memo) == f"{fake} changed"  # hadolint installed: a miss

    run, memo = remembered(program, "-f", "json")
    assert "SB700:DL3008" in run.stdout
    again = program("-f", "json")
    assert HIT in again.stderr and again.stdout.count("SB700:DL3008") == 2
    fake.write_text(fake.read_text().replace("DL3008", "DL3009"))
    assert program.still_true(memo) == f"{fake} changed"
    home = Path(program.env["XDG_CONFIG_HOME"]) / "hadolint.yaml"
    fake.write_text(fake.read_text().replace("DL3009", "DL3008"))
    memo = remembered(program, "-f", "json")[1]
    home.write_text("ignored: [DL3008]\n")  # hadolint's own configuration
    assert program.still_true(memo) == f"{home} changed"


def test_the_key_is_the_command_line_the_folder_and_the_settings(program: Program) -> None:
    remembered(program)
    assert HIT in program().stderr
    assert HIT not in program("--fail-on", "never").stderr  # another command line
    program.env["HADOLINT_IGNORE"] = "DL3008"  # hadolint's settings, from the environment
    assert HIT not in program().stderr


# --- answers never remembered -----------------------------------------------------------------


def test_an_answer_from_the_index_is_not_remembered(program: Program) -> None:
    program.page("flask").unlink()  # asked of the index (a file:// folder: not found there)
    run = program()
    assert "answer not remembered: the package index was asked for flask" in run.stderr
    assert not list(answer.memo_folder(program.cache_dir).glob("*.json"))


def test_a_stale_page_the_index_could_not_refresh_is_not_remembered(program: Program) -> None:
    program.fill_index(("flask",), fetched_at=time.time() - 3 * 24 * 3600)
    shutil.rmtree(program.index)  # unreachable: the old page is used (SB307)
    run = program()
    assert "SB307" in run.stdout or "older cached answers" in run.stdout
    assert "answer not remembered: the package index was asked for flask" in run.stderr


@pytest.mark.parametrize(
    ("extra", "why"),
    [
        (("--offline", "--online-vulns"), "the PyPA advisory database is fetched"),
        (("--write-baseline", "known.json"), "--write-baseline writes a file"),
    ],
    ids=["online-vulns", "write-baseline"],
)
def test_some_answers_are_never_remembered(
    program: Program, extra: tuple[str, ...], why: str
) -> None:
    run = program(*extra)
    assert f"answer not remembered: {why}" in run.stderr, run.stderr


@pytest.mark.parametrize("extra", [(), ("--rule", "SB702=off")], ids=["said", "silenced"])
def test_hadolint_failing_is_not_remembered(program: Program, extra: tuple[str, ...]) -> None:
    program.hadolint("#!/bin/sh\necho 'out of memory' >&2\nexit 3\n")
    run = program(*extra)
    assert ("SB702" in run.stdout) is not bool(extra)
    assert "answer not remembered: hadolint failed on a file" in run.stderr


# --- memos that never answer ------------------------------------------------------------------


def test_a_memo_signed_elsewhere_never_answers(program: Program) -> None:
    remembered(program)
    (program.config / "stablebuild" / "answer.key").write_text("another machine's key " * 3)
    run = program()
    assert HIT not in run.stderr and run.code == 1
    assert REMEMBERED in run.stderr  # remembered again, under this key


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: data | {"report": {"findings": [["SB101"]]}},
        lambda data: data | {"report": data["report"] | {"places": []}},
        lambda data: data | {"params": data["params"] | {"format": "xml"}},
        lambda data: data | {"params": data["params"] | {"texts": {"json": 7}}},
        lambda data: data | {"params": data["params"] | {"history": {"flag": 1}}},
        lambda data: data | {"tree": None},
        lambda data: data | {"kind": "validate"},
        lambda data: {"memo": data["memo"], "key": data["key"]},
    ],
    ids=[
        "short finding",
        "places lost",
        "unknown format",
        "text not text",
        "history",
        "no tree",
        "another command's",
        "half a memo",
    ],
)
def test_a_damaged_memo_is_the_full_commands_to_answer(program: Program, damage: object) -> None:
    first, memo = remembered(program, "-f", "json")
    path = answer.memo_folder(program.cache_dir) / f"{memo.key}.json"
    _, _, text = path.read_text().partition("\n")
    damaged = json.dumps(damage(json.loads(text)))  # type: ignore[operator]
    key = answer.signing_key(create=False)
    assert key is not None
    path.write_text(answer._signature(key, damaged) + "\n" + damaged)  # signed: ours, damaged
    run = program("-f", "json")
    assert HIT not in run.stderr
    assert run.code == first.code == 1
    assert json.loads(run.stdout)["findings"] == json.loads(first.stdout)["findings"]


def test_garbage_in_the_memo_folder_is_no_answer(program: Program) -> None:
    _, memo = remembered(program)
    path = answer.memo_folder(program.cache_dir) / f"{memo.key}.json"
    path.write_bytes(b"\xff\xfe not a memo")
    run = program()
    assert HIT not in run.stderr and run.code == 1


@pytest.mark.parametrize(
    ("argv", "command"),
    [
        (["audit", "."], "audit"),
        (["-q", "audit", ".", "-f", "json"], "audit"),
        (["-v", "validate", "."], "validate"),
        (["audit", "--explain", "SB301"], None),
        (["audit", "--explain=SB301"], None),
        (["audit", "--help"], None),
        (["history", "audit"], None),
        (["--version"], None),
    ],
)
def test_the_program_tries_a_memo_only_for_an_answer(argv: list[str], command: str | None) -> None:
    from stablebuild.__main__ import _command

    assert _command(argv) == command


# --- what a run consulted ---------------------------------------------------------------------


def _index(tmp_path: Path, *, offline: bool = False) -> SimpleIndex:
    def fetch(name: str) -> ProjectPage:
        return ProjectPage(name, [DistFile(f"{name}-1.0-py3-none-any.whl")])

    return SimpleIndex("https://pypi.example/simple", tmp_path, offline=offline, fetch=fetch)


def test_pages_from_the_cache_are_recorded_with_when_they_expire(tmp_path: Path) -> None:
    from stablebuild.audit import consulted

    index = _index(tmp_path)
    fetched = time.time() - 3600
    index.write_cache(
        ProjectPage("six", [DistFile("six-1.16.0-py2.py3-none-any.whl")], True, fetched)
    )
    with consulted.recording() as record:
        answers = consulted.lookup(index, ["six"])
    assert answers["six"].page is not None and answers["six"].page.found
    assert record.files == {
        str(index.cache_path("six")): answer.signature(str(index.cache_path("six")))
    }
    assert record.expires == fetched + index.max_age
    assert record.unrepeatable == []
    assert consulted.lookup(index, ["six"]) == answers  # not recording: the plain lookup


def test_a_page_the_index_was_asked_for_cannot_be_repeated(tmp_path: Path) -> None:
    from stablebuild.audit import consulted

    with consulted.recording() as record:
        consulted.lookup(_index(tmp_path), ["leftpad"])
    assert record.files == {}
    assert record.unrepeatable == [
        "the package index was asked for leftpad (its cached page was not fresh)"
    ]


def test_offline_a_missing_page_is_an_answer_until_one_is_there(tmp_path: Path) -> None:
    from stablebuild.audit import consulted

    index = _index(tmp_path, offline=True)
    with consulted.recording() as record:
        answers = consulted.lookup(index, ["leftpad"])
    assert answers["leftpad"].page is None
    assert record.files == {str(index.cache_path("leftpad")): None}
    assert record.expires is None and record.unrepeatable == []

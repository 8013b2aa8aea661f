"""The remembered answer (answer.py, verdict.py) against a fake engine on a unix socket: what it
depends on, when it is a miss, and that the program replays it without loading the machinery."""

from __future__ import annotations

import json
import os
import socketserver
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any, ClassVar

import pytest
from tests.unit.test_import_budget import HEAVY

import stablebuild
from stablebuild import answer, verdict
from stablebuild.engine.unixapi import EngineSocket, ask_info
from stablebuild.report.codec import from_data, to_data
from stablebuild.report.model import (
    BuildOutcome,
    BuildStatus,
    CheckResult,
    CheckStatus,
    ImageReport,
    Report,
    StackReport,
)
from stablebuild.report.write import render

ROOT = Path(__file__).resolve().parents[2]
IMAGE = "sha256:" + "cd" * 32
BASE = "python:3.12-slim"
BASE_ID = "sha256:" + "ef" * 32
INFO = {
    "ID": "ABCD:EFGH",
    "Name": "builder",
    "ServerVersion": "20.10.24+dfsg1",
    "OSType": "linux",
    "Architecture": "x86_64",
    "NCPU": 2,
    "MemTotal": 25276063744,
    "Runtimes": {"runc": {"path": "runc"}},
    "DefaultRuntime": "runc",
}
# What the replay must never load: the engine client, Typer, the manifest loader, the checks.
MACHINERY = (*HEAVY, "typer", "click", "yaml", "rich", "stablebuild.manifest.load")
MACHINERY += ("stablebuild.validate", "stablebuild.cli", "stablebuild.audit", "dockerfile_parse")
# `dataclasses` (and the inspect, ast, dis and tokenize it loads) with the methods it makes for
# each class cost 25-45 ms of a ~0.13 s answer: the answer's types are NamedTuples and plain
# classes (report/model.py); secrets are never in a remembered answer (no buildargs).
MACHINERY += ("dataclasses", "inspect", "stablebuild.buildargs")


class FakeEngine(BaseHTTPRequestHandler):
    """dockerd's answers to `/info` and image inspects, from the class's tables."""

    info: ClassVar[dict[str, Any]] = dict(INFO)
    images: ClassVar[dict[str, str]] = {IMAGE: IMAGE, BASE: BASE_ID}

    def do_GET(self) -> None:
        if self.path == "/info":
            self._send(200, json.dumps(self.info).encode())
            return
        ref = self.path.removeprefix("/images/").removesuffix("/json")
        found = self.images.get(ref)
        if found is None:
            self._send(404, b'{"message": "no such image"}')
        else:
            self._send(200, json.dumps({"Id": found, "Size": 1}).encode())

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


class _Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


@pytest.fixture
def engine_socket(tmp_path: Path) -> Iterator[str]:
    FakeEngine.info = dict(INFO)
    FakeEngine.images = {IMAGE: IMAGE, BASE: BASE_ID}
    path = str(tmp_path / "engine.sock")
    server = _Server(path, FakeEngine)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield path
    server.shutdown()
    server.server_close()


def cached_report() -> Report:
    checks = [
        CheckResult(
            "python.version", "python", CheckStatus.PASSED, "3.12.7 matches 3.12", "3.12.7"
        ),
        CheckResult(
            "imports.fastapi", "imports", CheckStatus.PASSED, "imports (0.115.0)", "0.115.0"
        ),
    ]
    build = BuildOutcome(BuildStatus.CACHED, 12.5, None, IMAGE, 210_000_000, 12, ["reused"])
    return Report(
        stack="shop",
        run_id="20261129000000-aaaaaa",
        started_at="2026-11-29T00:00:00+00:00",
        finished_at="2026-11-29T00:00:01+00:00",
        images=[ImageReport("api", build, checks, {"python": {"v": [3, 12]}}, from_cache=True)],
        engine={"name": "default", "endpoint": "unix:///x", "runtimes": ["runc"]},
        manifest="/stack/stablebuild.yml",
        stack_phase=StackReport("sb-shop-1", "docker-compose 1.29.2", 41.0, checks[:1], True),
    )


@pytest.fixture
def stack(tmp_path: Path) -> Path:
    root = tmp_path / "stack"
    (root / "app").mkdir(parents=True)
    (root / "app" / "main.py").write_text("print('hi')\n")
    (root / "Dockerfile").write_text(f"FROM {BASE}\nCOPY app /app\n")
    (root / "stablebuild.yml").write_text("version: 1\nname: shop\n")
    (root / ".stablebuild").mkdir()
    return root


@pytest.fixture(autouse=True)
def config_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where the signing key lives: a folder of the test's own."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    return tmp_path / "config"


def environ(tmp_path: Path, socket: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DOCKER_", "STABLEBUILD_"))}
    env |= {"XDG_CONFIG_HOME": str(tmp_path / "config")}
    return env | {"DOCKER_HOST": f"unix://{socket}", "XDG_CACHE_HOME": str(tmp_path / "cache")}


def write_signed(path: Path, text: str) -> None:
    """A memo file as `answer.write` signs it, whatever its content."""
    key = answer.signing_key(create=True)
    assert key is not None
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(answer._signature(key, text) + "\n" + text)


def make_memo(
    argv: list[str], stack: Path, env: dict[str, str], report: Report | None = None
) -> answer.Memo:
    socket = EngineSocket(env["DOCKER_HOST"].removeprefix("unix://"))
    skip = [".stablebuild", "report.json"]
    identity = answer.engine_identity(socket.get_json("/info"))
    assert identity is not None
    return answer.Memo(
        key=answer.memo_key(argv, str(stack), env),
        params={
            "format": "json",
            "outputs": ["json:report.json"],
            "changed": False,
            "verbosity": -1,
            "history": {
                "setting": None,
                "manifest_file": str(stack / "stablebuild.yml"),
                "location": "off",
                "required": False,
                "max_regression": None,
                "baseline_ref": None,
            },
        },
        report=to_data(report or cached_report()),
        events=[["api", "build-done", "cached", 0, 0]],
        root=str(stack),
        skip=skip,
        tree=answer.tree(str(stack), skip) or {},
        files={str(stack / "stablebuild.yml"): answer.signature(str(stack / "stablebuild.yml"))},
        environment=answer.environment(["DB_NAME"], env),
        socket=socket.path,
        engine=identity,
        images={IMAGE: IMAGE, BASE: BASE_ID},
        folders={},
        resolved={},
    )


ARGV = ["validate", ".", "-f", "json", "-q", "-o", "json:report.json", "--history", "off"]


def test_the_report_survives_the_round_trip_byte_for_byte() -> None:
    report = cached_report()
    again = from_data(json.loads(json.dumps(to_data(report))))
    for fmt in ("json", "markdown", "junit", "sarif", "github", "codequality", "terminal"):
        assert render(again, fmt) == render(report, fmt)


def test_the_program_replays_a_remembered_answer_without_the_machinery(
    stack: Path, tmp_path: Path, engine_socket: str
) -> None:
    env = environ(tmp_path, engine_socket)
    memo = make_memo(ARGV, stack, env)
    answer.write(memo, tmp_path / "cache" / "stablebuild")
    probe = (
        "import json, os, sys, runpy\n"
        "def _exit(code):\n    raise SystemExit(code)\n"
        "os._exit = _exit  # an answer ends with os._exit: listed here instead\n"
        "sys.argv = ['stablebuild', *sys.argv[1:]]\n"
        "try:\n    runpy.run_module('stablebuild', run_name='__main__')\n"
        "except SystemExit as exc:\n    code = exc.code\n"
        "sys.stderr.write('\\n@@' + json.dumps([code, sorted(sys.modules)]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, *ARGV],
        cwd=stack,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    code, modules = json.loads(done.stderr.rpartition("\n@@")[2])
    assert code == 0, done.stderr
    replayed = json.loads(done.stdout)
    expected = json.loads(render(cached_report(), "json"))
    assert replayed["run_id"] != expected["run_id"]  # a run of its own
    for key in ("run_id", "started_at", "finished_at"):
        replayed.pop(key), expected.pop(key)
    assert replayed == expected
    assert json.loads((stack / "report.json").read_text())["images"] == expected["images"]
    loaded = sorted(m for m in modules if any(m == n or m.startswith(n + ".") for n in MACHINERY))
    assert loaded == []
    assert len(modules) <= 130, f"{len(modules)} modules"


@pytest.mark.parametrize(
    "change",
    [
        lambda root: (root / "app" / "main.py").write_text("print('bye')\n"),
        lambda root: (root / "app" / "new.py").write_text(""),
        lambda root: (root / "app" / "main.py").chmod(0o755),
        lambda root: (root / "app" / "main.py").rename(root / "app" / "moved.py"),
        lambda root: (root / "stablebuild.yml").write_text("version: 1\nname: other\n"),
        lambda root: (root / ".python-version").write_text("3.13\n"),
    ],
    ids=["content", "added", "mode", "renamed", "manifest", "new file at the top"],
)
def test_a_change_under_the_stack_is_a_miss(
    stack: Path, tmp_path: Path, engine_socket: str, change: Any
) -> None:
    env = environ(tmp_path, engine_socket)
    memo = make_memo(ARGV, stack, env)
    assert answer.still_true(memo, env) is None
    change(stack)
    assert answer.still_true(memo, env) is not None


def test_what_the_answer_does_not_depend_on_changes_nothing(
    stack: Path, tmp_path: Path, engine_socket: str
) -> None:
    env = environ(tmp_path, engine_socket)
    memo = make_memo(ARGV, stack, env)
    (stack / ".stablebuild" / "history.sqlite").write_bytes(b"x" * 100)  # its own folder
    (stack / "report.json").write_text("{}")  # the command's own -o file
    assert answer.still_true(memo, env | {"UNRELATED": "1", "TERM": "dumb"}) is None


def test_the_engine_and_the_environment_count(
    stack: Path, tmp_path: Path, engine_socket: str
) -> None:
    env = environ(tmp_path, engine_socket)
    memo = make_memo(ARGV, stack, env)
    assert answer.still_true(memo, env | {"DB_NAME": "other"}) == (
        "an environment value the compose files name changed"
    )
    FakeEngine.images = {IMAGE: IMAGE, BASE: "sha256:" + "00" * 32}  # the base was pulled again
    assert answer.still_true(memo, env) == f"image {BASE} changed"
    FakeEngine.images = {BASE: BASE_ID}  # `stablebuild clean --prune`
    assert answer.still_true(memo, env) == f"image {IMAGE} changed"
    FakeEngine.images = {IMAGE: IMAGE, BASE: BASE_ID}
    FakeEngine.info = INFO | {"Runtimes": {"runc": {}, "nvidia": {}}}  # a runtime was added
    assert answer.still_true(memo, env) == "the engine changed"
    gone = answer.Memo(**{**memo._asdict(), "socket": str(tmp_path / "nothing.sock")})
    assert (answer.still_true(gone, env) or "").startswith("the engine did not answer")


def test_the_engine_asked_before_the_memo_was_read_is_asked_once(
    stack: Path, tmp_path: Path, engine_socket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`/info` goes out before the memo is looked for (`unixapi.ask_info`): the memo's checks
    use that answer when the memo names the same engine, and ask their own otherwise."""
    env = environ(tmp_path, engine_socket)
    memo = make_memo(ARGV, stack, env)
    asked: list[str] = []
    monkeypatch.setattr(FakeEngine, "log_request", lambda self, *a: asked.append(self.path))
    info = ask_info(env)
    assert info is not None and info[0] == engine_socket
    assert answer.checking(memo, env, info=info)() is None
    assert asked.count("/info") == 1
    FakeEngine.info = INFO | {"ID": "another engine"}  # what the early question is answered
    elsewhere = answer.Memo(**{**memo._asdict(), "socket": str(tmp_path / "nothing.sock")})
    assert (answer.checking(elsewhere, env, info=ask_info(env))() or "").startswith(
        "the engine did not answer"  # its own engine asked, not the one asked early
    )
    assert ask_info({"DOCKER_HOST": "tcp://10.0.0.1:2376"}) is None  # docker-py's to reach


def test_where_nothing_was_ever_remembered_the_engine_is_not_asked_for_a_memo(
    stack: Path, tmp_path: Path, engine_socket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fresh cache (a CI job's first run) has no memo folder: the program's entry looks no
    further, and the run asks `/info` once, for itself; with the folder there, the memo is
    looked for (and its `/info` sent) first."""
    from stablebuild import __main__ as entry

    env = environ(tmp_path, engine_socket)
    asked: list[str] = []
    monkeypatch.setattr(FakeEngine, "log_request", lambda self, *a: asked.append(self.path))
    monkeypatch.chdir(stack)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert not answer.memo_folder().exists()
    monkeypatch.setattr(verdict, "invocation", None)
    assert entry._remembered_validate(ARGV) is None
    assert asked == []
    assert verdict.invocation == ARGV  # the command's answer may still be the first remembered
    answer.memo_folder().mkdir(parents=True)  # something was remembered here, not this
    assert entry._remembered_validate(ARGV) is None
    deadline = time.monotonic() + 5
    while not asked and time.monotonic() < deadline:  # NOTE: logged on the server's thread
        time.sleep(0.01)
    assert asked == ["/info"]


def test_the_key_is_the_command_line_the_folder_and_the_settings() -> None:
    env = {"HOME": "/home/u", "DOCKER_HOST": "unix:///a", "PATH": "/bin"}
    key = answer.memo_key(ARGV, "/stack", env)
    assert answer.memo_key(ARGV, "/stack", env | {"OLDPWD": "/x", "SHLVL": "3"}) == key
    assert answer.memo_key(ARGV, "/other", env) != key
    assert answer.memo_key([*ARGV, "--no-stack"], "/stack", env) != key
    assert answer.memo_key(ARGV, "/stack", env | {"STABLEBUILD_HISTORY": "off"}) != key
    assert answer.memo_key(ARGV, "/stack", env | {"DOCKER_HOST": "unix:///b"}) != key
    assert answer.memo_key(ARGV, "/stack", env | {"PIP_INDEX_URL": "https://i/"}) != key


def test_other_code_under_the_same_version_never_answers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reinstall rewrites the wheel's RECORD; in a working copy every source file counts
    (its bytecode does not): either way a memo left by other code is not found."""
    site = tmp_path / "site-packages"
    package = site / "stablebuild"
    (package / "__pycache__").mkdir(parents=True)
    (package / "validate.py").write_text("old = 1\n")
    working_copy = answer.code_identity(str(package))
    (package / "__pycache__" / "validate.cpython-311.pyc").write_bytes(b"\0")
    (package / "checks" / "__pycache__").mkdir(parents=True)  # bytecode comes and goes
    (package / "checks" / "__pycache__" / "judging.cpython-311.pyc").write_bytes(b"\0")
    assert answer.code_identity(str(package)) == working_copy
    (package / "validate.py").write_text("new = 22\n")
    assert answer.code_identity(str(package)) != working_copy

    record = site / f"stablebuild-{stablebuild.__version__}.dist-info" / "RECORD"
    record.parent.mkdir()
    record.write_text("stablebuild/validate.py,sha256=a,7\n")
    installed = answer.code_identity(str(package))
    (package / "validate.py").write_text("newer = 333\n")  # NOTE: a wheel's files stay put
    assert answer.code_identity(str(package)) == installed
    time.sleep(0.01)
    record.write_text("stablebuild/validate.py,sha256=b,12\n")  # reinstalled
    assert answer.code_identity(str(package)) != installed

    env = {"HOME": "/home/u", "PATH": "/bin"}
    key = answer.memo_key(ARGV, "/stack", env)
    monkeypatch.setattr(answer, "current_code", lambda: [stablebuild.__version__, "other code"])
    assert answer.memo_key(ARGV, "/stack", env) != key


def test_a_damaged_or_older_memo_is_no_answer(stack: Path, tmp_path: Path) -> None:
    folder = answer.memo_folder(tmp_path)
    write_signed(folder / "a.json", "{not json")
    write_signed(folder / "b.json", json.dumps({"memo": 0, "key": "b"}))
    write_signed(folder / "c.json", json.dumps({"memo": answer.MEMO_VERSION, "key": "c"}))
    (folder / "e.json").write_bytes(b"\xff\xfe not text")
    assert [answer.read(k, tmp_path) for k in "abcde"] == [None] * 5


def test_a_memo_signed_elsewhere_or_for_another_key_never_answers(
    stack: Path, tmp_path: Path, engine_socket: str, config_home: Path
) -> None:
    """A CI cache restored from another job, or a memo copied to another name."""
    env = environ(tmp_path, engine_socket)
    memo = make_memo(ARGV, stack, env)
    answer.write(memo, tmp_path)
    assert answer.read(memo.key, tmp_path) == memo
    assert (config_home / "stablebuild" / "answer.key").stat().st_mode & 0o777 == 0o600
    folder = answer.memo_folder(tmp_path)
    assert (folder / f"{memo.key}.json").stat().st_mode & 0o777 == 0o600  # a whole report
    (folder / "other.json").write_bytes((folder / f"{memo.key}.json").read_bytes())
    assert answer.read("other", tmp_path) is None
    (config_home / "stablebuild" / "answer.key").write_text("another user's key " * 4)
    assert answer.read(memo.key, tmp_path) is None
    (config_home / "stablebuild" / "answer.key").unlink()
    assert answer.read(memo.key, tmp_path) is None


def test_a_tree_too_large_is_not_remembered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for i in range(30):
        (tmp_path / f"f{i}").write_text("")
    monkeypatch.setattr(answer, "MAX_ENTRIES", 20)
    assert answer.tree(str(tmp_path), []) is None
    monkeypatch.setattr(answer, "MAX_ENTRIES", 40)
    assert answer.tree(str(tmp_path), []) is not None


def test_a_symlink_and_what_it_leads_to_both_count(tmp_path: Path) -> None:
    (tmp_path / "a").write_text("1")
    (tmp_path / "b").write_text("2")
    (tmp_path / "link").symlink_to("a")
    before = answer.tree(str(tmp_path), [])
    (tmp_path / "a").write_text("changed")
    assert answer.tree(str(tmp_path), []) != before
    before = answer.tree(str(tmp_path), [])
    (tmp_path / "link").unlink()
    (tmp_path / "link").symlink_to("b")
    assert answer.tree(str(tmp_path), []) != before


@pytest.mark.parametrize(
    "damage",
    [
        {"params": {"format": "nope"}},
        {"params": None},
        {"events": [["api"]]},
        {"report": {"stack": "shop"}},
        {"root": 7},
    ],
    ids=["unknown format", "no params", "short event", "partial report", "root not a path"],
)
def test_a_foreign_memo_is_the_full_commands_to_answer(
    stack: Path,
    tmp_path: Path,
    engine_socket: str,
    monkeypatch: pytest.MonkeyPatch,
    damage: dict[str, Any],
) -> None:
    """A memo of another shape (a poisoned CI cache, another version) never breaks the
    program: the full command runs."""
    from stablebuild import verdict

    env = environ(tmp_path, engine_socket)
    memo = make_memo(ARGV, stack, env)
    foreign = {**memo._asdict(), **damage}
    folder = answer.memo_folder(tmp_path / "cache" / "stablebuild")
    write_signed(folder / f"{memo.key}.json", json.dumps({"memo": answer.MEMO_VERSION, **foreign}))
    monkeypatch.chdir(stack)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert verdict.answer(ARGV) is None


def test_a_working_folder_gone_is_the_full_commands_to_answer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from stablebuild import verdict

    gone = tmp_path / "gone"
    gone.mkdir()
    monkeypatch.chdir(gone)
    gone.rmdir()
    assert verdict.answer(ARGV) is None


def test_only_the_newest_memos_are_kept(
    stack: Path, tmp_path: Path, engine_socket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(answer, "KEEP", 3)
    env = environ(tmp_path, engine_socket)
    keys = []
    for i in range(5):
        memo = make_memo([*ARGV, "-j", str(i + 1)], stack, env)
        answer.write(memo, tmp_path)
        os.utime(answer.memo_folder(tmp_path) / f"{memo.key}.json", ns=(i * 10**9, i * 10**9))
        keys.append(memo.key)
    answer.write(make_memo([*ARGV, "-j", "9"], stack, env), tmp_path)
    left = {p.stem for p in answer.memo_folder(tmp_path).glob("*.json")}
    assert len(left) == 3 and keys[0] not in left and keys[4] in left


@pytest.mark.parametrize(
    ("location", "setting", "refused"),
    [
        ("postgresql://ci:s3cret@db:5432/builds", None, True),
        (None, "postgresql://db/builds?password=s3cret", True),
        ("postgresql://ci@db:5432/builds", "off", False),
        (".stablebuild/history.sqlite", None, False),
    ],
)
def test_a_history_url_with_a_password_is_never_kept_in_a_memo(
    location: str | None, setting: str | None, refused: bool
) -> None:
    from stablebuild.verdict import _password_in

    history = {"location": location, "setting": setting}
    assert (_password_in(history) is not None) is refused

"""The remembered answer: an unchanged `validate` or `audit` answered without loading the
machinery.

A run whose answer can be given again leaves a memo under the digest of its command line, its
working folder and the environment that configures stablebuild, Docker, pip and hadolint. The
memo says which command it answers (`kind`), holds what that command's ending needs (its
parameters and report; for `validate` also the progress events it emitted) and what the answer
depends on:

- every file and folder under the stack's (or the audited) folder, by stat signature (size,
  mode, inode, modification and change times; a folder counts by its entries), except
  stablebuild's own `.stablebuild/`, the command's `-o` files, and `.git/`'s contents where
  the answer does not read them;
- the files read from outside it: files the command line names, `pyproject.toml` (and `.git`)
  in every folder above, pip's configuration files, Docker's `config.json` for `validate`;
  for `audit` also the package index's cached pages it used, its vulnerability database and
  hadolint (the program, wherever it could be found, and its configuration files);
- folders read whole (an audit's vulnerability database), and paths whose real path counts;
- when the answer stops being true by the clock alone (an index page cached for a day);
- environment values the compose files name;
- for `validate`, the engine: its unix socket, what `/info` says it is, and the id of every
  image the answer used (the images themselves, their bases, the stack's supporting images).

The next invocation with the same key checks all of that (a stat walk and, for `validate`, a
few requests on the engine's socket, through the standard library only) and, when nothing
differs, replays the memo through the same renderers as the full command (`verdict.py`,
`audit/answer.py`). Anything different, unknown or unreadable is a miss, and the full command
runs as if there were no memo.

Memos are JSON files in the user's cache folder, written atomically and signed with a key kept
outside it (a cache restored from another machine or job never answers); they hold no secret:
a run whose report carries a secret value is not remembered.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import stat
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from stablebuild import __version__
from stablebuild.paths import memo_folder

if TYPE_CHECKING:
    from stablebuild.engine.unixapi import Sent

MEMO_VERSION = 4
KEEP = 64  # memos kept; the least recently written go first
# A tree larger than this is not remembered: walking it would cost more than the answer saves.
MAX_ENTRIES = 20_000
# Settings read from the environment by stablebuild, the Docker client, pip and hadolint.
_ENV_PREFIXES = ("STABLEBUILD_", "DOCKER_", "PIP_", "XDG_", "HADOLINT_")
_ENV_NAMES = ("HOME", "PATH", "USER")
_INFO_FIELDS = (
    "ID",
    "Name",
    "ServerVersion",
    "OSType",
    "Architecture",
    "NCPU",
    "MemTotal",
    "DefaultRuntime",
    "KernelVersion",
    "OperatingSystem",
    "Driver",
    "Labels",
)


def memo_key(argv: Sequence[str], cwd: str, environ: Mapping[str, str]) -> str:
    """The digest of one invocation: the program, the command line, the folder, the settings'
    environment."""
    settings = {
        name: value
        for name, value in sorted(environ.items())
        if name.startswith(_ENV_PREFIXES) or name in _ENV_NAMES
    }
    # NOTE: the program itself counts: another installation reads its own pip.conf, finds its
    # own hadolint beside its interpreter; other code (a reinstall, a working copy edited)
    # judges differently under the same version number
    program = [sys.executable, sys.version_info[:2], current_code()]
    text = json.dumps(["answer", MEMO_VERSION, *program, list(argv), cwd, settings])
    return hashlib.sha256(text.encode()).hexdigest()


@functools.cache
def current_code() -> Any:
    """This stablebuild: its version and `code_identity`. What every remembered answer and
    cached judgment is keyed by, besides what it judged (asked once per process)."""
    return [__version__, code_identity(os.path.dirname(os.path.abspath(__file__)))]


def code_identity(package: str) -> Any:
    """What tells this stablebuild's code from other code with the same version: an installed
    wheel's RECORD beside the package (every install rewrites it), else (a working copy, an
    editable install) the signature of every file of the package, bytecode left out."""
    record = os.path.join(
        os.path.dirname(package), f"stablebuild-{__version__}.dist-info", "RECORD"
    )
    found = signature(record)
    if found is not None:
        return found
    files: dict[str, list[int] | None] = {}
    for folder, folders, names in os.walk(package):
        # NOTE: bytecode comes and goes (a run writes what it imported first)
        folders[:] = sorted(f for f in folders if f != "__pycache__")
        for name in sorted(names):
            path = os.path.join(folder, name)
            files[os.path.relpath(path, package)] = signature(path)
    return files


# --- what an answer depends on ----------------------------------------------------------------


def signature(path: str) -> list[int] | None:
    """What changes when the file or folder at `path` does; None when there is nothing there."""
    try:
        return _stat_signature(os.stat(path))
    except (OSError, ValueError):
        return None


def _stat_signature(st: os.stat_result) -> list[int]:
    if stat.S_ISDIR(st.st_mode):  # NOTE: a folder counts by its entries (see `tree`)
        return [st.st_mode, st.st_ino]
    return [st.st_mode, st.st_size, st.st_ino, st.st_mtime_ns, st.st_ctime_ns]


def tree(
    root: str, skip: Iterable[str], shallow: Iterable[str] = ()
) -> dict[str, list[int]] | None:
    """Every entry under `root` (relative path -> signature), symbolic links not followed
    into folders; None when there are more than MAX_ENTRIES. Entries in `skip` (relative
    paths) are left out; folders named in `shallow` count themselves, not what they hold
    (`.git`, wherever it is: whether there is one).

    A folder counts by its entries (all listed), not its times: a `-o` file replaced in the
    stack's folder changes that folder's times on every run without changing any answer.
    """
    skipped = {os.path.normpath(os.path.join(root, s)) for s in skip}
    closed = set(shallow)
    found: dict[str, list[int]] = {}
    pending = [root]
    while pending:
        folder = pending.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            return None
        for entry in entries:
            if entry.path in skipped:
                continue
            rel = os.path.relpath(entry.path, root)
            try:
                st = entry.stat(follow_symlinks=False)
                if stat.S_ISLNK(st.st_mode):  # NOTE: the link and what it leads to both count
                    found[rel + "@"] = [st.st_ino, st.st_mtime_ns]
                    st = entry.stat()
            except OSError:
                found[rel] = []
                continue
            found[rel] = _stat_signature(st)
            if stat.S_ISDIR(st.st_mode) and not entry.is_symlink() and entry.name not in closed:
                pending.append(entry.path)
            if len(found) > MAX_ENTRIES:
                return None
    return found


def outside_files(
    named: Sequence[str],
    root: str,
    environ: Mapping[str, str],
    *,
    above: Sequence[str] = ("pyproject.toml",),
    docker: bool = True,
) -> list[str]:
    """Files read from outside the manifest's folder that can change an answer: those the
    command line named, those the configuration layer and pip read, and Docker's (`docker`).
    `above`: the names looked for in every folder from `root` up (`.git` says where the work
    tree's root is: where pyproject.toml is looked for, and what an audit's paths are relative
    to)."""
    from stablebuild import pipconfig

    paths = [os.path.abspath(p) for p in named]
    folder = os.path.realpath(root)
    while True:  # up to the file system's root
        paths += [os.path.join(folder, name) for name in above]
        parent = os.path.dirname(folder)
        if parent == folder:
            break
        folder = parent
    home = Path(environ.get("HOME") or Path.home())
    paths += [str(p) for p in pipconfig.config_files(environ, home, Path(sys.prefix))]
    if docker:
        config = environ.get("DOCKER_CONFIG") or str(home / ".docker")
        paths.append(os.path.join(config, "config.json"))
    return sorted(set(paths))


def environment(names: Iterable[str], environ: Mapping[str, str]) -> dict[str, str | None]:
    """The named values, hashed: the memo holds no value, only whether it changed."""
    return {
        name: None
        if environ.get(name) is None
        else hashlib.sha256(environ[name].encode()).hexdigest()
        for name in sorted(set(names))
    }


# --- the engine -------------------------------------------------------------------------------


def engine_identity(info: Any) -> dict[str, Any] | None:
    """What the engine says it is (the fields a report or a judgment can depend on), from its
    `/info`. NOTE: `/info` alone: its ServerVersion fixes the API version `/version` would add."""
    if not isinstance(info, dict):
        return None
    found = {k: info.get(k) for k in _INFO_FIELDS}
    found["Runtimes"] = sorted((info.get("Runtimes") or {}).keys())
    return found


# --- the memo ---------------------------------------------------------------------------------


class Memo(NamedTuple):  # NOTE: not a dataclass: read by every remembered answer (events.py)
    """One remembered answer (see the module's docstring)."""

    key: str
    params: dict[str, Any]  # what the command's ending needs (verdict.py, audit/answer.py)
    report: dict[str, Any]  # report/codec.py data; an audit's: audit/answer.py's
    events: list[list[Any]]  # [image, kind, message, step, total]
    root: str
    skip: list[str]  # under root, relative
    tree: dict[str, list[int]]
    files: dict[str, list[int] | None]
    environment: dict[str, str | None]
    engine: dict[str, Any]  # {}: the answer does not depend on an engine
    images: dict[str, str]  # reference or id -> id
    folders: dict[str, dict[str, list[int]]]  # read whole
    resolved: dict[str, str]  # path -> its real path
    socket: str = ""  # "": the answer does not depend on an engine
    kind: str = "validate"  # the command it answers
    shallow: tuple[str, ...] = ()  # folder names counted, not walked
    expires: float | None = None  # when it stops being true by the clock alone

    def to_json(self) -> str:
        data = {"memo": MEMO_VERSION, **self._asdict()}
        return json.dumps(data)  # NOTE: not sorted: the report keeps its keys in its order

    @classmethod
    def from_json(cls, text: str) -> Memo | None:
        try:
            data = json.loads(text)
            if not isinstance(data, dict) or data.pop("memo", None) != MEMO_VERSION:
                return None
            return cls(**{**data, "shallow": tuple(data.get("shallow", ()))})
        except (ValueError, TypeError):
            return None


def signing_key(*, create: bool) -> bytes | None:
    """This user's key for memos, kept outside the cache folder (`$XDG_CONFIG_HOME/stablebuild/
    answer.key`, mode 0600): a cache restored from elsewhere (a CI cache another job wrote) was
    signed with another key, and never answers. None when there is none (and `create` is off,
    or it cannot be written)."""
    folder = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    path = os.path.join(folder, "stablebuild", "answer.key")
    try:
        with open(path, "rb") as file:
            key = file.read(256)
        return key if len(key) >= 32 else None
    except OSError:
        if not create:
            return None
    try:
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # NOTE: another run made it this instant: use that one
        return signing_key(create=False)
    except OSError:
        return None
    key = os.urandom(32).hex().encode()
    with os.fdopen(fd, "wb") as file:
        file.write(key)
    return key


def _signature(key: bytes, text: str) -> str:
    import hmac

    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


def write(memo: Memo, cache_dir: Path | None = None) -> None:
    """Written atomically, signed (`signing_key`); the oldest memos beyond KEEP are removed
    (one per command line, folder and settings: a CI job whose environment changes every run
    would pile them up)."""
    from stablebuild import atomic

    key = signing_key(create=True)
    if key is None:
        return
    folder = memo_folder(cache_dir)
    text = memo.to_json()
    with contextlib.suppress(OSError):  # NOTE: a read-only cache only costs speed
        # NOTE: 0600, as the key: a memo holds a whole report (paths, image ids, findings)
        atomic.write_text(
            folder / f"{memo.key}.json",
            _signature(key, text) + "\n" + text,
            mode=0o600,
            make_parents=True,
        )
        memos = sorted(folder.glob("*.json"), key=lambda p: p.stat().st_mtime_ns, reverse=True)
        for old in memos[KEEP:]:
            old.unlink()


def forget(key: str, cache_dir: Path | None = None) -> None:
    with contextlib.suppress(OSError):
        (memo_folder(cache_dir) / f"{key}.json").unlink()


def read(key: str, cache_dir: Path | None = None, *, kind: str = "validate") -> Memo | None:
    """The memo for `key`, when this user's key signed it and it is for that key and command."""
    import hmac

    signer = signing_key(create=False)
    if signer is None:
        return None
    try:
        with open(memo_folder(cache_dir) / f"{key}.json", encoding="utf-8") as file:
            signed = file.read(64 * 1024 * 1024)
    except (OSError, UnicodeDecodeError):
        return None
    signature, _, text = signed.partition("\n")
    if not hmac.compare_digest(signature, _signature(signer, text)):
        return None
    memo = Memo.from_json(text)
    return memo if memo is not None and memo.key == key and memo.kind == kind else None


def recall(
    argv: Sequence[str], kind: str, *, info: tuple[str, Sent] | None = None
) -> tuple[Memo, Callable[[], str | None]] | None:
    """The memo for this command line, its checks begun (`checking`: call the second value for
    the verdict); None when there is none. Anything odd (a damaged memo, a folder gone) is
    None too: the full command meets it and says what it is. `info`: `/info` already sent to
    an engine (`unixapi.ask_info`), used when the memo's engine is that one, else closed."""
    try:
        memo = read(memo_key(argv, os.getcwd(), os.environ), kind=kind)
        if memo is not None:
            return memo, checking(memo, os.environ, info=info)
    except Exception:
        pass
    if info is not None:
        info[1].close()
    return None


def still_true(memo: Memo, environ: Mapping[str, str], now: float | None = None) -> str | None:
    """Why the memo no longer answers (None: it does)."""
    return checking(memo, environ, now)()


def checking(
    memo: Memo,
    environ: Mapping[str, str],
    now: float | None = None,
    *,
    info: tuple[str, Sent] | None = None,
) -> Callable[[], str | None]:
    """`still_true` in two halves: the engine's questions are sent first, the local checks
    made while it works on them; the call returned waits for its answers (the caller can load
    what the replay needs meanwhile) and says why the memo no longer answers, or None."""
    engine = _EngineAsked(memo, info)
    why = _local_change(memo, environ, now)
    if why is not None:
        engine.close()
        return lambda: why
    return engine.changed


def _local_change(memo: Memo, environ: Mapping[str, str], now: float | None) -> str | None:
    """What changed on this machine (cheapest checks first), or None."""
    if environment(memo.environment, environ) != memo.environment:
        return "an environment value the compose files name changed"
    if memo.expires is not None and (time.time() if now is None else now) >= memo.expires:
        return "a cached answer it used has expired"
    for path, real in memo.resolved.items():
        if os.path.realpath(path) != real:
            return f"{path} leads elsewhere"
    for path, sig in memo.files.items():
        if signature(path) != sig:
            return f"{path} changed"
    if tree(memo.root, memo.skip, memo.shallow) != memo.tree:
        return f"a file under {memo.root} changed"
    for folder, entries in memo.folders.items():
        if tree(folder, ()) != entries:
            return f"a file under {folder} changed"
    return None


class EngineQuestions:
    """What the engine on the unix socket `path` is (`engine_identity`) and the id of each
    image in `refs`, asked at once: a connection each, the engine answers them side by side
    while the caller does something else. What a memo records, and what checking it compares.
    Unanswered (from `engine/unixapi.py`) when the engine cannot be reached or answers badly."""

    def __init__(self, path: str, refs: Iterable[str], info: Sent | None = None) -> None:
        """`info`: `/info` already sent to this engine."""
        from stablebuild.engine.unixapi import EngineSocket

        socket = EngineSocket(path)
        self.refs = list(refs)
        self.sent: list[Sent] = [] if info is None else [info]
        try:
            if info is None:
                self.sent.append(socket.request("GET", "/info"))
            self.sent += [socket.ask_image(ref) for ref in self.refs]
        except BaseException:
            self.close()
            raise

    def answers(self) -> tuple[dict[str, Any] | None, dict[str, str | None]]:
        """The engine's identity and each image's id (None: it has no such image)."""
        try:
            info, *images = self.sent
            ids = {ref: sent.image_id() for ref, sent in zip(self.refs, images, strict=True)}
            return engine_identity(info.json()), ids
        finally:
            self.close()

    def close(self) -> None:
        for sent in self.sent:
            sent.close()


class _EngineAsked:
    """The engine's part of a memo's checks (`EngineQuestions`); nothing without an engine."""

    def __init__(self, memo: Memo, info: tuple[str, Sent] | None = None) -> None:
        self.memo = memo
        self.questions: EngineQuestions | None = None
        self.problem: str | None = None
        sent = None
        if info is not None:
            path, sent = info
            if path != memo.socket:
                sent.close()
                sent = None
        if not memo.socket:
            return
        from stablebuild.engine.unixapi import Unanswered

        try:
            self.questions = EngineQuestions(memo.socket, memo.images, sent)
        except Unanswered as exc:
            self.problem = f"the engine did not answer: {exc}"

    def changed(self) -> str | None:
        """Why the engine's answers differ from the memo's, or None (and None without one)."""
        from stablebuild.engine.unixapi import Unanswered

        if self.questions is None:
            return self.problem
        try:
            identity, ids = self.questions.answers()
        except Unanswered as exc:
            return f"the engine did not answer: {exc}"
        if identity != self.memo.engine:
            return "the engine changed"
        for ref, image_id in self.memo.images.items():
            if ids[ref] != image_id:
                return f"image {ref} changed"
        return None

    def close(self) -> None:
        if self.questions is not None:
            self.questions.close()


__all__ = [
    "MAX_ENTRIES",
    "EngineQuestions",
    "Memo",
    "checking",
    "code_identity",
    "current_code",
    "engine_identity",
    "environment",
    "forget",
    "memo_folder",
    "memo_key",
    "outside_files",
    "read",
    "recall",
    "signature",
    "signing_key",
    "still_true",
    "tree",
    "write",
]

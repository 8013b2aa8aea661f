"""The remembered answer: an unchanged `validate` answered without loading the machinery.

A run that answered entirely from the cache (every build reused, every image's checks and the
stack phase's verdict judged before) leaves a memo under the digest of its command line, its
working folder and the environment that configures stablebuild, Docker and pip. The memo holds
the report (before the history's regression checks, which are judged again), the progress
events the run emitted, the parameters its ending needs, and what the answer depends on:

- every file and folder under the manifest's folder, by stat signature (size, mode, inode,
  modification and change times; a folder's times change when an entry is added or removed),
  except stablebuild's own `.stablebuild/`, the command's `-o` files, and `.git/` when no build
  context sends it;
- the files read from outside it: files the command line names, `pyproject.toml` in every
  folder above, pip's configuration files, Docker's `config.json`;
- environment values the compose files name;
- the engine: its unix socket, what `/info` and `/version` say it is, and the id of every image
  the answer used (the images themselves, their bases, the stack's supporting images).

The next invocation with the same key checks all of that (a stat walk and a few requests on
the engine's socket, through the standard library only) and, when nothing differs, replays the
memo through the same renderers as the full command (`verdict.py`). Anything different, unknown
or unreadable is a miss, and the full command runs as if there were no memo.

Memos are JSON files in the user's cache folder, written atomically and signed with a key kept
outside it (a cache restored from another machine or job never answers); they hold no secret:
a run whose report carries a secret value is not remembered.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stablebuild import __version__

MEMO_VERSION = 3
KEEP = 64  # memos kept; the least recently written go first
# A tree larger than this is not remembered: walking it would cost more than the answer saves.
MAX_ENTRIES = 20_000
# Settings read from the environment by stablebuild, the Docker client and pip.
_ENV_PREFIXES = ("STABLEBUILD_", "DOCKER_", "PIP_", "XDG_")
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


def memo_folder(cache_dir: Path | None = None) -> Path:
    from stablebuild.paths import default_cache_dir

    return (cache_dir or default_cache_dir()) / "validate" / "answers"


def memo_key(argv: Sequence[str], cwd: str, environ: Mapping[str, str]) -> str:
    """The digest of one invocation: the command line, the folder, the settings' environment."""
    settings = {
        name: value
        for name, value in sorted(environ.items())
        if name.startswith(_ENV_PREFIXES) or name in _ENV_NAMES
    }
    text = json.dumps(
        ["answer", MEMO_VERSION, __version__, sys.version_info[:2], list(argv), cwd, settings]
    )
    return hashlib.sha256(text.encode()).hexdigest()


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


def tree(root: str, skip: Iterable[str]) -> dict[str, list[int]] | None:
    """Every entry under `root` (relative path -> signature), symbolic links not followed
    into folders; None when there are more than MAX_ENTRIES.

    A folder counts by its entries (all listed), not its times: a `-o` file replaced in the
    stack's folder changes that folder's times on every run without changing any answer.
    """
    skipped = {os.path.normpath(os.path.join(root, s)) for s in skip}
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
            if stat.S_ISDIR(st.st_mode) and not entry.is_symlink():
                pending.append(entry.path)
            if len(found) > MAX_ENTRIES:
                return None
    return found


def outside_files(named: Sequence[str], root: str, environ: Mapping[str, str]) -> list[str]:
    """Files read from outside the manifest's folder that can change an answer: those the
    command line named, and those the configuration layer, pip and Docker read."""
    from stablebuild import pipconfig

    paths = [os.path.abspath(p) for p in named]
    folder = os.path.realpath(root)
    while True:  # the configuration layer's pyproject.toml, up to the file system's root
        paths.append(os.path.join(folder, "pyproject.toml"))
        parent = os.path.dirname(folder)
        if parent == folder:
            break
        folder = parent
    home = Path(environ.get("HOME") or Path.home())
    paths += [str(p) for p in pipconfig.config_files(environ, home, Path(sys.prefix))]
    docker = environ.get("DOCKER_CONFIG") or str(home / ".docker")
    paths.append(os.path.join(docker, "config.json"))
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


def engine_identity(socket: Any) -> dict[str, Any] | None:
    """What the engine says it is (the fields a report or a judgment can depend on). NOTE:
    `/info` alone: its ServerVersion fixes the API version `/version` would add."""
    info = socket.get_json("/info")
    if not isinstance(info, dict):
        return None
    found = {k: info.get(k) for k in _INFO_FIELDS}
    found["Runtimes"] = sorted((info.get("Runtimes") or {}).keys())
    return found


# --- the memo ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Memo:
    """One remembered answer (see the module's docstring)."""

    key: str
    params: dict[str, Any]  # what the command's ending needs (verdict.py)
    report: dict[str, Any]  # report/codec.py data
    events: list[list[Any]]  # [image, kind, message, step, total]
    root: str
    skip: list[str]  # under root, relative
    tree: dict[str, list[int]]
    files: dict[str, list[int] | None]
    environment: dict[str, str | None]
    socket: str
    engine: dict[str, Any]
    images: dict[str, str]  # reference or id -> id

    def to_json(self) -> str:
        data = {"memo": MEMO_VERSION, **self.__dict__}
        return json.dumps(data)  # NOTE: not sorted: the report keeps its keys in its order

    @classmethod
    def from_json(cls, text: str) -> Memo | None:
        try:
            data = json.loads(text)
            if not isinstance(data, dict) or data.pop("memo", None) != MEMO_VERSION:
                return None
            return cls(**data)
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
        atomic.write_text(
            folder / f"{memo.key}.json", _signature(key, text) + "\n" + text, make_parents=True
        )
        memos = sorted(folder.glob("*.json"), key=lambda p: p.stat().st_mtime_ns, reverse=True)
        for old in memos[KEEP:]:
            old.unlink()


def forget(key: str, cache_dir: Path | None = None) -> None:
    with contextlib.suppress(OSError):
        (memo_folder(cache_dir) / f"{key}.json").unlink()


def read(key: str, cache_dir: Path | None = None) -> Memo | None:
    """The memo for `key`, when this user's key signed it and it is for that key."""
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
    return memo if memo is not None and memo.key == key else None


def still_true(memo: Memo, environ: Mapping[str, str]) -> str | None:
    """Why the memo no longer answers (None: it does). Cheapest checks first."""
    from stablebuild.engine.unixapi import EngineSocket, Unanswered

    if environment(memo.environment, environ) != memo.environment:
        return "an environment value the compose files name changed"
    for path, sig in memo.files.items():
        if signature(path) != sig:
            return f"{path} changed"
    if tree(memo.root, memo.skip) != memo.tree:
        return f"a file under {memo.root} changed"
    socket = EngineSocket(memo.socket)
    try:
        if engine_identity(socket) != memo.engine:
            return "the engine changed"
        for ref, image_id in memo.images.items():
            if socket.image_id(ref) != image_id:
                return f"image {ref} changed"
    except Unanswered as exc:
        return f"the engine did not answer: {exc}"
    return None


__all__ = [
    "MAX_ENTRIES",
    "Memo",
    "engine_identity",
    "environment",
    "forget",
    "memo_key",
    "outside_files",
    "read",
    "signature",
    "still_true",
    "tree",
    "write",
]

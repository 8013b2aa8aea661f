"""Fetching the PyPA advisory database (github.com/pypa/advisory-database), for
`stablebuild vulndb update DIR` and `--online-vulns`.

GitHub's zip of the repository is downloaded (bounded), checked, and only its
`vulns/<package>/<id>.yaml` files are unpacked, into `DIR/vulns/`, which replaces the previous
copy in one rename; `DIR/SOURCE.json` says from where and when. Offline, or with GitHub out of
reach, the error is one line saying what to do instead; the previous copy stays as it was.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import shutil
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from stablebuild import atomic, urls
from stablebuild.audit.vulndb.interface import VulnDbError

PYPA_ZIP_URL = "https://github.com/pypa/advisory-database/archive/refs/heads/main.zip"
MAX_DOWNLOAD = 512 * 1024 * 1024
MAX_MEMBER = 4 * 1024 * 1024
FRESH_SECONDS = 24 * 3600
STAMP = "SOURCE.json"
VULNS = "vulns"
_CHUNK = 1024 * 1024
_MEMBER = re.compile(r"^(?:[^/]+/)?vulns/([A-Za-z0-9._-]+)/([A-Za-z0-9._-]+\.(?:ya?ml|json))$")


@dataclass(frozen=True)
class Updated:
    folder: Path  # the database to pass as --vuln-db
    advisories: int
    packages: int
    url: str  # credentials removed
    seconds: float


def update(
    folder: Path,
    url: str = PYPA_ZIP_URL,
    *,
    timeout: float = 60.0,
    clock: Callable[[], float] = time.time,
) -> Updated:
    """Fetch the database into `folder` (created if missing); VulnDbError when it cannot."""
    started = time.perf_counter()
    shown = urls.without_credentials(url)
    created = not folder.exists()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise VulnDbError(f"cannot create {folder}: {exc.strerror or exc}") from None
    fd, name = tempfile.mkstemp(prefix=".download.", suffix=".zip", dir=folder)
    download = Path(name)
    try:
        with os.fdopen(fd, "wb") as out:
            _fetch(url, shown, out, timeout)
        advisories, packages = _unpack(download, folder, shown)
    except BaseException:
        download.unlink(missing_ok=True)
        if created:  # NOTE: a failed first fetch leaves nothing behind
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise
    download.unlink(missing_ok=True)
    stamp = {"url": shown, "fetched_at": clock(), "advisories": advisories, "packages": packages}
    with contextlib.suppress(OSError):  # NOTE: without it the copy only looks old
        atomic.write_text(folder / STAMP, json.dumps(stamp, indent=2) + "\n")
    return Updated(folder, advisories, packages, shown, time.perf_counter() - started)


def cached(
    cache_dir: Path,
    *,
    offline: bool,
    timeout: float,
    url: str = PYPA_ZIP_URL,
    clock: Callable[[], float] = time.time,
) -> Path:
    """The folder of a copy at most a day old, fetched when needed; an older copy when the
    network fails; VulnDbError when there is none."""
    folder = cache_dir / "vulndb" / "pypa"
    have = (folder / VULNS).is_dir()
    if have and (offline or _age(folder, clock) < FRESH_SECONDS):
        return folder
    if offline:
        raise VulnDbError(
            "offline and no cached copy of the PyPA advisory database "
            "(run `stablebuild vulndb update DIR` where GitHub is reachable, then --vuln-db DIR)"
        )
    try:
        return update(folder, url, timeout=timeout, clock=clock).folder
    except VulnDbError:
        if have:
            return folder
        raise


def _age(folder: Path, clock: Callable[[], float]) -> float:
    try:
        stamp = json.loads((folder / STAMP).read_text(encoding="utf-8"))
        return clock() - float(stamp["fetched_at"])
    except (OSError, ValueError, KeyError, TypeError):
        return float("inf")


def _fetch(url: str, shown: str, out: IO[bytes], timeout: float) -> None:
    plain, creds = urls.split(url)
    headers = {"User-Agent": "stablebuild-vulndb"}
    if creds is not None:
        token = base64.b64encode(f"{creds.user}:{creds.password}".encode()).decode("ascii")
        headers["Authorization"] = f"Basic {token}"
    host = urls.without_credentials(plain).split("://", 1)[-1].split("/", 1)[0]
    request = urllib.request.Request(plain, headers=headers)
    size = 0
    try:
        with urllib.request.urlopen(request, timeout=timeout) as reply:
            while chunk := reply.read(_CHUNK):
                size += len(chunk)
                if size > MAX_DOWNLOAD:
                    raise VulnDbError(f"{shown}: larger than {MAX_DOWNLOAD >> 20} MiB; stopped")
                out.write(chunk)
    except urllib.error.HTTPError as exc:
        raise VulnDbError(
            f"cannot fetch the advisory database: {shown} answered HTTP {exc.code}"
        ) from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise VulnDbError(
            f"cannot fetch the advisory database: {host} unreachable ({urls.masked(str(reason))}); "
            "where there is no network, copy a checkout of github.com/pypa/advisory-database "
            "(or an OSV export) here and pass it as --vuln-db"
        ) from None


def _unpack(download: Path, folder: Path, shown: str) -> tuple[int, int]:
    """Unpack the `vulns/` files into `folder/vulns`, replacing the old copy in one rename."""
    try:
        archive = zipfile.ZipFile(download)
    except (OSError, zipfile.BadZipFile) as exc:
        raise VulnDbError(f"{shown} did not send a zip: {exc}") from None
    staging = Path(tempfile.mkdtemp(prefix=".vulns.", dir=folder))
    packages: set[str] = set()
    count = 0
    try:
        with archive:
            for info in archive.infolist():
                match = _MEMBER.match(info.filename)
                if match is None or info.is_dir():
                    continue
                if info.file_size > MAX_MEMBER:
                    continue  # NOTE: no advisory is that large; skip rather than unpack a bomb
                package, name = match.groups()
                if package in (".", "..") or name in (".", ".."):
                    continue
                target = staging / package
                target.mkdir(exist_ok=True)
                with archive.open(info) as member:
                    data = member.read(MAX_MEMBER + 1)
                if len(data) > MAX_MEMBER:
                    continue
                (target / name).write_bytes(data)
                packages.add(package)
                count += 1
        if not count:
            raise VulnDbError(
                f"{shown} holds no vulns/<package>/ advisories: not the PyPA advisory database"
            )
        _swap(staging, folder / VULNS)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return count, len(packages)


def _swap(staging: Path, target: Path) -> None:
    old = target.with_name(f".{VULNS}.old.{os.getpid()}")
    if target.exists():
        os.replace(target, old)
    os.replace(staging, target)
    shutil.rmtree(old, ignore_errors=True)


__all__ = ["PYPA_ZIP_URL", "Updated", "cached", "update"]

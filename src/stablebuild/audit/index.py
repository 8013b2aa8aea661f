"""A small client for a package index's PEP 691 JSON simple API, with a disk cache.

One JSON file per project under `<cache_dir>/index/<index>/`, reused while fresh (24 h); offline
uses only the cache. Network failures become answers with a `problem`, never exceptions, and the
first unreachable answer stops further attempts so a dead network costs one timeout, not one per
project. Projects are fetched concurrently.
"""

from __future__ import annotations

import contextlib
import json
import re
import ssl
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name

from stablebuild import atomic
from stablebuild.audit.options import AuditOptions

ACCEPT = "application/vnd.pypi.simple.v1+json"
FRESH_SECONDS = 24 * 3600
MAX_WORKERS = 16


class IndexUnavailable(Exception):
    """The index gave no usable answer. `unreachable`: the network itself failed."""

    def __init__(self, reason: str, *, unreachable: bool = False) -> None:
        super().__init__(reason)
        self.unreachable = unreachable


@dataclass(frozen=True)
class DistFile:
    filename: str
    requires_python: str | None = None
    yanked: bool = False
    yanked_reason: str | None = None


@dataclass(frozen=True)
class ProjectPage:
    """What the index lists for one project; `found` is False when it answered 404."""

    name: str
    files: tuple[DistFile, ...]
    found: bool = True
    fetched_at: float = 0.0


@dataclass(frozen=True)
class IndexAnswer:
    name: str
    page: ProjectPage | None
    problem: str | None = None  # why there is no page: offline cache miss, network failure
    stale: bool = False  # an old cached page used because the index could not be reached


Fetch = Callable[[str], ProjectPage]  # canonical name -> page; raises IndexUnavailable


class SimpleIndex:
    """Answers "which files does the index hold for X?" from cache or network."""

    def __init__(
        self,
        url: str,
        cache_dir: Path,
        *,
        timeout: float = 10.0,
        offline: bool = False,
        fetch: Fetch | None = None,
        max_age: float = FRESH_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.url = url.rstrip("/")
        self.cache_dir = cache_dir / "index" / _slug(self.url)
        self.timeout = timeout
        self.offline = offline
        self.max_age = max_age
        self._clock = clock
        self._fetch = fetch or self._fetch_http
        self._down: str | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_options(cls, options: AuditOptions, fetch: Fetch | None = None) -> SimpleIndex:
        return cls(
            options.index_url,
            options.cache_dir,
            timeout=options.index_timeout,
            offline=options.offline,
            fetch=fetch,
        )

    def cache_path(self, name: str) -> Path:
        return self.cache_dir / f"{canonicalize_name(name)}.json"

    def lookup(self, names: Iterable[str]) -> dict[str, IndexAnswer]:
        wanted = sorted({canonicalize_name(n) for n in names})
        answers: dict[str, IndexAnswer] = {}
        cached: dict[str, ProjectPage] = {}
        for name in wanted:
            page = self.read_cache(name)
            if page is not None:
                cached[name] = page
            fresh = page is not None and self._clock() - page.fetched_at < self.max_age
            if page is not None and (fresh or self.offline):
                answers[name] = IndexAnswer(name, page)
            elif self.offline:
                answers[name] = IndexAnswer(name, None, "offline and no cached index answer")
        missing = [n for n in wanted if n not in answers]
        if missing:
            workers = min(MAX_WORKERS, len(missing))
            with ThreadPoolExecutor(max_workers=workers) as pool:
                for name, answer in zip(missing, pool.map(self._answer, missing), strict=True):
                    if answer.page is None and name in cached:
                        answer = IndexAnswer(name, cached[name], answer.problem, stale=True)
                    answers[name] = answer
        return answers

    def read_cache(self, name: str) -> ProjectPage | None:
        try:
            data = json.loads(self.cache_path(name).read_text(encoding="utf-8"))
            files = tuple(
                DistFile(
                    f["filename"], f.get("requires_python"), bool(f.get("yanked")), f.get("why")
                )
                for f in data["files"]
            )
            return ProjectPage(data["name"], files, bool(data["found"]), float(data["fetched_at"]))
        except (OSError, ValueError, KeyError, TypeError):
            return None  # absent or damaged: treat as a miss

    def write_cache(self, page: ProjectPage) -> None:
        files = []
        for f in page.files:
            entry: dict[str, Any] = {"filename": f.filename}
            if f.requires_python:
                entry["requires_python"] = f.requires_python
            if f.yanked:
                entry["yanked"] = True
                entry["why"] = f.yanked_reason
            files.append(entry)
        data = {"name": page.name, "index": self.url, "found": page.found}
        data |= {"fetched_at": page.fetched_at, "files": files}
        path = self.cache_path(page.name)
        with contextlib.suppress(OSError):  # NOTE: a read-only cache only costs speed
            atomic.write_text(path, json.dumps(data, separators=(",", ":")))

    def _answer(self, name: str) -> IndexAnswer:
        if self._down is not None:
            return IndexAnswer(name, None, self._down)
        try:
            page = self._fetch(name)
        except IndexUnavailable as exc:
            if exc.unreachable:
                with self._lock:
                    self._down = self._down or str(exc)
            return IndexAnswer(name, None, str(exc))
        if not page.fetched_at:
            page = ProjectPage(page.name, page.files, page.found, self._clock())
        self.write_cache(page)
        return IndexAnswer(name, page)

    def _fetch_http(self, name: str) -> ProjectPage:
        request = urllib.request.Request(
            f"{self.url}/{name}/", headers={"Accept": ACCEPT, "User-Agent": "stablebuild-audit"}
        )
        context = ssl.create_default_context()  # honours SSL_CERT_FILE / the host CA bundle
        try:
            with urllib.request.urlopen(request, timeout=self.timeout, context=context) as reply:
                kind = reply.headers.get("Content-Type", "")
                body = reply.read()
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return ProjectPage(name, (), found=False, fetched_at=self._clock())
            raise IndexUnavailable(f"{self.url} answered HTTP {exc.code} for {name}") from exc
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise IndexUnavailable(f"{self.url} unreachable: {reason}", unreachable=True) from exc
        if "json" not in kind:
            raise IndexUnavailable(
                f"{self.url} did not answer with PEP 691 JSON (Content-Type {kind or 'none'})"
            )
        try:
            return parse_page(name, json.loads(body), self._clock())
        except (ValueError, KeyError, TypeError) as exc:
            raise IndexUnavailable(f"{self.url} sent a malformed answer for {name}") from exc


def parse_page(name: str, data: dict[str, Any], fetched_at: float = 0.0) -> ProjectPage:
    """A PEP 691 project page (`files`: filename, requires-python, yanked) as a ProjectPage."""
    files = []
    for entry in data["files"]:
        yanked = entry.get("yanked", False)
        files.append(
            DistFile(
                filename=str(entry["filename"]),
                requires_python=entry.get("requires-python") or None,
                yanked=bool(yanked),
                yanked_reason=yanked if isinstance(yanked, str) and yanked else None,
            )
        )
    return ProjectPage(canonicalize_name(name), tuple(files), True, fetched_at)


def _slug(url: str) -> str:
    return re.sub(r"[^A-Za-z0-9.-]+", "_", url.split("://", 1)[-1]).strip("_") or "index"

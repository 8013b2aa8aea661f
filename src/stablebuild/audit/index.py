"""A small client for a package index's simple API (PEP 691 JSON, PEP 503 HTML), with a disk cache.

JSON is asked for first and HTML accepted (devpi, Artifactory, a folder behind a web server);
an answer without a telling Content-Type is read by its first byte. Credentials come from the
URL's userinfo (`https://user:token@host/simple`, what PIP_INDEX_URL holds) or, without one,
from `~/.netrc` (`$NETRC`) for the host, as pip does; they are sent as HTTP basic auth and never
leave this module: every message, cache folder and cache file names the index without them.
An index that refuses (401, 403), fails (5xx) or cannot be reached is `down` after its first
answer: the rest of its projects are not asked, and the audit says so once.

One JSON file per project under `<cache_dir>/index/<index>/`, reused while fresh (24 h); offline
uses only the cache. Network failures become answers with a `problem`, never exceptions, and the
first unreachable answer stops further attempts so a dead network costs one timeout, not one per
project. Projects are fetched concurrently.

Every file name is parsed (with `packaging.utils`) once: when the page is fetched. The cache keeps
the page grouped by release with each wheel's tags (`releases.py`), so a warm audit parses no
file name; a page read once stays in memory while its cache file is unchanged.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import json
import netrc
import os
import re
import ssl
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from stat import S_ISREG
from typing import Any

from packaging.utils import canonicalize_name

from stablebuild import atomic, textfile, urls
from stablebuild.audit.options import AuditOptions
from stablebuild.audit.releases import DistFile, Releases

ACCEPT = (
    "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, "
    "text/html;q=0.01"
)
FRESH_SECONDS = 24 * 3600
MAX_WORKERS = 16
CACHE_FORMAT = 3  # 1 (no "format" key): a flat file list; 3: files grouped by release
MEMO_PAGES = 8192  # pages kept in memory between audits of one process
MAX_PAGE_BYTES = 64 * 1024 * 1024  # the largest PyPI pages, grouped, are a few MiB


class IndexUnavailable(Exception):
    """The index gave no usable answer. `unreachable`: the network itself failed."""

    def __init__(self, reason: str, *, unreachable: bool = False) -> None:
        super().__init__(reason)
        self.unreachable = unreachable


class ProjectPage:
    """What the index lists for one project; `found` is False when it answered 404.

    Built from a file list (a fetch, a test) or from the cache's releases; each view of the
    other is made once, when first asked for.
    """

    __slots__ = ("_files", "_releases", "fetched_at", "found", "name")

    def __init__(
        self,
        name: str,
        files: Iterable[DistFile] | None = (),
        found: bool = True,
        fetched_at: float = 0.0,
        *,
        releases: Releases | None = None,
    ) -> None:
        self.name = name
        self.found = found
        self.fetched_at = fetched_at
        self._releases = releases
        self._files = None if files is None or releases is not None else tuple(files)

    @property
    def files(self) -> tuple[DistFile, ...]:
        if self._files is None:
            self._files = self.releases.all_files()
        return self._files

    @property
    def releases(self) -> Releases:
        if self._releases is None:
            self._releases = Releases.of(self._files or ())
        return self._releases

    def refreshed(self, fetched_at: float) -> ProjectPage:
        """The same page, stamped with another fetch time (its parsed views are shared)."""
        return ProjectPage(self.name, self._files, self.found, fetched_at, releases=self._releases)

    def __repr__(self) -> str:
        return f"ProjectPage({self.name!r}, found={self.found}, releases={len(self.releases)})"


@dataclass(frozen=True)
class IndexAnswer:
    name: str
    page: ProjectPage | None
    problem: str | None = None  # why there is no page: offline cache miss, network failure
    stale: bool = False  # an old cached page used because the index could not be reached
    index: str = ""  # the index that answered (credentials removed), for messages


_MEMO: dict[Path, tuple[int, int, ProjectPage]] = {}  # cache file -> (mtime_ns, size, page)
_MEMO_LOCK = threading.Lock()


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
        # NOTE: messages, cache paths and cache files only ever see the URL without them
        self.url, self._credentials = urls.split(url.rstrip("/"))
        self.display = self.url
        self.cache_dir = cache_dir / "index" / _slug(self.display)
        self.timeout = timeout
        self.offline = offline
        self.max_age = max_age
        self._clock = clock
        self._fetch = fetch or self._fetch_http
        self._down: str | None = None
        self._lock = threading.Lock()

    @property
    def down(self) -> str | None:
        """Why the index stopped being asked (unreachable, refused, failing); None if it was
        not."""
        return self._down

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
                answers[name] = IndexAnswer(name, page, index=self.display)
            elif self.offline:
                answers[name] = IndexAnswer(
                    name, None, "offline and no cached index answer", index=self.display
                )
        missing = [n for n in wanted if n not in answers]
        if missing:
            workers = min(MAX_WORKERS, len(missing))
            with ThreadPoolExecutor(max_workers=workers) as pool:
                for name, answer in zip(missing, pool.map(self._answer, missing), strict=True):
                    if answer.page is None and name in cached:
                        answer = IndexAnswer(
                            name, cached[name], answer.problem, stale=True, index=self.display
                        )
                    answers[name] = answer
        return answers

    def read_cache(self, name: str) -> ProjectPage | None:
        """The cached page, from memory while its file is unchanged; None when absent or damaged."""
        path = self.cache_path(name)
        try:
            stat = path.stat()
        except OSError:
            return None
        if not S_ISREG(stat.st_mode) or stat.st_size > MAX_PAGE_BYTES:
            return None  # NOTE: never block on a FIFO or swallow a runaway file: a miss
        memo = _MEMO.get(path)
        if memo is not None and memo[:2] == (stat.st_mtime_ns, stat.st_size):
            return memo[2]
        try:
            page = _page_from_cache(json.loads(path.read_bytes()))
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None  # damaged: treat as a miss
        _remember(path, stat.st_mtime_ns, stat.st_size, page)
        return page

    def write_cache(self, page: ProjectPage) -> None:
        data = {"format": CACHE_FORMAT, "name": page.name, "index": self.display}
        data |= {"found": page.found, "fetched_at": page.fetched_at}
        data["releases"] = dict(page.releases.grouped())
        path = self.cache_path(page.name)
        text = json.dumps(data, separators=(",", ":"))
        with contextlib.suppress(OSError):  # NOTE: a read-only cache only costs speed
            atomic.write_text(path, text, make_parents=True)
            stat = path.stat()
            _remember(path, stat.st_mtime_ns, stat.st_size, page)

    def _answer(self, name: str) -> IndexAnswer:
        if self._down is not None:
            return IndexAnswer(name, None, self._down, index=self.display)
        try:
            page = self._fetch(name)
        except IndexUnavailable as exc:
            if exc.unreachable:
                with self._lock:
                    self._down = self._down or str(exc)
            return IndexAnswer(name, None, str(exc), index=self.display)
        if not page.fetched_at:
            page = page.refreshed(self._clock())
        self.write_cache(page)
        return IndexAnswer(name, page, index=self.display)

    def _fetch_http(self, name: str) -> ProjectPage:
        got = self._read_folder(name) if self.url.startswith("file:") else self._get(name)
        if got is None:
            return ProjectPage(name, (), found=False, fetched_at=self._clock())
        kind, body = got
        if len(body) > MAX_PAGE_BYTES:
            raise IndexUnavailable(f"{self.display} sent a page over 64 MiB for {name}")
        start = body.lstrip()[:1]
        try:
            if "json" in kind or (not kind.startswith("text/") and start == b"{"):
                return parse_page(name, json.loads(body), self._clock())
            if "html" in kind or start == b"<":
                return parse_html_page(name, body.decode("utf-8", "replace"), self._clock())
        except (ValueError, KeyError, TypeError, RecursionError):
            raise IndexUnavailable(f"{self.display} sent a malformed answer for {name}") from None
        raise IndexUnavailable(
            f"{self.display} did not answer with a simple-API page (Content-Type {kind or 'none'})"
        )

    def _get(self, name: str) -> tuple[str, bytes] | None:
        """(Content-Type, body) of the project's page; None when the index has no such
        project (404)."""
        headers = {"Accept": ACCEPT, "User-Agent": "stablebuild-audit"}
        auth = self._authorization()
        if auth is not None:  # NOTE: urllib never sends a URL's user:password by itself
            headers["Authorization"] = auth
        request = urllib.request.Request(f"{self.url}/{name}/", headers=headers)
        context = ssl.create_default_context()  # honours SSL_CERT_FILE / the host CA bundle
        try:
            with urllib.request.urlopen(request, timeout=self.timeout, context=context) as reply:
                return reply.headers.get("Content-Type", ""), reply.read(MAX_PAGE_BYTES + 1)
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return None
            refusal = self._refusal(exc.code, auth is not None)
            raise IndexUnavailable(refusal, unreachable=True) from None
        except (urllib.error.URLError, OSError, ValueError, http.client.HTTPException) as exc:
            # NOTE: ValueError and InvalidURL: a URL http.client cannot use; their text may
            # quote the URL, so only the exception's kind is said
            reason = getattr(exc, "reason", None) or type(exc).__name__
            raise IndexUnavailable(
                f"{self.display} unreachable: {urls.masked(str(reason))}", unreachable=True
            ) from None

    def _read_folder(self, name: str) -> tuple[str, bytes] | None:
        """A `file://` index, as pip reads one: a folder per project holding index.html."""
        base = Path(urllib.request.url2pathname(urllib.parse.urlsplit(self.url).path))
        if not base.is_dir():
            raise IndexUnavailable(f"{self.display} is not a folder", unreachable=True)
        folder = base / name
        data = textfile.read_bytes(
            folder / "index.html" if folder.is_dir() else folder, limit=MAX_PAGE_BYTES + 1
        )
        if isinstance(data, textfile.Unreadable):
            if data.why is textfile.Why.MISSING:
                return None
            raise IndexUnavailable(f"{self.display}: {name}: {data.reason}")
        return "", data

    def _authorization(self) -> str | None:
        """HTTP basic auth from the URL's credentials, else from ~/.netrc for the host."""
        creds = self._credentials
        if creds is not None:
            user, password = creds.user, creds.password
        else:
            found = netrc_login(urllib.parse.urlsplit(self.url).hostname or "")
            if found is None:
                return None
            user, password = found
        token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
        return f"Basic {token}"

    def _refusal(self, code: int, sent: bool) -> str:
        if code in (401, 403):
            what = "refused the credentials" if sent else "wants credentials"
            return (
                f"{self.display} {what} (HTTP {code}): give them in the index URL "
                "(PIP_INDEX_URL, STABLEBUILD_INDEX_URL) or in ~/.netrc"
            )
        return f"{self.display} answered HTTP {code}"


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


class _Anchors(HTMLParser):
    """The `<a>` elements of a PEP 503 page: href and the data- attributes pip reads."""

    def __init__(self) -> None:
        super().__init__()
        self.anchors: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.anchors.append(dict(attrs))


def parse_html_page(name: str, text: str, fetched_at: float = 0.0) -> ProjectPage:
    """A PEP 503 HTML project page (PyTorch's and many mirrors' only kind) as a ProjectPage."""
    parser = _Anchors()
    parser.feed(text)
    parser.close()
    files = []
    for anchor in parser.anchors:
        href = anchor.get("href") or ""
        filename = urllib.parse.unquote(urllib.parse.urlsplit(href).path.rsplit("/", 1)[-1])
        if not filename:
            continue
        yanked = "data-yanked" in anchor
        reason = anchor.get("data-yanked") or None
        files.append(DistFile(filename, anchor.get("data-requires-python") or None, yanked, reason))
    return ProjectPage(canonicalize_name(name), tuple(files), True, fetched_at)


def _page_from_cache(data: dict[str, Any]) -> ProjectPage:
    name, found, fetched_at = str(data["name"]), bool(data["found"]), float(data["fetched_at"])
    if data.get("format") == CACHE_FORMAT:
        grouped = data["releases"]
        if not isinstance(grouped, dict):  # NOTE: each value is checked when first read
            raise TypeError("releases is not a mapping of release to files")
        return ProjectPage(name, None, found, fetched_at, releases=Releases(grouped))
    files = tuple(  # format 1, written by earlier versions: grouped (parsed) when first used
        DistFile(f["filename"], f.get("requires_python"), bool(f.get("yanked")), f.get("why"))
        for f in data["files"]
    )
    return ProjectPage(name, files, found, fetched_at)


def _remember(path: Path, mtime_ns: int, size: int, page: ProjectPage) -> None:
    with _MEMO_LOCK:
        if len(_MEMO) >= MEMO_PAGES:
            _MEMO.pop(next(iter(_MEMO)))
        _MEMO[path] = (mtime_ns, size, page)


def netrc_login(host: str) -> tuple[str, str] | None:
    """(login, password) for `host` in `$NETRC` or ~/.netrc; None without one (an unreadable
    or malformed file counts as none, as for pip)."""
    if not host:
        return None
    path = os.environ.get("NETRC") or str(Path.home() / ".netrc")
    try:
        entry = netrc.netrc(path).authenticators(host)
    except (OSError, netrc.NetrcParseError):
        return None
    if entry is None:
        return None
    login, _account, password = entry
    return (login or "", password or "")


def _slug(url: str) -> str:
    return re.sub(r"[^A-Za-z0-9.-]+", "_", url.split("://", 1)[-1]).strip("_") or "index"


__all__ = [
    "DistFile",
    "Fetch",
    "IndexAnswer",
    "IndexUnavailable",
    "ProjectPage",
    "Releases",
    "SimpleIndex",
    "netrc_login",
    "parse_html_page",
    "parse_page",
]

"""Private package indexes: a real index served over HTTP on 127.0.0.1 (http.server in a thread),
behind basic auth, in both forms (PEP 691 JSON and PEP 503 HTML only); credentials from the
URL, ~/.netrc and PIP_*; never printed anywhere; a dead index is one clear finding."""

from __future__ import annotations

import base64
import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from typer.testing import CliRunner

from stablebuild.audit.finding import Finding
from stablebuild.audit.index import SimpleIndex
from stablebuild.audit.options import AuditFormat, AuditOptions
from stablebuild.audit.runner import run_audit
from stablebuild.cli import app

SECRET = "s3cr#t/Pl@nted?42"  # raw `#`, `/`, `@` and `?`: what users paste into URLs
USER = "ci-reader"
FILES = {
    "internal-lib": ["internal_lib-1.2.0-py3-none-any.whl", "internal_lib-1.2.0.tar.gz"],
    "shared-utils": ["shared_utils-2.0.0-py3-none-any.whl"],
}


@dataclass
class Hit:
    path: str
    accept: str
    authorized: bool
    served: str  # json | html | 401 | 404


@dataclass
class Index:
    """What the test server served; `url(...)` builds its simple-API root."""

    port: int
    hits: list[Hit] = field(default_factory=list)

    def url(self, creds: str | None = None, path: str = "simple") -> str:
        who = f"{creds}@" if creds else ""
        return f"http://{who}127.0.0.1:{self.port}/{path}"


def serve(*, html_only: bool = False, password: str = SECRET) -> Iterator[Index]:
    token = base64.b64encode(f"{USER}:{password}".encode()).decode()
    state = Index(0)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            accept = self.headers.get("Accept", "")
            authorized = self.headers.get("Authorization") == f"Basic {token}"
            name = self.path.strip("/").split("/")[-1]
            if not authorized:
                served, status, kind, body = "401", 401, "text/plain", b"login"
            elif name not in FILES:
                served, status, kind, body = "404", 404, "text/plain", b"no such project"
            elif "vnd.pypi.simple.v1+json" in accept and not html_only:
                data = {
                    "meta": {"api-version": "1.1"},
                    "name": name,
                    "files": [
                        {"filename": f, "url": f"../../files/{f}", "hashes": {}}
                        for f in FILES[name]
                    ],
                }
                served, status, kind = "json", 200, "application/vnd.pypi.simple.v1+json"
                body = json.dumps(data).encode()
            else:
                links = "".join(
                    f'<a href="../../files/{f}#sha256=00" data-requires-python="&gt;=3.8">{f}</a>'
                    for f in FILES[name]
                )
                served, status, kind = "html", 200, "text/html; charset=utf-8"
                body = f"<!DOCTYPE html><html><body>{links}</body></html>".encode()
            state.hits.append(Hit(self.path, accept, authorized, served))
            self.send_response(status)
            self.send_header("Content-Type", kind)
            if status == 401:
                self.send_header("WWW-Authenticate", 'Basic realm="packages"')
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # quiet
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def index() -> Iterator[Index]:
    yield from serve()


@pytest.fixture
def html_index() -> Iterator[Index]:
    yield from serve(html_only=True)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / ".git").mkdir(parents=True)
    (root / "Dockerfile").write_text(
        "FROM python:3.12-slim\nCOPY requirements.txt .\n"
        "RUN pip install -r requirements.txt\nUSER 1000\n"
    )
    (root / "requirements.txt").write_text("internal-lib==1.2.0\nshared-utils==2.0.0\n")
    return root


@pytest.fixture(autouse=True)
def no_ambient_pip(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The machine's pip.conf, PIP_* and ~/.netrc stay out of every test."""
    for name in [n for n in os.environ if n.startswith(("PIP_", "STABLEBUILD_"))]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("NETRC", str(tmp_path / "no-netrc"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


def wheel_findings(findings: tuple[Finding, ...]) -> list[tuple[str, str]]:
    return [(f.rule, f.message) for f in findings if f.rule.startswith("SB30")]


def audit(root: Path, tmp_path: Path, url: str, **extra: object) -> tuple[Finding, ...]:
    options = AuditOptions(index_url=url, cache_dir=tmp_path / "cache", hadolint=False, **extra)  # type: ignore[arg-type]
    return run_audit(root, options, None).findings


def test_json_index_with_credentials_in_the_url(index: Index, repo: Path, tmp_path: Path) -> None:
    found = audit(repo, tmp_path, index.url(f"{USER}:{SECRET}"))
    assert wheel_findings(found) == []  # both pins answered, with wheels for every target
    assert {h.served for h in index.hits} == {"json"}
    assert all(h.authorized and h.accept.startswith("application/vnd.pypi.simple.v1+json")
               for h in index.hits)  # fmt: skip


def test_html_only_mirror(html_index: Index, repo: Path, tmp_path: Path) -> None:
    (repo / "requirements.txt").write_text("internal-lib==1.2.0\nshared-utils==9.9.9\n")
    found = audit(repo, tmp_path, html_index.url(f"{USER}:{SECRET}"))
    assert {h.served for h in html_index.hits} == {"html"}
    [(rule, message)] = wheel_findings(found)
    assert rule == "SB303"  # the index answered: 9.9.9 is not on it, 2.0.0 is
    assert "shared-utils==9.9.9: no such version (newest is 2)" in message


def test_credentials_from_netrc(index: Index, repo: Path, tmp_path: Path,
                                monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    netrc = tmp_path / "netrc"
    netrc.write_text(f"machine 127.0.0.1\n  login {USER}\n  password {SECRET.replace('#', '')}\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    with_hash = audit(repo, tmp_path, index.url())
    assert {h.served for h in index.hits} == {"401"}  # the netrc password lacks the `#`
    assert [f.rule for f in with_hash if f.rule.startswith("SB30")] == ["SB306"]
    netrc.write_text(f'machine 127.0.0.1\n  login {USER}\n  password "{SECRET}"\n')
    index.hits.clear()
    assert wheel_findings(audit(repo, tmp_path / "2", index.url())) == []
    assert {h.served for h in index.hits} == {"json"}


def test_no_credentials_is_one_clear_finding(index: Index, repo: Path, tmp_path: Path) -> None:
    found = audit(repo, tmp_path, index.url())
    [(rule, message)] = wheel_findings(found)
    assert rule == "SB306"
    assert message == (
        f"package index {index.url()} wants credentials (HTTP 401): give them in the index URL "
        "(PIP_INDEX_URL, STABLEBUILD_INDEX_URL) or in ~/.netrc: wheel coverage of 2 pin(s) not "
        "checked there (internal-lib==1.2.0, shared-utils==2.0.0)"
    )


def test_a_dead_index_is_one_finding_not_a_crash(repo: Path, tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed when the block ends: nothing listens there
    started = time.perf_counter()
    found = audit(repo, tmp_path, f"http://{USER}:{SECRET}@127.0.0.1:{port}/simple")
    [(rule, message)] = wheel_findings(found)
    assert rule == "SB306" and "unreachable" in message and f"127.0.0.1:{port}" in message
    assert not [f for f in found if f.rule == "SB000"]
    assert time.perf_counter() - started < 10


def test_each_index_has_its_own_cache_without_credentials(
    index: Index, html_index: Index, repo: Path, tmp_path: Path
) -> None:
    (repo / "requirements.txt").write_text(
        f"--extra-index-url {html_index.url(f'{USER}:{SECRET}')}\ninternal-lib==1.2.0\n"
    )
    url = index.url(f"{USER}:{SECRET}")
    assert wheel_findings(audit(repo, tmp_path, url)) == []
    folders = sorted(p.name for p in (tmp_path / "cache" / "index").iterdir())
    assert folders == sorted(f"127.0.0.1_{i.port}_simple" for i in (index, html_index))
    asked = len(index.hits) + len(html_index.hits)
    assert wheel_findings(audit(repo, tmp_path, url)) == []  # the second run: from the cache
    assert len(index.hits) + len(html_index.hits) == asked
    # offline, the cache alone answers
    assert wheel_findings(audit(repo, tmp_path, url, offline=True)) == []


def test_pip_environment_and_config_file(
    index: Index, html_index: Index, repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    conf = tmp_path / "pip.conf"
    conf.write_text(f"[global]\nextra-index-url = {html_index.url(f'{USER}:{SECRET}')}\n")
    monkeypatch.setenv("PIP_CONFIG_FILE", str(conf))
    monkeypatch.setenv("PIP_INDEX_URL", index.url(f"{USER}:{SECRET}"))
    (repo / "requirements.txt").write_text("internal-lib==1.2.0\n")
    result = CliRunner().invoke(app, ["audit", str(repo), "--no-hadolint", "-v"])
    assert result.exit_code == 0, result.output
    assert index.hits and html_index.hits  # pip's index and pip's extra index both asked
    assert all(h.authorized for h in [*index.hits, *html_index.hits])
    assert f"package index: {index.url()} + {html_index.url()}" in result.stderr


def test_a_file_url_index_is_a_folder(repo: Path, tmp_path: Path) -> None:
    simple = tmp_path / "mirror" / "simple"
    for name, files in FILES.items():
        (simple / name).mkdir(parents=True)
        links = "".join(f'<a href="../../packages/{f}">{f}</a>' for f in files)
        (simple / name / "index.html").write_text(f"<html><body>{links}</body></html>")
    (repo / "requirements.txt").write_text("internal-lib==1.2.0\nshared-utils==3.0.0\n")
    found = audit(repo, tmp_path, simple.as_uri())
    [(rule, message)] = wheel_findings(found)
    assert rule == "SB303" and "shared-utils==3.0.0: no such version" in message


def test_the_secret_is_never_printed(
    index: Index,
    html_index: Index,
    repo: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every format, on stdout and in files, stderr with -v, and the index cache."""
    dead = "http://ci-reader:" + SECRET + "@127.0.0.1:9/simple"  # refused: the error path
    (repo / "requirements.txt").write_text(
        f"--extra-index-url {dead}\ninternal-lib==1.2.0\nshared-utils==2.0.0\nmissing==1.0\n"
    )
    netrc = tmp_path / "netrc"
    netrc.write_text(f"machine 127.0.0.1\n  login {USER}\n  password other-{SECRET}\n")
    monkeypatch.setenv("NETRC", str(netrc))
    monkeypatch.setenv("PIP_EXTRA_INDEX_URL", html_index.url(f"{USER}:{SECRET}"))
    out = tmp_path / "out"
    out.mkdir()
    outputs = [f"-o{fmt.value}:{out / fmt.value}" for fmt in AuditFormat]
    texts = []
    for fmt in AuditFormat:
        result = CliRunner().invoke(
            app,
            ["audit", str(repo), "--no-hadolint", "-v", "--format", fmt.value,
             "--index-url", index.url(f"{USER}:{SECRET}"), *outputs],
        )  # fmt: skip
        # warnings only: `missing==1.0` may be on the dead index, so it is not "no such version"
        assert result.exit_code == 0, result.output
        texts += [result.stdout, result.stderr]
    texts += [p.read_text() for p in out.iterdir()]
    cache = tmp_path / "cache"
    texts += [p.read_text() for p in cache.rglob("*") if p.is_file()]
    texts += [str(p) for p in cache.rglob("*")]
    assert index.hits and html_index.hits and all(h.authorized for h in index.hits)
    assert any("127.0.0.1:9/simple unreachable" in t for t in texts) and len(texts) > 20
    for text in texts:
        for secret in (SECRET, "s3cr#t", "Pl@nted"):
            assert secret not in text
    assert "missing==1.0" in (out / "json").read_text()


def test_the_cache_folder_is_the_index_without_credentials(tmp_path: Path) -> None:
    index = SimpleIndex(f"https://{USER}:{SECRET}@pkgs.example.com/pypi/simple/", tmp_path)
    assert index.display == "https://pkgs.example.com/pypi/simple"
    assert index.cache_dir == tmp_path / "index" / "pkgs.example.com_pypi_simple"
    assert SECRET not in repr(index.__dict__.get("_credentials"))

"""Reading an image's files through the archive API: links followed by hand, reads capped."""

from __future__ import annotations

import io
import tarfile
from collections.abc import Iterator
from typing import Any

import pytest

from stablebuild.engine.api import ApiError, NotFound
from stablebuild.engine.archive import (
    MAX_HOPS,
    Entry,
    ImageFiles,
    LinkLoop,
    follow,
    gather,
    venv_home,
)
from stablebuild.engine.client import Engine

PYVENV = b"home = /usr/local/bin\ninclude-system-site-packages = false\nversion = 3.12.7\n"


def tar_of(name: str, *, link: str | None = None, data: bytes = b"", mode: int = 0o755) -> bytes:
    """What the engine sends for one path: a tar holding that entry."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo(name)
        info.mode = mode
        if link is not None:
            info.type, info.linkname = tarfile.SYMTYPE, link
            tar.addfile(info)
        else:
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


class FakeApi:
    """get_archive over a dict of path -> tar bytes; remembers how much of each was read."""

    def __init__(self, files: dict[str, bytes], errors: dict[str, str] | None = None) -> None:
        self.files = files
        self.errors = errors or {}
        self.served: dict[str, int] = {}
        self.closed: list[str] = []

    def get_archive(self, container: str, path: str) -> Any:
        if path in self.errors:
            raise ApiError(500, self.errors[path])
        if path not in self.files:
            raise NotFound(404, f"no {path}")
        return self._chunks(path, 4096), {"name": path.rsplit("/", 1)[-1]}

    def _chunks(self, path: str, size: int) -> Iterator[bytes]:
        data = self.files[path]
        try:
            for start in range(0, len(data), size):
                self.served[path] = start + size
                yield data[start : start + size]
        finally:
            self.closed.append(path)


def image_files(api: FakeApi) -> ImageFiles:
    return ImageFiles(Engine(api=api, info={}), "c0ffee")


# --- follow -----------------------------------------------------------------------------------


def lookup_of(entries: dict[str, Entry]) -> Any:
    return entries.get


def test_follow_resolves_relative_targets_from_the_links_folder() -> None:
    entries = {
        "/opt/venv/bin/python3": Entry("/opt/venv/bin/python3", "symlink", 0o777, target="python"),
        "/opt/venv/bin/python": Entry(
            "/opt/venv/bin/python", "symlink", 0o777, target="../../../usr/bin/python3.11"
        ),
        "/usr/bin/python3.11": Entry("/usr/bin/python3.11", "file", 0o755, 6_000_000),
    }
    links, end, entry = follow(lookup_of(entries), "/opt/venv/bin/python3")
    assert [link.points_at for link in links] == ["/opt/venv/bin/python", "/usr/bin/python3.11"]
    assert end == "file" and entry is not None and entry.mode == 0o755


def test_follow_stops_at_the_dangling_link() -> None:
    entries = {"/opt/venv/bin/python": Entry("/x", "symlink", 0o777, target="/usr/bin/python3")}
    links, end, entry = follow(lookup_of(entries), "/opt/venv/bin/python")
    assert [(link.path, link.points_at) for link in links] == [
        ("/opt/venv/bin/python", "/usr/bin/python3")
    ]
    assert (end, entry) == ("missing", None)


def test_follow_detects_a_loop_it_sees() -> None:
    entries = {
        "/a/python": Entry("/a/python", "symlink", 0o777, target="python3"),
        "/a/python3": Entry("/a/python3", "symlink", 0o777, target="./python"),
    }
    links, end, _ = follow(lookup_of(entries), "/a/python")
    assert end == "loop" and len(links) == 2


def test_follow_takes_the_engines_loop_error_as_a_loop() -> None:
    def lookup(path: str) -> Entry | None:
        raise LinkLoop(path)

    assert follow(lookup, "/opt/venv/bin/python")[1] == "loop"


def test_follow_is_bounded() -> None:
    entries = {f"/l/{i}": Entry(f"/l/{i}", "symlink", 0o777, target=str(i + 1)) for i in range(99)}
    links, end, _ = follow(lookup_of(entries), "/l/0")
    assert end == "too-long" and len(links) == MAX_HOPS


def test_venv_home() -> None:
    assert venv_home(PYVENV) == "/usr/local/bin"
    assert venv_home(b"version = 3.12\n") is None


# --- reading through the archive API ------------------------------------------------------------


def test_a_symlink_comes_back_with_its_target() -> None:
    api = FakeApi({"/opt/venv/bin/python": tar_of("python", link="/usr/bin/python3")})
    entry = image_files(api).entry("/opt/venv/bin/python")
    assert entry == Entry("/opt/venv/bin/python", "symlink", 0o755, 0, "/usr/bin/python3")
    assert api.closed == ["/opt/venv/bin/python"]


def test_absent_path_is_none() -> None:
    assert image_files(FakeApi({})).entry("/usr/bin/python3") is None


def test_small_file_is_read() -> None:
    api = FakeApi({"/opt/venv/pyvenv.cfg": tar_of("pyvenv.cfg", data=PYVENV, mode=0o644)})
    assert image_files(api).read("/opt/venv/pyvenv.cfg") == PYVENV


def test_a_big_file_is_refused_and_its_stream_left_unread() -> None:
    big = b"\0" * (8 * 1024 * 1024)
    api = FakeApi({"/usr/bin/python3.11": tar_of("python3.11", data=big)})
    files = image_files(api)
    assert files.read("/usr/bin/python3.11") is None
    entry = files.entry("/usr/bin/python3.11")
    assert entry is not None and entry.kind == "file" and entry.size == len(big)
    assert max(api.served.values()) <= 128 * 1024, "only the header was read"
    assert api.closed == ["/usr/bin/python3.11", "/usr/bin/python3.11"]


def test_engine_loop_error_becomes_link_loop() -> None:
    api = FakeApi({}, errors={"/a": "evalSymlinksInScope: too many links in /var/lib/x/a"})
    with pytest.raises(LinkLoop):
        image_files(api).entry("/a")


# --- gather -------------------------------------------------------------------------------------


def test_gather_the_copied_venv_without_python() -> None:
    api = FakeApi(
        {
            "/opt/venv/bin/python": tar_of("python", link="/usr/bin/python3"),
            "/opt/venv/pyvenv.cfg": tar_of("pyvenv.cfg", data=PYVENV, mode=0o644),
        }
    )
    files = image_files(api)
    facts = gather(files.entry, files.read, "/opt/venv/bin/python")
    assert facts.dangling and facts.end == "missing"
    assert facts.last == "/usr/bin/python3"
    assert (facts.venv, facts.venv_home) == ("/opt/venv", "/usr/local/bin")
    assert facts.pythons == ()
    assert facts.pythons_searched == ("/usr/bin", "/usr/local/bin")
    assert facts.to_json()["links"] == ["/opt/venv/bin/python -> /usr/bin/python3"]


def test_gather_finds_python_elsewhere_and_in_the_venv_home() -> None:
    api = FakeApi(
        {
            "/opt/venv/pyvenv.cfg": tar_of("pyvenv.cfg", data=b"home = /opt/py/bin\n"),
            "/usr/bin/python3": tar_of("python3", link="python3.11"),
            "/usr/bin/python3.11": tar_of("python3.11", data=b"\x7fELF"),
            "/usr/bin/python3.9": tar_of("python3.9", link="/gone"),  # dangling: not a Python
            "/opt/py/bin/python3.12": tar_of("python3.12", data=b"\x7fELF"),
        }
    )
    files = image_files(api)
    facts = gather(files.entry, files.read, "/opt/venv/bin/python")
    assert facts.end == "missing" and not facts.links
    assert facts.pythons == ("/usr/bin/python3", "/usr/bin/python3.11", "/opt/py/bin/python3.12")


def test_gather_looks_a_bare_name_up_on_the_image_path() -> None:
    api = FakeApi(
        {
            "/usr/local/bin/python3": tar_of("python3", link="/nowhere/python3"),
            "/usr/bin/python3": tar_of("python3", data=b"#!", mode=0o644),
        }
    )
    files = image_files(api)
    facts = gather(files.entry, files.read, "python3", "/usr/local/bin:/usr/bin:relative")
    assert facts.searched == ("/usr/local/bin", "/usr/bin")
    assert facts.path == "/usr/local/bin/python3", "no runnable one: the first one there"
    assert facts.dangling

"""Build inputs: which context files a Dockerfile reads, which images it reads, and when that
cannot be told."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

from stablebuild.engine.api import NotFound
from stablebuild.engine.client import Engine
from stablebuild.engine.inputs import (
    _used,
    base_refs,
    build_inputs_digest,
    context_digest,
    copy_sources,
)

# The shape of a real multi-stage service Dockerfile: a builder, tools copied straight from
# published images (uv's and FFmpeg's), a test stage, the runtime.
SERVICE = """\
ARG PYTHON_VERSION=3.12
ARG BASE=python:${PYTHON_VERSION}-slim
FROM ${BASE} AS build
COPY --from=ghcr.io/astral-sh/uv:0.4.20 /uv /bin/uv
RUN uv pip install --system -r requirements.txt
FROM build AS test
RUN pytest
FROM ${BASE} AS runtime
ARG FFMPEG=mwader/static-ffmpeg:7.1
COPY --from=${FFMPEG} /ffmpeg /usr/local/bin/
COPY --from=build /usr/local/lib/python3.12/site-packages /usr/local/lib/python3.12/site-packages
COPY --from=0 /bin/uv /bin/uv
"""


def test_sources_with_args_and_from_skipped() -> None:
    text = (
        "ARG APP=app\nFROM debian AS b\nARG APP\nCOPY ${APP}/ /srv/\n"
        "COPY --from=b /x /y\nFROM debian\nCOPY req*.txt ./\n"
    )
    assert copy_sources(text, {}) == ["app", "req*.txt"]


def test_unknown_arg_or_url_means_everything() -> None:
    assert copy_sources("FROM debian\nARG X\nCOPY $X /x\n", {}) is None
    assert copy_sources("FROM debian\nADD https://example.org/f /f\n", {}) is None


def test_used_files() -> None:
    files = ["app/a.py", "app/b/c.py", "docs/x.md", "req-a.txt", "Dockerfile"]
    assert _used(files, ["app", "req*.txt"]) == ["app/a.py", "app/b/c.py", "req-a.txt"]
    assert _used(files, ["."]) == files


def test_digest_ignores_files_the_dockerfile_never_reads(tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "main.py").write_text("print(1)\n")
    (tmp_path / "notes.md").write_text("one\n")
    dockerfile = tmp_path / "Dockerfile"
    text = "FROM debian\nCOPY app /app\n"
    dockerfile.write_text(text)
    before = context_digest(tmp_path, dockerfile, text, {})
    (tmp_path / "notes.md").write_text("two\n")
    assert context_digest(tmp_path, dockerfile, text, {}) == before
    (tmp_path / "app" / "main.py").write_text("print(2)\n")
    assert context_digest(tmp_path, dockerfile, text, {}) != before


def test_dockerignored_files_do_not_count(tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "main.py").write_text("x\n")
    (tmp_path / ".dockerignore").write_text("app/*.log\n")
    dockerfile = tmp_path / "Dockerfile"
    text = "FROM debian\nCOPY . /src\n"
    dockerfile.write_text(text)
    before = context_digest(tmp_path, dockerfile, text, {})
    (tmp_path / "app" / "debug.log").write_text("noise\n")
    assert context_digest(tmp_path, dockerfile, text, {}) == before


def test_the_images_a_build_reads_are_its_bases_and_those_it_copies_from() -> None:
    assert base_refs(SERVICE, {}) == [
        "python:3.12-slim",
        "ghcr.io/astral-sh/uv:0.4.20",
        "mwader/static-ffmpeg:7.1",
    ]
    assert base_refs(SERVICE, {"PYTHON_VERSION": "3.13"}, "test") == [
        "python:3.13-slim",
        "ghcr.io/astral-sh/uv:0.4.20",
    ]
    assert base_refs(SERVICE, {"FFMPEG": "local/ffmpeg:dev"})[-1] == "local/ffmpeg:dev"
    unknown = SERVICE.replace("ARG FFMPEG=mwader/static-ffmpeg:7.1", "ARG FFMPEG")
    assert base_refs(unknown, {}) is None  # an image that cannot be named: no cache key


class _Api:
    def __init__(self, ids: dict[str, str]) -> None:
        self.ids = ids

    def inspect_image(self, ref: str) -> dict[str, Any]:
        if ref not in self.ids:
            raise NotFound(404, f"No such image: {ref}")
        return {"Id": self.ids[ref]}


class _Engine:
    def __init__(self, ids: dict[str, str]) -> None:
        self.api = _Api(ids)


def test_an_image_copied_from_that_changed_is_a_new_build(tmp_path: Path) -> None:
    """A `COPY --from=IMAGE` whose image was pulled again (a moving tag) must not reuse the
    image built from the old one: its id is in the build-inputs digest, as a base's is."""
    (tmp_path / "Dockerfile").write_text(SERVICE)
    ids = {
        "python:3.12-slim": "sha256:" + "1" * 64,
        "ghcr.io/astral-sh/uv:0.4.20": "sha256:" + "2" * 64,
        "mwader/static-ffmpeg:7.1": "sha256:" + "3" * 64,
    }

    def digest(ids: dict[str, str]) -> str | None:
        return build_inputs_digest(
            cast(Engine, _Engine(ids)),
            context=tmp_path,
            dockerfile=tmp_path / "Dockerfile",
            args={},
            target=None,
            ca_bundle=None,
        )

    before = digest(ids)
    assert before is not None and digest(dict(ids)) == before
    assert digest(ids | {"mwader/static-ffmpeg:7.1": "sha256:" + "4" * 64}) != before
    assert digest({k: v for k, v in ids.items() if "ffmpeg" not in k}) is None  # not there

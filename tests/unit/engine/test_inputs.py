"""Build inputs: which context files a Dockerfile reads, and when that cannot be told."""

from __future__ import annotations

from pathlib import Path

from stablebuild.engine.inputs import _used, context_digest, copy_sources


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

"""The build context sent to the engine leaves out stablebuild's own folder (history, vuln DB)."""

from __future__ import annotations

import tarfile
from pathlib import Path

from stablebuild.engine.build import BuildRequest, _context_tar
from stablebuild.engine.inputs import context_files


def _context(tmp_path: Path, dockerignore: str | None = None) -> Path:
    context = tmp_path / "stack"
    (context / "app").mkdir(parents=True)
    (context / "app" / "main.py").write_text("print('hi')\n")
    (context / "Dockerfile").write_text("FROM scratch\nCOPY . /srv\n")
    (context / ".stablebuild").mkdir()
    (context / ".stablebuild" / "history.sqlite").write_bytes(b"SQLite format 3\0")
    if dockerignore is not None:
        (context / ".dockerignore").write_text(dockerignore)
    return context


def _members(request: BuildRequest) -> tuple[set[str], str]:
    archive, name = _context_tar(request)
    try:
        with tarfile.open(fileobj=archive) as tar:
            return {m.name for m in tar.getmembers()}, name
    finally:
        archive.close()


def test_the_history_folder_is_never_sent_with_copy_dot(tmp_path: Path) -> None:
    context = _context(tmp_path)
    members, name = _members(BuildRequest("api", context, context / "Dockerfile", None, "t"))
    assert name == "Dockerfile"
    assert {"Dockerfile", "app/main.py"} <= members
    assert not any(m.startswith(".stablebuild") for m in members)
    assert not any(
        f.startswith(".stablebuild") for f in context_files(context, context / "Dockerfile")
    )


def test_not_even_when_the_dockerignore_lets_everything_in(tmp_path: Path) -> None:
    context = _context(tmp_path, "*\n!*\n!.stablebuild\n")
    members, _ = _members(BuildRequest("api", context, context / "Dockerfile", None, "t"))
    assert "app/main.py" in members
    assert not any(m.startswith(".stablebuild") for m in members)


def test_the_dockerignore_still_applies_and_an_outside_dockerfile_is_shipped(
    tmp_path: Path,
) -> None:
    context = _context(tmp_path, "app/\n")
    outside = tmp_path / "docker" / "Dockerfile"
    outside.parent.mkdir()
    outside.write_text("FROM scratch\n")
    members, name = _members(BuildRequest("api", context, outside, None, "t"))
    assert "app/main.py" not in members
    assert name.startswith(".dockerfile.") and name in members

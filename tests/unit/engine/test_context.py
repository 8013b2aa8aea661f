"""The build context stablebuild sends is the one docker-py sent: same files, same tar entries.

`engine/context.py` carries docker-py's `.dockerignore` matching and archive so that sending a
context does not load docker-py; these tests hold the two side by side on the shapes real
contexts have (a monorepo with exceptions, `**`, a Dockerfile outside the context, links).
"""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

import pytest
from docker.utils.build import exclude_paths
from docker.utils.build import tar as docker_py_tar

from stablebuild.engine.context import archive, included

TREE = {
    "Dockerfile": "FROM python:3.12-slim\n",
    "app/main.py": "print('hi')\n",
    "app/__pycache__/main.cpython-312.pyc": "x",
    "app/static/site.css": "body{}",
    "app/static/big.map": "{}",
    "docs/index.md": "# docs\n",
    "docs/keep/README.md": "kept\n",
    "node_modules/left-pad/index.js": "module.exports=1\n",
    ".git/HEAD": "ref: refs/heads/main\n",
    ".env": "SECRET=1\n",
    ".env.example": "SECRET=\n",
    "requirements.txt": "fastapi==0.115.0\n",
    "tests/test_main.py": "def test(): pass\n",
    "README.MD": "upper-case name\n",
    "deep/a/b/c/cache.tmp": "tmp\n",
    "deep/a/b/c/keep.txt": "keep\n",
}

IGNORES = {
    "none": [],
    "python-service": ["**/__pycache__", "*.pyc", ".git", ".env", "!.env.example", "tests/"],
    "monorepo-exceptions": ["docs", "!docs/keep", "node_modules", "**/*.map", "*.md"],
    "dot-dot-and-slashes": ["./app/../node_modules/", "/.git/", "deep/**/*.tmp", " README.md "],
    "everything-but": ["*", "!app", "!requirements.txt", "!Dockerfile"],
    "character-classes": ["[a-d]*/", "!deep/a/b/c/keep.txt", "app/static/*.[mc]*"],
}


@pytest.fixture
def context(tmp_path: Path) -> Path:
    for rel, text in TREE.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    os.symlink("app/main.py", tmp_path / "entry.py")
    os.symlink("/etc/hostname", tmp_path / "outside-link")
    return tmp_path


@pytest.mark.parametrize("name", sorted(IGNORES))
def test_the_same_paths_as_docker_py(context: Path, name: str) -> None:
    patterns = IGNORES[name]
    for dockerfile in (None, "Dockerfile"):
        expected = exclude_paths(str(context), list(patterns), dockerfile)
        assert included(str(context), patterns, dockerfile) == expected
    assert included(str(context), patterns) != set() or name == "everything-but"


def members(data: bytes) -> list[tuple[str, int, int, str, bytes]]:
    """Each entry of a tar: name, type, mode, link target, content."""
    found = []
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        for member in tar.getmembers():
            extracted = tar.extractfile(member) if member.isfile() else None
            content = extracted.read() if extracted is not None else b""
            found.append(
                (member.name, int.from_bytes(member.type, "big"), member.mode, member.linkname,
                 content)
            )  # fmt: skip
    return found


@pytest.mark.parametrize("name", sorted(IGNORES))
def test_the_same_archive_as_docker_py(context: Path, name: str) -> None:
    patterns = IGNORES[name]
    ours, dockerfile = archive(str(context), patterns, "Dockerfile")
    theirs = docker_py_tar(str(context), exclude=list(patterns), dockerfile=("Dockerfile", None))
    with ours, theirs:
        assert dockerfile == "Dockerfile"
        assert members(ours.read()) == members(theirs.read())


def test_a_dockerfile_outside_the_context_is_sent_under_a_generated_name(
    context: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    elsewhere = tmp_path_factory.mktemp("ci") / "Dockerfile.ci"
    elsewhere.write_text("FROM python:3.12-slim\nCOPY app /app\n")
    patterns = IGNORES["python-service"]
    tar, name = archive(str(context), patterns, str(elsewhere))
    with tar:
        assert name is not None and name.startswith(".dockerfile.")
        entries = {m[0]: m[4] for m in members(tar.read())}
    assert entries[name] == elsewhere.read_bytes()
    # NOTE: as docker-py: the generated name is added to the .dockerignore the engine reads
    assert entries[".dockerignore"].decode().splitlines() == [*patterns, name]
    assert ".env" not in entries and "app/main.py" in entries


@pytest.mark.parametrize("name", sorted(IGNORES))
def test_the_archive_ends_at_its_end_marker(context: Path, name: str) -> None:
    """Two zero blocks and nothing after, as Docker's own client writes a context: dockerd
    stops reading at the marker, and tarfile's padding to a whole 10 KiB record, left unread,
    reset the connection of a build answered from the cache before its answer was read."""
    (context / "zz-last.txt").write_text("the last entry holds text\n")
    ours, _ = archive(str(context), IGNORES[name], "Dockerfile")
    with ours:
        data = ours.read()
    assert len(data) % tarfile.BLOCKSIZE == 0
    assert data[-2 * tarfile.BLOCKSIZE :] == bytes(2 * tarfile.BLOCKSIZE)  # the marker
    assert data[-3 * tarfile.BLOCKSIZE : -2 * tarfile.BLOCKSIZE] != bytes(tarfile.BLOCKSIZE)
    assert members(data)  # still a whole archive

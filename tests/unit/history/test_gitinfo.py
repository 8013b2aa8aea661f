"""Git facts for a run: from a real repository, and nothing outside one."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from stablebuild.history import gitinfo
from stablebuild.history.gitinfo import ask_git, git_info, resolve_commit

ENV = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@e.x",
       "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@e.x"}  # fmt: skip


def _git(root: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=root, env=ENV, check=True, capture_output=True)
    return done.stdout.decode().strip()


def test_outside_a_checkout_everything_is_unknown(tmp_path: Path) -> None:
    info = git_info(tmp_path)
    assert (info.commit, info.branch, info.dirty) == (None, None, None)
    assert resolve_commit(tmp_path, "HEAD") is None


def test_commit_branch_and_dirtiness(tmp_path: Path) -> None:
    _git(tmp_path, "init", "-q", "-b", "release/1.x")
    (tmp_path / "app.py").write_text("x = 1\n")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "-q", "-m", "one")
    head = _git(tmp_path, "rev-parse", "HEAD")
    assert git_info(tmp_path).commit == head
    assert git_info(tmp_path).branch == "release/1.x" and git_info(tmp_path).dirty is False
    (tmp_path / "untracked.txt").write_text("not part of the tree\n")
    assert git_info(tmp_path).dirty is False
    (tmp_path / "app.py").write_text("x = 2\n")
    assert git_info(tmp_path).dirty is True
    _git(tmp_path, "tag", "v1")
    assert resolve_commit(tmp_path, "v1") == head
    assert resolve_commit(tmp_path, "--output=/tmp/x") is None
    assert resolve_commit(tmp_path, "no-such-ref") is None


def test_a_detached_ci_checkout_takes_the_branch_from_the_job(tmp_path: Path) -> None:
    _git(tmp_path, "init", "-q", "-b", "main")
    (tmp_path / "a").write_text("a\n")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "-q", "-m", "a")
    _git(tmp_path, "checkout", "-q", "--detach")
    assert git_info(tmp_path, {}).branch is None
    assert git_info(tmp_path, {"GITHUB_REF_NAME": "feature/x"}).branch == "feature/x"


def test_a_checkout_with_many_changes_is_read_when_the_run_ends(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """git is asked when the run starts and read when it ends, however long the run took: an
    answer larger than a pipe holds (here ~150 KB, 1,200 changed files) waits for that read,
    and is still whole."""
    monkeypatch.setattr(gitinfo, "TIMEOUT_S", 0.5)  # the run below lasts longer than this
    _git(tmp_path, "init", "-q", "-b", "main")
    folder = tmp_path / "generated" / ("deeply-nested-package-name-" * 2)
    folder.mkdir(parents=True)
    names = [folder / f"module_{i:04d}_with_a_long_name.py" for i in range(1200)]
    for name in names:
        name.write_text("x = 1\n")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "-q", "-m", "many")
    for name in names:
        name.write_text("x = 2\n")
    asked = ask_git(tmp_path)
    time.sleep(1.0)  # the run: git filled the pipe long ago and waits
    info = asked()
    assert info.commit == _git(tmp_path, "rev-parse", "HEAD")
    assert (info.branch, info.dirty) == ("main", True)

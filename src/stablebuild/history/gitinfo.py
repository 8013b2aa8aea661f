"""Where the sources stood: commit, branch and whether the tree was dirty, asked of `git`.

Every question has a short timeout and any failure reads as "unknown": outside a checkout, with
no git installed, or in a repository git refuses (another owner), the fields are None.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from stablebuild.history.interface import GitInfo

TIMEOUT_S = 3.0
# CI checkouts are often a detached HEAD; the job's own variables name the branch.
_CI_BRANCH = ("GITHUB_HEAD_REF", "GITHUB_REF_NAME", "CI_COMMIT_REF_NAME", "BUILDKITE_BRANCH")


def _env() -> dict[str, str]:
    # NOTE: GIT_OPTIONAL_LOCKS=0: `git status` must not take index.lock from under a user's
    # own git command running at the same moment.
    return {**os.environ, "GIT_OPTIONAL_LOCKS": "0", "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"}


def _git(folder: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", "-C", str(folder), *args],
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
            env=_env(),
            check=False,
        )
    except (OSError, subprocess.SubprocessError, ValueError):
        return None
    return done.stdout if done.returncode == 0 else None


def git_info(folder: Path, environ: Mapping[str, str] | None = None) -> GitInfo:
    """Commit, branch and dirtiness of the checkout `folder` is in (all None outside one)."""
    return ask_git(folder, environ)()


def ask_git(folder: Path, environ: Mapping[str, str] | None = None) -> Callable[[], GitInfo]:
    """`git_info` begun: git starts now and works while the caller does; the call returned
    reads what it said (waiting at most TIMEOUT_S more).

    One `git status --porcelain=v2 --branch` answers all three: a process is the cost here."""
    environ = os.environ if environ is None else environ
    argv = [
        "git",
        "-C",
        str(folder),
        "status",
        "--porcelain=v2",
        "--branch",
        "--untracked-files=no",
    ]
    try:
        process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=_env(),
        )
    except (OSError, ValueError):
        process = None

    def answer() -> GitInfo:
        from stablebuild.history.interface import GitInfo

        if process is None:
            return GitInfo()
        try:
            # NOTE: the whole of TIMEOUT_S from now: a checkout with many changed files fills
            # the pipe, and git waits for this read to finish its answer
            out, _ = process.communicate(timeout=TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            return GitInfo()
        return _parsed(out, environ) if process.returncode == 0 else GitInfo()

    return answer


def _parsed(out: str, environ: Mapping[str, str]) -> GitInfo:
    from stablebuild.history.interface import GitInfo

    commit = branch = None
    dirty = False
    for line in out.splitlines():
        if line.startswith("# branch.oid "):
            commit = line.removeprefix("# branch.oid ").strip()
        elif line.startswith("# branch.head "):
            branch = line.removeprefix("# branch.head ").strip()
        elif line and not line.startswith("#"):
            dirty = True
    if not commit or commit == "(initial)":
        return GitInfo()
    if branch == "(detached)":
        branch = next((environ[name] for name in _CI_BRANCH if environ.get(name)), "")
    return GitInfo(commit=commit, branch=branch or None, dirty=dirty)


def resolve_commit(folder: Path, ref: str) -> str | None:
    """The full sha `ref` names in the checkout at `folder`, or None when git cannot tell."""
    if not ref or ref.startswith("-"):
        return None
    out = _git(folder, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}")
    sha = (out or "").strip()
    return sha or None


__all__ = ["ask_git", "git_info", "resolve_commit"]

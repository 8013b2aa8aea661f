"""`stablebuild hook install|uninstall` in a throwaway git repository."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from stablebuild.cli import app
from stablebuild.cli import hook as hook_cli

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True)
    return done.stdout.strip()


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    _git(root, "init", "-q")
    monkeypatch.chdir(root)
    return root


@pytest.fixture
def fake_stablebuild(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A stand-in executable that records its working folder and arguments."""
    record = tmp_path / "called.txt"
    exe = tmp_path / "bin" / "stablebuild"
    exe.parent.mkdir()
    exe.write_text(f'#!/bin/sh\necho "$PWD $*" > {record}\nexit 1\n')
    exe.chmod(0o755)
    monkeypatch.setattr(hook_cli, "stablebuild_command", lambda: [str(exe)])
    return record


def _hook(repo: Path, name: str = "pre-push") -> Path:
    return repo / ".git" / "hooks" / name


def test_install_writes_an_executable_marked_pre_push_hook(
    repo: Path, fake_stablebuild: Path
) -> None:
    result = CliRunner().invoke(app, ["hook", "install"])
    assert result.exit_code == 0, result.output
    hook = _hook(repo)
    text = hook.read_text()
    assert text.startswith("#!/bin/sh\n")
    assert hook_cli.MARKER in text
    assert "validate . --changed" in text
    assert os.stat(hook).st_mode & stat.S_IXUSR


def test_hook_runs_validate_changed_from_the_top_of_the_work_tree(
    repo: Path, fake_stablebuild: Path
) -> None:
    (repo / "stack").mkdir()
    args = ["hook", "install", "stack", "--profile", "airgap"]
    assert CliRunner().invoke(app, args).exit_code == 0
    sub = repo / "stack"
    done = subprocess.run([str(_hook(repo))], cwd=sub, capture_output=True, text=True)
    assert done.returncode == 1  # stablebuild's own exit code comes through
    assert fake_stablebuild.read_text().split() == [
        str(repo.resolve()),
        "validate",
        "stack",
        "--changed",
        "--profile",
        "airgap",
    ]


def test_pre_commit_kind_runs_audit(repo: Path, fake_stablebuild: Path) -> None:
    assert CliRunner().invoke(app, ["hook", "install", "--hook", "pre-commit"]).exit_code == 0
    assert "audit ." in _hook(repo, "pre-commit").read_text()
    assert not _hook(repo).exists()


def test_respects_core_hooks_path(repo: Path, fake_stablebuild: Path) -> None:
    _git(repo, "config", "core.hooksPath", "githooks")
    assert CliRunner().invoke(app, ["hook", "install"]).exit_code == 0
    assert (repo / "githooks" / "pre-push").is_file()
    assert not _hook(repo).exists()


def test_refuses_to_overwrite_a_foreign_hook(repo: Path, fake_stablebuild: Path) -> None:
    theirs = _hook(repo)
    theirs.write_text("#!/bin/sh\necho mine\n")
    result = CliRunner().invoke(app, ["hook", "install"])
    assert result.exit_code == 2
    assert "already exists" in result.output
    assert "Traceback" not in result.output
    assert theirs.read_text() == "#!/bin/sh\necho mine\n"


def test_force_keeps_a_backup_and_uninstall_restores_it(repo: Path, fake_stablebuild: Path) -> None:
    theirs = _hook(repo)
    theirs.write_text("#!/bin/sh\necho mine\n")
    assert CliRunner().invoke(app, ["hook", "install", "--force"]).exit_code == 0
    backup = theirs.with_name("pre-push.bak")
    assert backup.read_text() == "#!/bin/sh\necho mine\n"
    assert hook_cli.written_by_us(theirs)
    # Reinstalling over our own hook needs no --force and keeps pointing at the backup.
    assert CliRunner().invoke(app, ["hook", "install"]).exit_code == 0
    assert not theirs.with_name("pre-push.bak.1").exists()
    result = CliRunner().invoke(app, ["hook", "uninstall"])
    assert result.exit_code == 0, result.output
    assert theirs.read_text() == "#!/bin/sh\necho mine\n"
    assert not backup.exists()


def test_force_never_overwrites_an_older_backup(repo: Path, fake_stablebuild: Path) -> None:
    _hook(repo).write_text("#!/bin/sh\necho new\n")
    _hook(repo).with_name("pre-push.bak").write_text("old backup\n")
    assert CliRunner().invoke(app, ["hook", "install", "--force"]).exit_code == 0
    assert _hook(repo).with_name("pre-push.bak").read_text() == "old backup\n"
    assert _hook(repo).with_name("pre-push.bak.1").read_text() == "#!/bin/sh\necho new\n"


def test_uninstall_removes_only_our_hook(repo: Path, fake_stablebuild: Path) -> None:
    assert CliRunner().invoke(app, ["hook", "install"]).exit_code == 0
    assert CliRunner().invoke(app, ["hook", "uninstall"]).exit_code == 0
    assert not _hook(repo).exists()
    _hook(repo).write_text("#!/bin/sh\necho mine\n")
    result = CliRunner().invoke(app, ["hook", "uninstall"])
    assert result.exit_code == 2
    assert "not written by stablebuild" in result.output
    assert _hook(repo).read_text() == "#!/bin/sh\necho mine\n"


def test_uninstall_without_a_hook_is_a_no_op(repo: Path) -> None:
    result = CliRunner().invoke(app, ["hook", "uninstall"])
    assert result.exit_code == 0
    assert "no pre-push hook" in result.output


def test_outside_a_git_repository_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    monkeypatch.chdir(plain)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    result = CliRunner().invoke(app, ["hook", "install"])
    assert result.exit_code == 2
    assert "not inside a git work tree" in result.output
    assert "Traceback" not in result.output


def test_a_stack_outside_the_repository_is_a_usage_error(
    repo: Path, tmp_path: Path, fake_stablebuild: Path
) -> None:
    result = CliRunner().invoke(app, ["hook", "install", str(tmp_path)])
    assert result.exit_code == 2
    assert "outside the repository" in result.output


def test_the_hook_names_an_absolute_stablebuild(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.argv", ["pytest"])
    command = hook_cli.stablebuild_command()
    assert Path(command[0]).is_absolute()

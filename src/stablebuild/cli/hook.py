"""`stablebuild hook install|uninstall`: a plain git hook for repositories without pre-commit.

The hook it writes carries a marker line; only such a hook is ever replaced or removed without
`--force`, and a hook the user had is kept as `<hook>.bak` and put back on uninstall.
"""

from __future__ import annotations

import os
import shlex
import shutil
import stat
import subprocess
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from stablebuild import __version__, atomic
from stablebuild.cli import values
from stablebuild.cli.root import CONTEXT, app, note
from stablebuild.errors import UsageError

MARKER = "# stablebuild-hook: written by `stablebuild hook install`"
BACKUP_PREFIX = "# stablebuild-backup: "

hook_app = typer.Typer(
    rich_markup_mode=None,  # NOTE: click's plain help: rich's renderer costs 0.2 s a --help
    context_settings=CONTEXT,
    no_args_is_help=True,
    help="Plain git hooks that run stablebuild (for repositories without pre-commit).",
)
app.add_typer(hook_app, name="hook")


class HookKind(str, Enum):
    PRE_PUSH = "pre-push"
    PRE_COMMIT = "pre-commit"


def _git(args: list[str], cwd: Path) -> str:
    try:
        done = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, check=False, timeout=30
        )
    except FileNotFoundError:
        raise UsageError("git is not installed", "install git, then run this again") from None
    if done.returncode != 0:
        raise UsageError(
            f"not inside a git work tree: {cwd}",
            "run it from your repository (or `git init` first)",
        )
    return done.stdout.strip()


def hooks_dir(cwd: Path) -> Path:
    """Where git looks for hooks here (core.hooksPath respected), absolute."""
    found = Path(_git(["rev-parse", "--git-path", "hooks"], cwd))
    return found if found.is_absolute() else (cwd / found).resolve()


def work_tree(cwd: Path) -> Path:
    return Path(_git(["rev-parse", "--show-toplevel"], cwd)).resolve()


def stablebuild_command() -> list[str]:
    """The absolute command that runs this stablebuild, so the hook does not depend on PATH."""
    invoked = Path(sys.argv[0]) if sys.argv and sys.argv[0] else None
    if invoked is not None and invoked.name == "stablebuild" and invoked.is_file():
        return [str(invoked.absolute())]
    which = shutil.which("stablebuild")
    if which:
        return [str(Path(which).absolute())]
    return [sys.executable, "-m", "stablebuild"]


def hook_script(
    kind: HookKind, command: list[str], directory: str, profile: str | None, backup: str | None
) -> str:
    """The hook's text: POSIX sh, runs from the top of the work tree, exits with stablebuild."""
    if kind is HookKind.PRE_PUSH:
        argv = [*command, "validate", directory, "--changed"]
        if profile:
            argv += ["--profile", profile]
        what = "validates the images whose inputs changed since the last passing run"
    else:
        argv = [*command, "audit", directory]
        what = "audits the repository's build files (no engine)"
    lines = [
        "#!/bin/sh",
        MARKER,
        f"# stablebuild {__version__}: {what}.",
        "# Skip once with `git push --no-verify`; remove with `stablebuild hook uninstall`.",
    ]
    if backup:
        lines.append(f"{BACKUP_PREFIX}{backup}")
    lines += [
        'cd "$(git rev-parse --show-toplevel)" || exit 2',
        "exec " + shlex.join(argv) + " </dev/null",
        "",
    ]
    return "\n".join(lines)


def written_by_us(path: Path) -> bool:
    try:
        with path.open(encoding="utf-8", errors="replace") as handle:
            head = [handle.readline() for _ in range(3)]
    except OSError:
        return False
    return any(line.rstrip("\n") == MARKER for line in head)


def _backup_path(path: Path) -> Path:
    candidate = path.with_name(path.name + ".bak")
    n = 1
    while candidate.exists():
        candidate = path.with_name(f"{path.name}.bak.{n}")
        n += 1
    return candidate


def _write_executable(path: Path, text: str) -> None:
    mode = stat.S_IRWXU | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH
    try:
        atomic.write_text(path, text, mode=mode, make_parents=True)
    except OSError as exc:
        raise UsageError(
            f"cannot write the hook {path}: {exc.strerror or exc}",
            "remove what stands there, or pass --force to keep it as .bak",
        ) from None


def _stack_dir(directory: Path, top: Path) -> str:
    resolved = directory.resolve()
    try:
        relative = resolved.relative_to(top)
    except ValueError:
        raise UsageError(
            f"{directory} is outside the repository {top}",
            "pass the stack's folder inside this repository",
        ) from None
    return relative.as_posix() or "."


@hook_app.command("install")
def install(
    directory: Annotated[
        Path, typer.Argument(help="The stack's folder (where stablebuild.yml is).")
    ] = Path("."),
    hook: Annotated[HookKind, typer.Option(help="Which git hook to write.")] = HookKind.PRE_PUSH,
    profile: Annotated[
        str | None,
        typer.Option(callback=values.name, help="Manifest profile the hook validates with."),
    ] = None,
    force: Annotated[
        bool, typer.Option(help="Replace a hook stablebuild did not write (kept as .bak).")
    ] = False,
) -> None:
    """Write a git hook that runs `stablebuild validate --changed` (pre-push) or `audit`."""
    cwd = Path.cwd()
    top = work_tree(cwd)
    path = hooks_dir(cwd) / hook.value
    stack = _stack_dir(directory if directory.is_absolute() else cwd / directory, top)
    backup: str | None = None
    if path.exists() or path.is_symlink():
        if written_by_us(path):
            backup = _previous_backup(path)
        elif not force:
            raise UsageError(
                f"a {hook.value} hook already exists: {path}",
                "pass --force to replace it (a copy is kept as .bak), "
                "or call stablebuild from that hook yourself",
            )
        else:
            saved = _backup_path(path)
            os.replace(path, saved)
            backup = saved.name
            note(f"kept the previous hook as {saved}")
    text = hook_script(hook, stablebuild_command(), stack, profile, backup)
    _write_executable(path, text)
    typer.echo(f"installed {hook.value} hook: {path}")


def _previous_backup(path: Path) -> str | None:
    """The backup a hook of ours recorded, so that reinstalling keeps pointing at it."""
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines()[:8]:
        if line.startswith(BACKUP_PREFIX):
            return line[len(BACKUP_PREFIX) :].strip() or None
    return None


@hook_app.command("uninstall")
def uninstall(
    hook: Annotated[HookKind, typer.Option(help="Which git hook to remove.")] = HookKind.PRE_PUSH,
) -> None:
    """Remove the hook stablebuild wrote (never another one); put back the hook it replaced."""
    path = hooks_dir(Path.cwd()) / hook.value
    if not (path.exists() or path.is_symlink()):
        typer.echo(f"no {hook.value} hook to remove")
        return
    if not written_by_us(path):
        raise UsageError(
            f"the {hook.value} hook was not written by stablebuild: {path}",
            "it was left as it is; remove it by hand if you mean to",
        )
    backup = _previous_backup(path)
    path.unlink()
    restored = path.with_name(backup) if backup and "/" not in backup else None
    if restored is not None and restored.exists():
        os.replace(restored, path)
        typer.echo(f"removed the stablebuild {hook.value} hook; restored {restored.name}")
    else:
        typer.echo(f"removed the stablebuild {hook.value} hook: {path}")

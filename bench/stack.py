"""The stack of benchmarks 2 and 3: its images built the plain way, or validated.

Both contestants get the same inputs, read from the manifest (after the profile): Dockerfile,
context, target and build args. Plain builds use `docker build` with the classic builder, the
one stablebuild drives through the API, so both share one layer cache.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness import (
    ROOT,
    BenchRun,
    machine,
    print_machine,
    remove_stablebuild_run,
    run,
    stablebuild_bin,
)

from stablebuild.engine import connect
from stablebuild.manifest.load import load_manifest
from stablebuild.manifest.model import ImageSpec
from stablebuild.validate import ValidateOptions
from stablebuild.validate import validate as run_validate

REFERENCE = ROOT / "examples" / "ffmpeg-api"
REFERENCE_PROFILE = "airgap"
FALLBACK = ROOT / "bench" / "stacks" / "small"


@dataclass
class Stack:
    folder: Path
    profile: str | None
    images: list[ImageSpec]

    @property
    def name(self) -> str:
        return self.folder.relative_to(ROOT).as_posix()


@dataclass(frozen=True)
class StackBench:
    """What a stack benchmark's command line chose: rounds, the stack, its profile, the machine."""

    runs: int
    stack: Stack
    profile: str | None
    machine: dict[str, Any]


def stack_bench_args(
    doc: str, default_runs: int, quick_runs: int, argv: list[str] | None = None
) -> StackBench:
    """Parse `--runs/--quick/--stack/--profile`, load the stack and print the machine."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--runs", type=int, default=default_runs, help=f"rounds ({default_runs})")
    parser.add_argument("--quick", action="store_true", help=f"{quick_runs} round(s)")
    parser.add_argument("--stack", type=Path, default=REFERENCE, help="the stack's folder")
    parser.add_argument("--profile", default=None, help="manifest profile (reference: airgap)")
    args = parser.parse_args(argv)
    runs = quick_runs if args.quick else max(1, args.runs)
    profile = args.profile or (REFERENCE_PROFILE if args.stack == REFERENCE else None)
    stack = load_stack(args.stack.resolve(), profile)
    info = machine()
    print_machine(info)
    print(f"stack: {stack.name} (profile {profile}), images: {[s.name for s in stack.images]}")
    return StackBench(runs, stack, profile, info)


def load_stack(folder: Path, profile: str | None) -> Stack:
    manifest = load_manifest(folder / "stablebuild.yml", profile=profile)
    return Stack(folder, profile, list(manifest.images.values()))


def plain_build(stack: Stack, current: BenchRun, *, nocache: bool) -> dict[str, float]:
    """`docker build` of every image, one after another; seconds per image."""
    seconds: dict[str, float] = {}
    for spec in stack.images:
        argv = ["docker", "build", "-q", "--label", current.label, "-f", str(spec.dockerfile)]
        argv += ["-t", current.tag(spec.name)]
        if spec.target:
            argv += ["--target", spec.target]
        for key, value in spec.args.items():
            argv += ["--build-arg", f"{key}={value}"]
        if nocache:
            argv.append("--no-cache")
        started = time.perf_counter()
        run([*argv, str(spec.context)], timeout=3600)
        seconds[spec.name] = time.perf_counter() - started
    return seconds


@dataclass
class Validated:
    """One `stablebuild validate` run seen from outside: wall time and what its report says."""

    seconds: float
    exit_code: int
    build_seconds: dict[str, float] = field(default_factory=dict)
    build_status: dict[str, str] = field(default_factory=dict)
    from_cache: dict[str, bool] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)
    stack_phase: dict[str, Any] | None = None  # the report's stack phase, its checks counted
    error: str = ""


def validate(stack: Stack, cache_dir: Path, *extra: str, program: str | None = None) -> Validated:
    """`stablebuild validate` as a user runs it (CLI start-up included), JSON report on stdout.

    `program`: the `stablebuild` to run (a venv's console script); default the dev venv's.
    """
    argv = [program or stablebuild_bin(), "validate", str(stack.folder), "-f", "json", "-q"]
    argv += extra
    if stack.profile:
        argv += ["--profile", stack.profile]
    env = {**os.environ, "XDG_CACHE_HOME": str(cache_dir)}
    started = time.perf_counter()
    done = run(argv, check=False, env=env, timeout=3600)
    seconds = time.perf_counter() - started
    history_recorded(stack.folder)
    try:
        report = json.loads(done.stdout)
    except ValueError:
        tail = (done.stderr or done.stdout).strip().splitlines()[-5:]
        return Validated(seconds, done.returncode, error=" | ".join(tail))
    remove_stablebuild_run(report.get("run_id"))
    result = Validated(seconds, done.returncode, summary=report.get("summary") or {})
    phase = report.get("stack_phase")
    if isinstance(phase, dict):
        checks = phase.get("checks") or []
        result.stack_phase = {k: v for k, v in phase.items() if k != "checks"}
        result.stack_phase["checks"] = len(checks)
        result.stack_phase["checks_passed"] = sum(c.get("status") == "passed" for c in checks)
    for image in report.get("images") or []:
        build = image.get("build") or {}
        result.build_seconds[image["name"]] = float(build.get("seconds") or 0.0)
        result.build_status[image["name"]] = str(build.get("status"))
        result.from_cache[image["name"]] = bool(image.get("from_cache"))
    return result


def history_recorded(folder: Path) -> None:
    """Wait, untimed, for a run recorded after its command ended (a remembered answer's,
    `history/background.py`): the next contestant starts on a machine as quiet as this one."""
    path = folder / ".stablebuild" / "history.sqlite"
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)
    finally:
        os.close(fd)


def validate_in_process(stack: Stack, cache_dir: Path, *, changed: bool = False) -> float:
    """The same run without the CLI: load the manifest, connect, validate; seconds."""
    started = time.perf_counter()
    manifest = load_manifest(stack.folder / "stablebuild.yml", profile=stack.profile)
    # The same folder the CLI uses under XDG_CACHE_HOME=cache_dir.
    options = ValidateOptions(cache_dir=cache_dir / "stablebuild", changed_only=changed)
    report = run_validate(connect(), manifest, options)
    seconds = time.perf_counter() - started
    remove_stablebuild_run(report.run_id)
    return seconds


def fresh_cache_dir() -> tempfile.TemporaryDirectory[str]:
    return tempfile.TemporaryDirectory(prefix="sb-bench-cache-")

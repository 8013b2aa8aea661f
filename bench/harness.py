"""What every benchmark shares: the machine it ran on, medians, results JSON, and cleanup by label.

Benchmarks are plain scripts (`python bench/<name>.py`), never tests: they print figures and
write `bench/results/<name>.json`; `bench/run.py` turns those files into the README table.
"""

from __future__ import annotations

import json
import os
import platform
import secrets
import shlex
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RESULTS = BENCH / "results"
LABEL_RUN = "org.stablebuild.run"
BASE_IMAGE = "stablebuild/airgap:bookworm"
# The classic builder, the one stablebuild drives through the API: both share one layer cache.
DOCKER_ENV = {**os.environ, "DOCKER_BUILDKIT": "0"}


def program_env(**extra: str) -> dict[str, str]:
    """The environment a timed program runs in: bytecode written as an installed program's is
    (with PYTHONDONTWRITEBYTECODE, set in some shells, an editable checkout compiles every
    module on every start: ~2x), plus `extra`."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return {**env, **extra}


def machine() -> dict[str, Any]:
    """Cores, memory and engine: printed with every figure, stored with every result."""
    mem_kib = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kib = int(line.split()[1])
    except OSError:
        pass
    server = docker_text(["version", "--format", "{{.Server.Version}}"]) or None
    driver = docker_text(["info", "--format", "{{.Driver}}"]) or None
    return {
        "cores": os.cpu_count(),
        "memory_gib": round(mem_kib / 1024 / 1024, 1),
        "docker_server": server,
        "storage_driver": driver,
        "kernel": platform.release(),
        "python": sys.version.split()[0],
    }


def docker_text(args: Sequence[str]) -> str:
    try:
        done = subprocess.run(
            ["docker", *args], capture_output=True, text=True, check=False, timeout=60
        )
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""


def print_machine(info: dict[str, Any]) -> None:
    print(
        f"machine: {info['cores']} cores, {info['memory_gib']} GiB, "
        f"Docker {info['docker_server']} ({info['storage_driver']}), Python {info['python']}",
        flush=True,
    )


def stats(times: Sequence[float]) -> dict[str, Any]:
    return {
        "runs": len(times),
        "median_s": round(statistics.median(times), 3),
        "min_s": round(min(times), 3),
        "max_s": round(max(times), 3),
        "all_s": [round(t, 3) for t in times],
    }


def ratio(slow: float, fast: float) -> float:
    return round(slow / fast, 2) if fast > 0 else float("inf")


def round_order(names: Sequence[str], round_no: int) -> list[str]:
    """The contestants' order in round `round_no`: rotated each round and reversed every other
    one, so that no contestant always runs right after the same one (a peer that leaves the
    engine busy removing its containers would always slow the same next contestant)."""
    shift = round_no % len(names)
    order = [*names[shift:], *names[:shift]]
    return order if round_no % 2 == 0 else order[::-1]


def settle(containers_before: set[str], limit_s: float = 10.0) -> None:
    """Wait until the engine holds no container beyond `containers_before` (a contestant's
    removals can finish after it returns), then half a second more: each contestant starts
    on a quiet engine. A container still there after `limit_s` is left for good: it joins
    `containers_before` (and is named), so it is waited for once."""
    deadline = time.monotonic() + limit_s
    while (extra := containers_now() - containers_before) and time.monotonic() < deadline:
        time.sleep(0.2)
    if extra:
        print(f"  (containers left by a contestant: {' '.join(c[:12] for c in extra)})")
        containers_before |= extra
    time.sleep(0.5)


def containers_now() -> set[str]:
    return set(docker_text(["ps", "-aq", "--no-trunc"]).split())


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    value = fn()
    return time.perf_counter() - started, value


def run(
    argv: Sequence[str],
    *,
    check: bool = True,
    env: dict[str, str] | None = None,
    timeout: float = 3600,
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        list(argv),
        capture_output=True,
        text=True,
        check=False,
        env=env or DOCKER_ENV,
        timeout=timeout,
        cwd=cwd,
    )
    if check and done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-15:]
        raise SystemExit(f"failed ({done.returncode}): {shlex.join(argv)}\n" + "\n".join(tail))
    return done


@dataclass
class BenchRun:
    """One benchmark run's label; `cleanup` removes every container and tag carrying it."""

    name: str
    run_id: str = field(default_factory=lambda: "bench-" + secrets.token_hex(4))
    tags: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{LABEL_RUN}={self.run_id}"

    def tag(self, image: str) -> str:
        tag = f"stablebuild-bench/{self.name}-{image}:{self.run_id}"
        self.tags.append(tag)
        return tag

    def cleanup(self) -> None:
        ids = docker_text(["ps", "-aq", "--filter", f"label={self.label}"]).split()
        if ids:
            run(["docker", "rm", "-f", *ids], check=False)
        tagged = docker_text(
            ["images", "--filter", f"label={self.label}", "--format", "{{.Repository}}:{{.Tag}}"]
        ).split()
        for tag in dict.fromkeys([*self.tags, *tagged]):
            if not tag.endswith(":<none>"):
                run(["docker", "rmi", "--no-prune", tag], check=False)


@contextmanager
def bench_run(name: str) -> Iterator[BenchRun]:
    current = BenchRun(name)
    try:
        yield current
    finally:
        current.cleanup()


def remove_stablebuild_run(run_id: str | None) -> None:
    """What a `stablebuild validate` run left (it cleans up itself; this is belt and braces)."""
    if run_id:
        run([str(ROOT / ".venv" / "bin" / "stablebuild"), "clean", "--run-id", run_id], check=False)


def stablebuild_bin() -> str:
    local = ROOT / ".venv" / "bin" / "stablebuild"
    return str(local) if local.exists() else str(Path(sys.executable).parent / "stablebuild")


def write_result(name: str, data: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    print(f"written {path.relative_to(ROOT)}", flush=True)
    return path


def target(text: str, measured: str, met: bool | None, note: str = "") -> dict[str, Any]:
    """One row of the README table: the target, what was measured, whether it was met."""
    return {"target": text, "measured": measured, "met": met, "note": note}

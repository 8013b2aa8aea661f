"""Benchmark: the offline audit of a generated repo (N pins in 20 files, 10 Dockerfiles).

Not a test. `python bench/audit_bench.py [--runs 5] [--sizes 500,5000,50000]` prints a table and
writes bench/results/audit.json. Nothing is pre-filled: every pin is an offline cache miss, which
is a finding, so the rules' whole path runs. hadolint is measured separately (one subprocess per
Dockerfile) because it is an optional extra.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

from stablebuild.audit.options import AuditOptions
from stablebuild.audit.runner import run_audit

FILES = 20
DOCKERFILES = 10
RESULTS = Path(__file__).parent / "results" / "audit.json"


def generate(root: Path, pins: int) -> None:
    per_file = max(1, pins // FILES)
    for k in range(FILES):
        lines = [f"# generated requirements {k}"]
        lines += [f"pkg-{k}-{i}=={1 + i % 9}.{i % 13}.{i % 7}" for i in range(per_file)]
        (root / f"requirements-{k}.txt").write_text("\n".join(lines) + "\n")
    (root / ".python-version").write_text("3.12.7\n")
    (root / "app").mkdir()
    (root / "app" / "main.py").write_text("print('hi')\n")
    (root / ".dockerignore").write_text(".git\n**/__pycache__\nstorage\n")
    services = []
    for d in range(DOCKERFILES):
        folder = root / f"svc{d}"
        folder.mkdir()
        (folder / "Dockerfile").write_text(
            "ARG PYTHON_VERSION=3.12.7\n"
            "FROM python:${PYTHON_VERSION}-slim AS builder\n"
            f"COPY requirements-{d}.txt /tmp/requirements.txt\n"
            "RUN python -m venv /opt/venv && /opt/venv/bin/pip install -r /tmp/requirements.txt\n"
            "FROM python:${PYTHON_VERSION}-slim\n"
            "COPY --from=builder /opt/venv /opt/venv\n"
            "COPY app/ /app/\n"
            "USER 10001\n"
            'CMD ["/opt/venv/bin/python", "-m", "app.main"]\n'
        )
        services.append(
            f"  svc{d}:\n    build:\n      context: .\n      dockerfile: svc{d}/Dockerfile\n"
        )
    (root / "compose.yml").write_text("services:\n" + "".join(services))


def measure(pins: int, runs: int, hadolint: bool) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="sb-bench-") as tmp:
        root = Path(tmp) / "repo"
        root.mkdir()
        generate(root, pins)
        options = AuditOptions(offline=True, cache_dir=Path(tmp) / "cache", hadolint=hadolint)
        times, findings = [], 0
        timings: dict[str, list[float]] = {}
        for _ in range(runs):
            started = time.perf_counter()
            result = run_audit(root, options, None)
            times.append(time.perf_counter() - started)
            findings = len(result.findings)
            for family, seconds in result.timings.items():
                timings.setdefault(family, []).append(seconds)
    median = statistics.median(times)
    return {
        "pins": pins,
        "hadolint": hadolint,
        "runs": runs,
        "median_s": round(median, 4),
        "min_s": round(min(times), 4),
        "per_1000_pins_s": round(median / pins * 1000, 4),
        "findings": findings,
        "families_median_s": {k: round(statistics.median(v), 4) for k, v in timings.items()},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--sizes", default="500,5000,50000")
    args = parser.parse_args(argv)
    machine = {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
    }
    print(f"machine: {machine}")
    rows = []
    for size in (int(s) for s in args.sizes.split(",")):
        runs = args.runs if size <= 5000 else max(1, min(args.runs, 3))
        rows.append(measure(size, runs, hadolint=False))
        if size == 5000:
            rows.append(measure(size, runs, hadolint=True))
    print(f"{'pins':>7} {'hadolint':>8} {'median s':>9} {'per 1k pins':>12} {'findings':>9}")
    for row in rows:
        print(
            f"{row['pins']:>7} {row['hadolint']!s:>8} {row['median_s']:>9.3f} "
            f"{row['per_1000_pins_s']:>12.4f} {row['findings']:>9}"
        )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"machine": machine, "results": rows}, indent=2) + "\n")
    print(f"written {RESULTS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

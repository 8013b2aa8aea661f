"""Benchmark 7: the cache hit and start-up, in the venvs users really have (issue 15).

stablebuild runs from two venvs the bench builds (`bench/venvs.py`): `clean`, a plain
`pip install` of this project (a wheel, not the dev venv's editable install), and `lock`, the
same resolved with the reference stack's lock (FastAPI, pydantic, SQLAlchemy, Celery...), as a
service team's venv. In the same rounds (order rotated, and reversed every other round), each from
both venvs:

- cache hit, nothing changed: `stablebuild validate` of a one-image stack
  (`fixtures/one_image/`) and of the reference stack (`examples/ffmpeg-api --profile airgap`, three
  images; with its stack phase as a user runs it, and `--no-stack`) vs a plain warm
  `docker build -q` of the same images, one after another (target: validate faster); a run
  recorded in the history after the command ended is waited for, untimed, before the next
  contestant starts (`stack.history_recorded`);
- benchmark 1's 40-check image, cached build, empty result cache: `stablebuild validate` end to
  end vs the check phase called in-process (target: within 1.3x) and vs container-structure-test
  (target: above 20x); beside them, for reference, a minimal program (`bench/floor_cli.py`,
  from the `clean` venv) that only starts, reads the manifest, sends the cached build and runs
  the same check phase: what those cost any program on this machine;
- `stablebuild --help` and a warm `stablebuild audit` of the reference stack (target: 0.3 s).

After one untimed warm-up of every contestant and the timed rounds, each command runs once more,
untimed, with `PYTHONPROFILEIMPORTTIME=1`: the number of modules it imports (and which heavy
packages among them) shows progress that seconds on a shared machine hide.

`python bench/user_venv.py [--runs 3] [--quick] [--reinstall] [--no-stack-phase]`.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import tempfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from check_phase import FIXTURE as CHECK_FIXTURE
from check_phase import (
    cli_manifest,
    cli_validate,
    cst_binary,
    cst_checks,
    cst_config,
    stablebuild_checks,
)
from harness import (
    BENCH,
    DOCKER_ENV,
    BenchRun,
    bench_run,
    containers_now,
    machine,
    print_machine,
    program_env,
    ratio,
    round_order,
    run,
    settle,
    stats,
    target,
    timed,
    write_result,
)
from stack import REFERENCE, REFERENCE_PROFILE, Stack, Validated, load_stack, plain_build, validate
from venvs import USER_VENVS, Venv, ensure, packages, read_stamp

from stablebuild.engine import connect

ONE_IMAGE = BENCH / "fixtures" / "one_image"
HEAVY = ("pydantic", "docker", "requests", "urllib3", "rich", "typer", "click", "yaml")
IMPORT_LINE = re.compile(r"^import time:\s+(\d+) \|\s+\d+ \|( *)(\S+)\s*$")
STARTUP_TARGET_S = 0.3
CHECK_PHASE_TARGET = 1.3
CST_TARGET = 20.0
WARM_BUILD_S = 10.0  # a plain build of one image with every step cached takes about a second


def imported(stderr: str) -> dict[str, Any]:
    """What `PYTHONPROFILEIMPORTTIME=1` printed: modules imported, their total self time, and
    how many came from each heavy package."""
    names: list[str] = []
    self_us = 0
    for line in stderr.splitlines():
        match = IMPORT_LINE.match(line)
        if match:
            self_us += int(match.group(1))
            names.append(match.group(3))
    packages_seen = Counter(name.split(".")[0] for name in names)
    return {
        "modules": len(names),
        "import_self_ms": round(self_us / 1000, 1),
        "stablebuild_modules": packages_seen.get("stablebuild", 0),
        "heavy": {name: packages_seen[name] for name in HEAVY if packages_seen.get(name)},
        "top_packages": dict(packages_seen.most_common(12)),
    }


class Rounds:
    """Named contestants timed in rotating, alternating order (`harness.round_order`), each on a
    quiet engine; the last value of each is kept."""

    def __init__(self) -> None:
        self.fns: dict[str, Callable[[], tuple[float, Any]]] = {}
        self.times: dict[str, list[float]] = {}
        self.last: dict[str, Any] = {}
        self.values: dict[str, list[Any]] = {}

    def add(self, name: str, fn: Callable[[], tuple[float, Any]]) -> None:
        self.fns[name] = fn
        self.times[name] = []
        self.values[name] = []

    def play(self, runs: int) -> None:
        names = list(self.fns)
        quiet = containers_now()
        for round_no in range(runs):
            for name in round_order(names, round_no):
                settle(quiet)
                seconds, value = self.fns[name]()
                self.times[name].append(seconds)
                self.last[name] = value
                self.values[name].append(value)
                print(f"  round {round_no + 1}/{runs}: {name}: {seconds:.2f} s", flush=True)

    def median(self, name: str) -> float:
        return statistics.median(self.times[name])

    def warm_median(self, name: str) -> tuple[float, int]:
        """A plain build's median over its warm rounds, and how many rounds were not warm.

        NOTE: on a shared engine another process may delete dangling images (a multi-stage
        build's builder stage among them) between rounds; the next plain build then rebuilds
        them, minutes instead of a second, and would flatter validate. Such rounds are left out
        (and counted in the table) unless no round was warm.
        """
        warm = [
            seconds
            for seconds, per_image in zip(self.times[name], self.values[name], strict=True)
            if all(t < WARM_BUILD_S for t in per_image.values())
        ]
        cold = len(self.times[name]) - len(warm)
        return statistics.median(warm or self.times[name]), cold


def plain(stack: Stack, current: BenchRun) -> tuple[float, Any]:
    per_image = plain_build(stack, current, nocache=False)
    return sum(per_image.values()), per_image


def validated(stack: Stack, cache: Path, venv: Venv, *extra: str) -> tuple[float, Any]:
    outcome = validate(stack, cache, *extra, program=venv.stablebuild)
    if outcome.error:
        print(f"    {venv.name}: validate failed: {outcome.error}", flush=True)
    return outcome.seconds, outcome


def command(argv: list[str], env: dict[str, str] | None = None) -> tuple[float, Any]:
    seconds, done = timed(lambda: run(argv, check=False, env=env))
    return seconds, done.returncode


def floor(python: str, stack: Path) -> tuple[float, Any]:
    """`bench/floor_cli.py` on the 40-check stack: its seconds, and (checks, failed)."""
    seconds, done = timed(
        lambda: run(
            [python, str(BENCH / "floor_cli.py"), str(stack)], check=False, env=program_env()
        )
    )
    words = done.stdout.split()
    if done.returncode != 0 or len(words) != 2 or words[1] != "0":
        raise SystemExit(f"bench/floor_cli.py did not pass: {done.stdout}{done.stderr}")
    return seconds, {"checks": int(words[0]), "failed": int(words[1])}


def modules_text(modules: dict[str, dict[str, Any]], key: str) -> str:
    """`; 612 modules imported (docker, rich)`: progress the seconds may hide."""
    row = modules.get(key)
    if not row:
        return ""
    heavy = ", ".join(row["heavy"]) or "none of " + "/".join(HEAVY[:5])
    return f"; {row['modules']} modules imported ({heavy})"


def hit_row(
    what: str, rounds: Rounds, plain_name: str, name: str, venv: str, imports: str
) -> dict[str, Any] | None:
    if name not in rounds.times:
        return None
    sb = rounds.median(name)
    base, cold = rounds.warm_median(plain_name)
    outcome: Validated = rounds.last[name]
    cached = bool(outcome.from_cache) and all(outcome.from_cache.values())
    notes = [] if cached else ["NOT all images from the result cache"]
    if cold:
        notes.append(
            f"{cold} of {len(rounds.times[plain_name])} plain rounds rebuilt layers another "
            "process had removed: left out of the plain median"
        )
    if outcome.exit_code != 0:
        notes.append(f"exit {outcome.exit_code} {outcome.error}".strip())
    phase = outcome.stack_phase
    if phase is not None and "--no-stack" not in name:
        passed = f"{phase.get('checks_passed')}/{phase.get('checks')} stack checks passed"
        if phase.get("from_cache"):
            notes.append(f"stack phase from the cache ({passed}; it took {phase['seconds']} s)")
        else:
            notes.append(f"stack phase ran: {phase.get('seconds', 0):.1f} s, {passed}")
    note = "; ".join(notes)
    return target(
        f"{what}, `{venv}` venv: `stablebuild validate` faster than a plain warm "
        "`docker build -q` (ratio > 1)",
        f"{ratio(base, sb)}x ({sb:.2f} s vs {base:.2f} s){imports}",
        sb < base and outcome.exit_code == 0,
        note,
    )


@dataclass(frozen=True)
class Setup:
    """What every contestant shares: the venvs, the stacks, the 40-check stack, the peers."""

    users: list[Venv]
    one: Stack
    ref: Stack
    check_image: str
    check_stack: Path
    cst: str | None
    cst_config: Path
    cache: Path  # the result cache both venvs share, as one user's would
    with_stack_phase: bool


def help_argv(venv: Venv) -> list[str]:
    return [venv.stablebuild, "--help"]


def audit_argv(venv: Venv, stack: Stack) -> list[str]:
    return [venv.stablebuild, "audit", str(stack.folder), "-f", "json", "-q", "--history", "off"]


def validate_argv(stack: Stack, venv: Venv, *extra: str) -> list[str]:
    argv = [venv.stablebuild, "validate", str(stack.folder), "-f", "json", "-q", *extra]
    return argv + (["--profile", stack.profile] if stack.profile else [])


def prime(setup: Setup, current: BenchRun) -> None:
    """Every image built once the plain way, each stack validated once from each venv
    (untimed): a venv's checks are its own code's (the result cache is keyed by it), so a venv
    primed by another would check its images in the warm-up, which then leaves no remembered
    answer, and its first timed round would be a full run (0.4-0.7 s in the `lock` venv's
    first round of every earlier run)."""
    print("priming: plain builds, one validate of each stack (not timed) ...", flush=True)
    run(["docker", "build", "-q", "--label", current.label, "-t", setup.check_image,
         str(CHECK_FIXTURE)])  # fmt: skip
    cli_manifest(setup.check_stack)
    setup.cst_config.write_text(json.dumps(cst_config(), indent=1), encoding="utf-8")
    for stack in (setup.one, setup.ref):
        plain_build(stack, current, nocache=False)
        extra = () if setup.with_stack_phase or stack is setup.one else ("--no-stack",)
        for venv in setup.users:
            primed = validate(stack, setup.cache, *extra, program=venv.stablebuild)
            status = f"exit {primed.exit_code}, {primed.build_status}"
            print(f"  {stack.name} [{venv.name}]: {status}", flush=True)
            statuses = primed.build_status.values()
            if primed.error or any(s not in ("built", "cached") for s in statuses):
                why = primed.error or primed.build_status
                raise SystemExit(f"{stack.name} does not build: {why}")


def count_modules(setup: Setup) -> dict[str, dict[str, Any]]:
    """Each command once more with `PYTHONPROFILEIMPORTTIME=1`, untimed."""
    print("modules imported (PYTHONPROFILEIMPORTTIME=1, untimed) ...")
    modules: dict[str, dict[str, Any]] = {}
    env = {**os.environ, "XDG_CACHE_HOME": str(setup.cache), "PYTHONPROFILEIMPORTTIME": "1"}
    for venv in setup.users:
        commands = {
            "validate one image (cache hit)": validate_argv(setup.one, venv),
            "validate reference (cache hit)": validate_argv(setup.ref, venv),
            "validate reference --no-stack (cache hit)": validate_argv(
                setup.ref, venv, "--no-stack"
            ),
            "audit reference (warm)": audit_argv(venv, setup.ref),
            "--help": help_argv(venv),
        }
        if not setup.with_stack_phase:
            del commands["validate reference (cache hit)"]
        for what, argv in commands.items():
            # NOTE: the audit as its timed rounds ran it (the user's cache: its memo is there)
            audit = {**DOCKER_ENV, "PYTHONPROFILEIMPORTTIME": "1"}
            done = run(argv, check=False, env=audit if what.startswith("audit") else env)
            modules[f"{what} [{venv.name}]"] = {
                "exit_code": done.returncode,
                **imported(done.stderr),
            }
        check = cli_validate(setup.check_stack, venv.stablebuild, {"PYTHONPROFILEIMPORTTIME": "1"})
        modules[f"validate 40-check image (empty result cache) [{venv.name}]"] = {
            "exit_code": check["exit_code"],
            **imported(check["stderr"]),
        }
    for name, row in modules.items():
        print(
            f"  {name}: {row['modules']} modules ({row['import_self_ms']} ms), "
            f"heavy: {row['heavy']}, exit {row['exit_code']}",
            flush=True,
        )
    return modules


def contestants(setup: Setup, current: BenchRun) -> Rounds:
    rounds = Rounds()
    engine = connect()
    one, ref, cache = setup.one, setup.ref, setup.cache

    def check_cli(venv: Venv) -> tuple[float, Any]:
        outcome = cli_validate(setup.check_stack, venv.stablebuild)
        return outcome["seconds"], outcome

    def check_phase() -> tuple[float, Any]:
        return timed(lambda: stablebuild_checks(engine, setup.check_image, current.run_id))

    rounds.add("one: docker build", lambda: plain(one, current))
    rounds.add("ref: docker build", lambda: plain(ref, current))
    rounds.add("check: in-process", check_phase)
    rounds.add("check: floor", lambda: floor(setup.users[0].python, setup.check_stack))
    cst = setup.cst
    if cst:
        rounds.add(
            "check: container-structure-test",
            lambda: timed(lambda: cst_checks(cst, setup.check_image, setup.cst_config)),
        )
    for v in setup.users:
        rounds.add(f"one: validate [{v.name}]", partial(validated, one, cache, v))
        if setup.with_stack_phase:
            rounds.add(f"ref: validate [{v.name}]", partial(validated, ref, cache, v))
        rounds.add(
            f"ref: validate --no-stack [{v.name}]", partial(validated, ref, cache, v, "--no-stack")
        )
        rounds.add(f"check: validate [{v.name}]", partial(check_cli, v))
        rounds.add(f"--help [{v.name}]", partial(command, help_argv(v)))
        rounds.add(f"audit [{v.name}]", partial(command, audit_argv(v, ref)))
    return rounds


def result_rows(rounds: Rounds) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for name, times in rounds.times.items():
        row: dict[str, Any] = stats(times)
        last = rounds.last[name]
        if isinstance(last, Validated):
            row.update(
                exit_code=last.exit_code,
                from_cache=last.from_cache,
                build_status=last.build_status,
                summary=last.summary,
                stack_phase=last.stack_phase,
            )
        elif isinstance(last, dict) and "failed" in last:  # the floor: (checks, failed)
            row.update(last)
        elif isinstance(last, dict) and "build_seconds" in last:
            row.update(
                exit_code=last["exit_code"],
                build_seconds=last["build_seconds"],
                from_cache=last["from_cache"],
                summary=last["summary"],
            )
        elif isinstance(last, dict):  # a plain build: seconds per image, every round
            row["per_image_s"] = [
                {image: round(t, 3) for image, t in value.items()} for value in rounds.values[name]
            ]
            row["warm_median_s"], row["rounds_not_warm"] = rounds.warm_median(name)
            row["warm_median_s"] = round(row["warm_median_s"], 3)
        elif isinstance(last, int):
            row["exit_code"] = last
        elif isinstance(last, tuple):  # container-structure-test: (passed, total)
            row.update(passed=last[0], total=last[1])
        elif isinstance(last, list):  # the in-process check phase: its CheckResults
            row["statuses"] = dict(Counter(check.status.value for check in last))
        results[name] = row
    return results


def target_rows(
    rounds: Rounds, modules: dict[str, dict[str, Any]], cst: bool
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for venv in USER_VENVS:
        for what, plain_name, name, key in (
            ("One image, cache hit", "one: docker build", f"one: validate [{venv}]",
             "validate one image (cache hit)"),
            ("Reference stack (3 images), cache hit, with its stack phase",
             "ref: docker build", f"ref: validate [{venv}]", "validate reference (cache hit)"),
            ("Reference stack (3 images), cache hit, `--no-stack`",
             "ref: docker build", f"ref: validate --no-stack [{venv}]",
             "validate reference --no-stack (cache hit)"),
        ):  # fmt: skip
            row = hit_row(
                what, rounds, plain_name, name, venv, modules_text(modules, f"{key} [{venv}]")
            )
            if row:
                rows.append(row)
    inproc = rounds.median("check: in-process")
    least = rounds.median("check: floor")
    rows.append(
        target(
            "40-check image, for reference: a minimal program (`bench/floor_cli.py`: start, "
            "read the manifest, send the cached build, the same check phase; nothing else), "
            "against the in-process check phase",
            f"{least / inproc:.2f}x ({least:.2f} s vs {inproc:.2f} s)",
            None,
            "what the start, the manifest and a cached build cost any program here",
        )
    )
    for venv in USER_VENVS:
        name = f"check: validate [{venv}]"
        cli = rounds.median(name)
        cli_ok = rounds.last[name]["exit_code"] == 0
        failed = "" if cli_ok else f"validate exit {rounds.last[name]['exit_code']}"
        imports = modules_text(modules, f"validate 40-check image (empty result cache) [{venv}]")
        rows.append(
            target(
                f"40-check image, `{venv}` venv: `stablebuild validate` end to end (cached build, "
                f"empty result cache) within {CHECK_PHASE_TARGET}x of the in-process check phase",
                f"{cli / inproc:.2f}x ({cli:.2f} s vs {inproc:.2f} s){imports}",
                cli / inproc <= CHECK_PHASE_TARGET and cli_ok,
                failed,
            )
        )
        if not cst:
            rows.append(
                target(
                    f"40-check image, `{venv}` venv: `stablebuild validate` above "
                    f"{CST_TARGET:.0f}x faster than container-structure-test",
                    "not measured",
                    None,
                    "container-structure-test not installed (bench/venvs.py installs it)",
                )
            )
            continue
        peer = rounds.median("check: container-structure-test")
        rows.append(
            target(
                f"40-check image, `{venv}` venv: `stablebuild validate` end to end above "
                f"{CST_TARGET:.0f}x faster than container-structure-test",
                f"{ratio(peer, cli)}x ({cli:.2f} s vs {peer:.2f} s)",
                ratio(peer, cli) > CST_TARGET and cli_ok,
                failed,
            )
        )
    for venv in USER_VENVS:
        for what, name, key in (
            ("`stablebuild --help`", "--help", "--help"),
            ("warm `stablebuild audit` of the reference stack", "audit", "audit reference (warm)"),
        ):
            median = rounds.median(f"{name} [{venv}]")
            rows.append(
                target(
                    f"{what}, `{venv}` venv, in at most {STARTUP_TARGET_S} s",
                    f"{median:.2f} s{modules_text(modules, f'{key} [{venv}]')}",
                    median <= STARTUP_TARGET_S,
                )
            )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="timed rounds (default 3)")
    parser.add_argument("--quick", action="store_true", help="1 round")
    parser.add_argument("--reinstall", action="store_true", help="re-install stablebuild first")
    parser.add_argument(
        "--ref", help="stablebuild as of this git commit (e.g. HEAD), not the working tree"
    )
    parser.add_argument(
        "--no-stack-phase",
        action="store_true",
        help="skip the reference stack's validate with its stack phase (a minute a run until "
        "its verdict is cached)",
    )
    args = parser.parse_args(argv)
    runs = 1 if args.quick else max(1, args.runs)

    venvs = ensure(reinstall=args.reinstall, ref=args.ref)
    info = machine()
    print_machine(info)
    with (
        bench_run("user-venv") as current,
        tempfile.TemporaryDirectory(prefix="sb-bench-") as tmp,
    ):
        setup = Setup(
            users=[venvs[name] for name in USER_VENVS],
            one=load_stack(ONE_IMAGE, None),
            ref=load_stack(REFERENCE, REFERENCE_PROFILE),
            check_image=current.tag("check"),
            check_stack=Path(tmp) / "check-stack",
            cst=cst_binary(),
            cst_config=Path(tmp) / "cst.json",
            cache=Path(tmp) / "cache",
            with_stack_phase=not args.no_stack_phase,
        )
        setup.check_stack.mkdir()
        prime(setup, current)
        rounds = contestants(setup, current)
        print(
            f"warm-up: each of the {len(rounds.fns)} contestants once (not timed) ...", flush=True
        )
        for fn in rounds.fns.values():
            fn()
        print(f"timed: {runs} round(s) ...", flush=True)
        rounds.play(runs)
        # NOTE: after the rounds, so each command takes the path its timed runs took (a cache
        # entry may be completed by the first hit after a miss).
        modules = count_modules(setup)

    rows = target_rows(rounds, modules, bool(setup.cst))
    installed = {}
    for venv in setup.users:
        listed = packages(venv)
        shown = ("stablebuild", "typer", "pydantic", "rich", "docker")
        installed[venv.name] = {
            "stablebuild_from": read_stamp(venv.folder).get("source"),
            "packages": len(listed),
            **{k: listed[k] for k in shown if k in listed},
        }
    data = {
        "name": "user_venv",
        "title": "Cache hit and start-up in a user's venv",
        "machine": info,
        "runs": runs,
        "venvs": installed,
        "stacks": {
            "one": setup.one.name,
            "reference": f"{setup.ref.name} (profile {setup.ref.profile})",
        },
        "stack_phase_measured": setup.with_stack_phase,
        "results": result_rows(rounds),
        "modules": modules,
        "targets": rows,
    }
    for row in rows:
        note = f" ({row['note']})" if row["note"] else ""
        print(f"{row['target']}: {row['measured']} -> met: {row['met']}{note}")
    write_result("user_venv", data)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Runs generated cases in a bounded worker process and judges what each one did.

A `Case` says what to run and what must hold afterwards (exit codes, valid JSON, no traceback, no
secret from outside the repository in any output, planted FIFOs and device nodes untouched, a
time budget for the parsers). `run_batch` feeds cases to `worker.py` under a memory limit, kills
it when one case runs past its timeout (a hang), restarts it after the case, and turns each
report into an `Outcome` with one-line symptoms. The figures for the terminal summary are
gathered here too.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import selectors
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tests.robustness import casecheck

WORKER = Path(__file__).with_name("worker.py")
MEMORY_LIMIT = 2 * 1024**3  # address space of the worker: a blow-up is a failure, not a dead box
FILE_LIMIT = 512 * 1024**2  # the largest file the worker may write
WORKER_START_TIMEOUT = 60.0  # seconds for the worker's imports, on a slow shared CI machine
BETWEEN_CASES_TIMEOUT = 30.0  # the worker's own bookkeeping between two cases
# After this many hangs or crashes in one case class its other cases are not run (and fail):
# every hang costs its whole timeout, and one case is enough to route the bug. Raise it (the
# environment variable) to see every variant that hangs.
MAX_STALLS_PER_CLASS = int(os.environ.get("STABLEBUILD_FUZZ_MAX_STALLS", "1"))


@dataclass(frozen=True)
class Case:
    """One generated input and what must be true once it has run."""

    id: str
    kind: str  # "manifest", "repo", "cli": the figure it counts towards
    cls: str  # the case class: the unit a failure is routed by
    action: str  # "load" (load_manifest) or "cli" (CliRunner on stablebuild.cli.app)
    argv: tuple[str, ...] = ()
    manifest: str = ""
    profile: str | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    cwd: str = ""
    expect: tuple[int, ...] = (2,)
    timeout: float = 10.0  # past this the case is a hang and its worker is killed
    budget: float | None = None  # a parser's time budget for a large input
    json_from: str | None = None  # "stdout" or a report path that must parse when exit is 0/1
    audit_json: bool = False  # the JSON is an audit report: no SB000, no family errors
    must_name: tuple[str, ...] = ()  # a finding must name each of these paths
    preserve: tuple[Mapping[str, Any], ...] = ()  # planted nodes that must be left as they are
    absent: tuple[str, ...] = ()  # paths that must not exist afterwards
    reports: tuple[str, ...] = ()  # written reports to search for the secret
    watch_canary: bool = True  # the canary outside the case folder must not even be read
    help: bool = False  # stdout must be the help text
    parser: str = ""  # for the figures: which parser the big input feeds
    size: int = 0  # bytes of the hostile input, for the figures


@dataclass(frozen=True)
class Outcome:
    case: Case
    status: str  # "ok", "failed", "hang", "crash", "skipped"
    symptoms: tuple[str, ...] = ()
    facts: Mapping[str, Any] = field(default_factory=dict)

    @property
    def seconds(self) -> float:
        return float(self.facts.get("seconds", self.case.timeout if self.status == "hang" else 0))


@dataclass(frozen=True)
class Watch:
    """The session's secret and the canary file that holds it, outside every case folder."""

    secret: str
    canary: Path

    def meta(self) -> dict[str, Any]:
        st = os.stat(self.canary)
        return {
            "secret": self.secret,
            "canary": str(self.canary),
            "canary_mtime_ns": st.st_mtime_ns,
            "canary_size": st.st_size,
        }


def plant_canary(folder: Path, secret: str) -> Watch:
    """A canary file outside every generated repository; one per kind, as each worker watches
    its own canary's access time and two kinds run at once."""
    canary = folder / "canary.txt"
    # Shaped to be noticed by whichever parser reads it: a pin, a requirement, an instruction.
    canary.write_text(f"{secret}\n{secret}==1.0\nFROM {secret}\npython: {secret}\n")
    return Watch(secret, canary)


# -- figures ----------------------------------------------------------------------------------


@dataclass
class Figures:
    """What one kind of case did, for the terminal summary and the closing note."""

    cases: int = 0
    counts: Counter[str] = field(default_factory=Counter)
    largest: dict[str, tuple[int, float, str, str]] = field(default_factory=dict)
    slowest_by_parser: dict[str, tuple[float, int, str, str]] = field(default_factory=dict)
    slowest: tuple[float, str] = (0.0, "")
    failing: dict[str, list[Outcome]] = field(default_factory=dict)  # class -> failed outcomes
    classes: Counter[str] = field(default_factory=Counter)

    def add(self, outcome: Outcome) -> None:
        self.cases += 1
        self.counts[outcome.status] += 1
        facts = outcome.facts
        if facts.get("traceback") or facts.get("tb_in_output"):
            self.counts["tracebacks"] += 1
        if any(s.startswith("exit ") for s in outcome.symptoms):
            self.counts["wrong exit codes"] += 1
        if any(s.startswith("secret") or "canary" in s for s in outcome.symptoms):
            self.counts["outside reads/leaks"] += 1
        if any(s.startswith("slow") for s in outcome.symptoms):
            self.counts["over budget"] += 1
        case = outcome.case
        self.classes[case.cls] += 1
        if outcome.status != "ok":
            self.failing.setdefault(case.cls, []).append(outcome)
        if outcome.status in ("ok", "failed", "hang") and case.parser:
            best = self.largest.get(case.parser)
            if best is None or case.size > best[0]:
                self.largest[case.parser] = (case.size, outcome.seconds, outcome.status, case.id)
            slow = self.slowest_by_parser.get(case.parser)
            if slow is None or outcome.seconds > slow[0]:
                entry = (outcome.seconds, case.size, outcome.status, case.id)
                self.slowest_by_parser[case.parser] = entry
        if outcome.seconds > self.slowest[0]:
            self.slowest = (outcome.seconds, case.id)


FIGURES: dict[str, Figures] = {}


def figures_lines() -> list[str]:
    lines = []
    for kind, fig in FIGURES.items():
        c = fig.counts
        lines.append(
            f"{kind}: {fig.cases} cases, {c['ok']} passed; tracebacks {c['tracebacks']}, "
            f"hangs {c['hang']}, crashes {c['crash']}, wrong exit codes {c['wrong exit codes']}, "
            f"outside reads/leaks {c['outside reads/leaks']}, over budget {c['over budget']}, "
            f"not run {c['skipped']}, failed in all {fig.cases - c['ok']}"
            f" ; slowest {fig.slowest[0]:.2f} s ({fig.slowest[1]})"
        )
        for parser, (size, seconds, status, case_id) in sorted(fig.largest.items()):
            shown = "hung" if status == "hang" else f"{seconds:.2f} s"
            line = f"    {parser}: largest input {_bytes(size)} in {shown} ({case_id})"
            seconds, size, status, slow_id = fig.slowest_by_parser[parser]
            if slow_id != case_id:
                shown = "hung" if status == "hang" else f"{seconds:.2f} s"
                line += f"; slowest {shown} on {_bytes(size)} ({slow_id})"
            lines.append(line)
        for cls, failed in sorted(fig.failing.items()):
            lines.append(
                f"    FAILING {kind}/{cls}: {len(failed)} of {fig.classes[cls]}: "
                f"{failed[0].symptoms[0] if failed[0].symptoms else failed[0].status}"
            )
    return lines


def _bytes(size: int) -> str:
    if size >= 1024**2:
        return f"{size / 1024**2:.1f} MiB"
    if size >= 1024:
        return f"{size / 1024:.0f} KiB"
    return f"{size} B"


# -- judging ----------------------------------------------------------------------------------


def judge(case: Case, facts: Mapping[str, Any]) -> Outcome:
    symptoms: list[str] = []
    if facts.get("traceback"):
        symptoms.append(f"traceback: {facts['traceback']}")
    elif facts.get("tb_in_output"):
        symptoms.append("a traceback was printed")
    code = facts.get("exit")
    if code not in case.expect and not facts.get("traceback"):
        said = _first_line(facts.get("stderr_head") or facts.get("first_problem") or "")
        wanted = "/".join(str(c) for c in case.expect)
        symptoms.append(f"exit {code}, expected {wanted}" + (f": {said}" if said else ""))
    if facts.get("json_error"):
        symptoms.append(f"json: {facts['json_error']}")
    if facts.get("sb000"):
        symptoms.append(f"SB000 finding: {facts['sb000'][0]}")
    elif facts.get("family_errors"):
        family, error = next(iter(facts["family_errors"].items()))
        symptoms.append(f"rule family {family} raised: {error}")
    if facts.get("unnamed"):
        symptoms.append(f"no finding names {', '.join(facts['unnamed'])}")
    if facts.get("leaks"):
        symptoms.append(f"secret from outside the repo printed in {', '.join(facts['leaks'])}")
    symptoms += list(facts.get("disk", []))
    if facts.get("multiline"):
        symptoms.append(f"error message spans lines: {facts['multiline'][0]!r}")
    if case.help and not facts.get("help"):
        symptoms.append("no help text on stdout")
    seconds = float(facts.get("seconds", 0.0))
    if case.budget is not None and seconds > case.budget:
        symptoms.append(f"slow: {seconds:.1f} s for {_bytes(case.size)} (budget {case.budget:g} s)")
    return Outcome(case, "failed" if symptoms else "ok", tuple(symptoms), dict(facts))


def _first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return line.strip()[:160]
    return ""


def _stalled(case: Case, status: str, symptom: str, meta: Mapping[str, Any]) -> Outcome:
    """A hang or a crash: the disk checks still run, as the damage may precede the stall."""
    symptoms = [symptom]
    symptoms += casecheck.preserved_problems([dict(p) for p in case.preserve], list(case.absent))
    armed = meta["canary_mtime_ns"] - casecheck.ATIME_BACKDATE_NS
    problems = casecheck.canary_problems(
        meta["canary"], armed, meta["canary_mtime_ns"], meta["canary_size"]
    )
    symptoms += [p for p in problems if case.watch_canary or "read" not in p]
    return Outcome(case, status, tuple(symptoms), {"seconds": case.timeout})


# -- the worker ---------------------------------------------------------------------------------


def _limits() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_LIMIT, FILE_LIMIT))


class _Worker:
    """One worker process and the pipe it reports on."""

    def __init__(
        self, batch: Path, start: int, skip: Iterable[str], log: Path, env: Mapping[str, str]
    ) -> None:
        read_fd, write_fd = os.pipe()
        self.log = log
        with log.open("ab") as err:
            self.proc = subprocess.Popen(
                [sys.executable, str(WORKER), str(batch), str(start), str(write_fd), *skip],
                stdin=subprocess.DEVNULL,
                stdout=err,
                stderr=err,
                pass_fds=(write_fd,),
                env={**os.environ, **env},
                preexec_fn=_limits,
                start_new_session=True,  # a kill takes hadolint and any other child with it
            )
        os.close(write_fd)
        self.fd = read_fd
        self.buffer = b""
        self.selector = selectors.DefaultSelector()
        self.selector.register(read_fd, selectors.EVENT_READ)

    def next_message(self, timeout: float) -> dict[str, Any] | None:
        """The next message; None at end of stream. Raises TimeoutError past `timeout`."""
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not self.selector.select(left):
                raise TimeoutError
            chunk = os.read(self.fd, 1 << 20)
            if not chunk:
                return None
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        message: dict[str, Any] = json.loads(line)
        return message

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        self.close()

    def finish(self) -> int:
        code = self.proc.wait()
        self.close()
        return code

    def close(self) -> None:
        self.selector.close()
        with contextlib.suppress(OSError):
            os.close(self.fd)

    def last_words(self) -> str:
        try:
            lines = self.log.read_text(errors="replace").strip().splitlines()
        except OSError:
            return ""
        return lines[-1][:200] if lines else ""


def run_batch(
    kind: str,
    cases: Sequence[Case],
    watch: Watch,
    workdir: Path,
    env: Mapping[str, str],
    *,
    record: bool = True,
) -> list[Outcome]:
    """Run every case; each gets an Outcome, in order. Figures are recorded under `kind`.

    `env` is laid over the worker's environment: no engine, no network, a private cache.
    """
    meta = watch.meta()
    batch = workdir / f"{kind}-batch.json"
    batch.write_text(json.dumps({**meta, "cases": [asdict(c) for c in cases]}), encoding="utf-8")
    log = workdir / f"{kind}-worker.log"
    outcomes: dict[int, Outcome] = {}
    stalls: Counter[str] = Counter()
    index = 0
    while index < len(cases):
        skip = sorted(cls for cls, n in stalls.items() if n >= MAX_STALLS_PER_CLASS)
        worker = _Worker(batch, index, skip, log, env)
        index = _drive(worker, cases, outcomes, stalls, meta, index)
    ordered = [outcomes[i] for i in range(len(cases))]
    if record:
        figures = FIGURES.setdefault(kind, Figures())
        for outcome in ordered:
            figures.add(outcome)
    return ordered


def _drive(
    worker: _Worker,
    cases: Sequence[Case],
    outcomes: dict[int, Outcome],
    stalls: Counter[str],
    meta: Mapping[str, Any],
    index: int,
) -> int:
    """Feed one worker until it ends or stalls; returns the index to restart from."""
    current: int | None = None
    ready = False
    timeout = WORKER_START_TIMEOUT
    while True:
        try:
            message = worker.next_message(timeout)
        except TimeoutError:
            worker.kill()
            if not ready:
                return _give_up(cases, outcomes, index, f"no worker started in {timeout:g} s")
            if current is None:  # stuck between cases: blame the next one, or it loops
                current = index
            case = cases[current]
            stalls[case.cls] += 1
            symptom = f"hang: no answer within {timeout:g} s (killed)"
            outcomes[current] = _stalled(case, "hang", symptom, meta)
            return current + 1
        if message is None:
            code = worker.finish()
            last = worker.last_words()
            if not ready:
                return _give_up(cases, outcomes, index, f"the worker did not start: {last}")
            if current is None:  # done, or it ended itself after a MemoryError it reported
                return index
            case = cases[current]
            stalls[case.cls] += 1
            symptom = f"worker died (rc {code})" + (f": {last}" if last else "")
            outcomes[current] = _stalled(case, "crash", symptom, meta)
            return current + 1
        if "start" in message:
            current = int(message["start"])
            timeout = cases[current].timeout
        elif "done" in message:
            done = int(message["done"])
            outcomes[done] = judge(cases[done], message)
            if message.get("fatal"):
                stalls[cases[done].cls] += 1
            current = None
            index = done + 1
            timeout = BETWEEN_CASES_TIMEOUT
        elif "skip" in message:
            skipped = int(message["skip"])
            case = cases[skipped]
            symptom = f"not run: class {case.cls} already hung or crashed"
            outcomes[skipped] = Outcome(case, "skipped", (symptom,))
            index = skipped + 1
        elif "ready" in message:
            ready = True
            timeout = BETWEEN_CASES_TIMEOUT


def _give_up(cases: Sequence[Case], outcomes: dict[int, Outcome], index: int, why: str) -> int:
    """The worker itself is broken (an import error in stablebuild): every case left fails."""
    for left in range(index, len(cases)):
        outcomes[left] = Outcome(cases[left], "crash", (why,))
    return len(cases)


# -- reporting --------------------------------------------------------------------------------


def by_class(outcomes: Iterable[Outcome]) -> dict[str, list[Outcome]]:
    grouped: dict[str, list[Outcome]] = {}
    for outcome in outcomes:
        grouped.setdefault(outcome.case.cls, []).append(outcome)
    return grouped


def failure_report(outcomes: Sequence[Outcome], shown: int = 6) -> str:
    """`N of M cases failed`, then one line per failing case (the first few), symptoms joined."""
    failed = [o for o in outcomes if o.status != "ok"]
    lines = [f"{len(failed)} of {len(outcomes)} cases failed"]
    for outcome in failed[:shown]:
        lines.append(f"  {outcome.case.id}: {' | '.join(outcome.symptoms)}")
    if len(failed) > shown:
        lines.append(f"  ... and {len(failed) - shown} more")
    return "\n".join(lines)

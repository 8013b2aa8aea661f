"""The stack phase's smoke steps: one HTTP request (and the poll after it) or one command in a
service's container, each judged into a `stack.smoke.<n>` check.

The requests go through a `Sender` (`engine.http.send` for real), so the poll loop is tested with
a scripted service and a clock that only its sleeps move.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from stablebuild.checks.results import error, failed, passed
from stablebuild.checks.stack import FAMILY, PollState, fill, parse_json, poll_state, seen
from stablebuild.engine.compose import Compose, ComposeError
from stablebuild.engine.http import HttpAnswer
from stablebuild.manifest.model import ExecStep, HttpStep, PollSpec
from stablebuild.report.model import CheckResult

POLL_REQUEST_TIMEOUT = 10.0
SHOWN_BODY = 300  # characters of an unexpected answer shown in a message
OUTPUT_LINES = 20  # of a command that failed

Sender = Callable[..., HttpAnswer]


def describe(step: HttpStep | ExecStep) -> str:
    if isinstance(step, ExecStep):
        return f"exec in {step.service}"
    return f"{step.method} {step.path} on {step.service}"


def run_exec(project: Compose, id: str, step: ExecStep) -> CheckResult:
    """`step.command` in the service's running container: passed when it exits 0."""
    shown = f"{step.service}: {short(' '.join(step.command))}"
    try:
        result = project.exec(step.service, step.command, step.timeout_seconds)
    except ComposeError as exc:
        return error(id, FAMILY, f"{shown}: {exc.message}")
    output = tail(result.output)
    if result.timed_out:
        message = f"{shown}: did not finish within {step.timeout_seconds:g} s"
        return failed(id, FAMILY, block(message, "output", output), None, step.timeout_seconds)
    if result.exit_code != 0:
        message = f"{shown}: exited {result.exit_code}"
        return failed(id, FAMILY, block(message, "output", output), result.exit_code, 0)
    seconds = round(result.seconds, 2)
    said = tail(result.stdout, 1)
    said = f" ({short(said)})" if said else ""
    return passed(id, FAMILY, f"{shown}: exited 0 in {seconds:.1f} s{said}", seconds)


def run_http(sender: Sender, id: str, step: HttpStep, base: str) -> CheckResult:
    """The request to `base` (where the service's port is published), then its poll if any."""
    shown = describe(step)
    answer = sender(
        step.method,
        base + step.path,
        json_body=step.json_body,
        form=step.form,
        timeout=step.timeout_seconds,
    )
    if answer.status is None:
        return failed(id, FAMILY, f"{shown}: no answer ({answer.error})")
    if answer.status != step.expect_status:
        message = f"{shown} answered {answer.status}, expected {step.expect_status}"
        return failed(id, FAMILY, message + body(answer.body), answer.status, step.expect_status)
    first = f"{shown} answered {answer.status}"
    if step.then_poll is None:
        return passed(id, FAMILY, first, round(answer.seconds, 3))
    poll = step.then_poll
    document, problem = parse_json(answer.body)
    if problem is not None:
        return failed(id, FAMILY, f"{first}, but {problem}" + body(answer.body))
    path, absent = fill(poll.path, document)
    if absent:
        fields = ", ".join(absent)
        return failed(id, FAMILY, f"{first}, but its JSON has no {fields} for {poll.path}")
    want = ", ".join(f"{k}: {v}" for k, v in poll.until.items())
    outcome = poll_until(sender, base + path, poll)
    seconds = round(outcome.seconds, 2)
    if outcome.state is PollState.DONE:
        message = f"{first}; GET {path} reached {want} after {seconds:.1f} s"
        return passed(id, FAMILY, message, seconds, poll.timeout_seconds)
    if outcome.state is PollState.FAILED:
        message = f"{first}; GET {path} failed after {seconds:.1f} s: {outcome.last}"
        return failed(id, FAMILY, message, seconds, poll.timeout_seconds)
    message = f"{first}; GET {path} did not reach {want} within {poll.timeout_seconds:g} s"
    return failed(id, FAMILY, f"{message} (last: {outcome.last})", None, poll.timeout_seconds)


@dataclass(frozen=True)
class PollOutcome:
    state: PollState  # WAITING: the time ran out
    last: str  # what the last answer held of the fields asked about (or why there was none)
    seconds: float
    polls: int


def poll_until(
    sender: Sender,
    url: str,
    poll: PollSpec,
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> PollOutcome:
    """GET `url` every `poll.interval_seconds` until its JSON matches `until` or `fail_when`,
    or `poll.timeout_seconds` have passed. Errors and non-JSON answers are waited through."""
    started = clock()
    deadline = started + poll.timeout_seconds
    last, polls = "no answer yet", 0
    while True:
        timeout = max(1.0, min(POLL_REQUEST_TIMEOUT, deadline - clock()))
        reply = sender("GET", url, timeout=timeout)
        polls += 1
        if reply.status is None:
            last = f"no answer ({reply.error})"
        elif not 200 <= reply.status < 300:
            last = f"HTTP {reply.status}" + body(reply.body)
        else:
            document, problem = parse_json(reply.body)
            if problem is not None:
                last = problem
            else:
                last = seen(document, {**poll.until, **poll.fail_when})
                state = poll_state(document, poll.until, poll.fail_when)
                if state is not PollState.WAITING:
                    return PollOutcome(state, last, clock() - started, polls)
        if clock() + poll.interval_seconds > deadline:
            return PollOutcome(PollState.WAITING, last, clock() - started, polls)
        sleep(poll.interval_seconds)


def short(text: str, most: int = 100) -> str:
    return text if len(text) <= most else text[: most - 3] + "..."


def tail(text: str, lines: int = OUTPUT_LINES) -> str:
    kept = [line.rstrip() for line in text.splitlines() if line.strip()]
    return "\n".join(kept[-lines:])


def block(message: str, what: str, text: str) -> str:
    """`message`, then `text` under a `--- what ---` line when there is any."""
    return f"{message}\n--- {what} ---\n{text}" if text.strip() else message


def body(text: str) -> str:
    """An answer's body on one line, cut short, for a message (": ..."; "" when empty)."""
    flat = " ".join(text.split())
    if not flat:
        return ""
    return f": {flat[:SHOWN_BODY]}" + ("..." if len(flat) > SHOWN_BODY else "")


__all__ = [
    "PollOutcome",
    "Sender",
    "block",
    "body",
    "describe",
    "poll_until",
    "run_exec",
    "run_http",
    "short",
    "tail",
]

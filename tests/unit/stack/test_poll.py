"""Judging the stack's answers: `until:` matching, `{id}` placeholders, the poll loop, health."""

from __future__ import annotations

from typing import Any

import pytest

from stablebuild.checks.stack import (
    Health,
    HealthState,
    PollState,
    fill,
    health_problem,
    health_state,
    matches,
    poll_state,
    seen,
)
from stablebuild.engine.http import HttpAnswer
from stablebuild.manifest.model import PollSpec
from stablebuild.smoke import poll_until

JOB = {"id": "j 1/2", "status": "succeeded", "encoder": "libx264", "attempts": 1,
       "ok": True, "error": None, "result": {"state": "done", "files": ["a.mp4"]}}  # fmt: skip


@pytest.mark.parametrize(
    ("wanted", "expected"),
    [
        ({"status": "succeeded"}, True),
        ({"status": "succeeded", "encoder": "libx264"}, True),
        ({"status": "succeeded", "encoder": "h264_nvenc"}, False),
        ({"attempts": "1"}, True),  # YAML `attempts: 1` is written "1"
        ({"ok": "true"}, True),
        ({"error": "null"}, True),
        ({"result.state": "done"}, True),
        ({"result.files.0": "a.mp4"}, True),
        ({"missing": "x"}, False),
        ({}, False),  # nothing asked never matches: a poll would end at once
    ],
)
def test_until_matches_fields_as_yaml_writes_them(wanted: dict[str, str], expected: bool) -> None:
    assert matches(JOB, wanted) is expected


def test_poll_state_prefers_done_then_failed() -> None:
    until, fail_when = {"status": "succeeded"}, {"status": "failed"}
    assert poll_state(JOB, until, fail_when) is PollState.DONE
    assert poll_state({"status": "failed"}, until, fail_when) is PollState.FAILED
    assert poll_state({"status": "queued"}, until, fail_when) is PollState.WAITING
    assert poll_state({"status": "failed"}, until, {}) is PollState.WAITING
    assert poll_state(["not", "an", "object"], until, fail_when) is PollState.WAITING


def test_seen_shows_what_the_answer_holds() -> None:
    assert seen(JOB, {"status": "x", "nope": "y"}) == "status: succeeded, nope: (absent)"


def test_placeholders_are_filled_from_the_first_answer_and_encoded() -> None:
    assert fill("/jobs/{id}", JOB) == ("/jobs/j%201%2F2", [])
    assert fill("/jobs/{result.state}/{attempts}", JOB) == ("/jobs/done/1", [])
    assert fill("/jobs/{job_id}/{result}", JOB) == ("/jobs/{job_id}/{result}", ["job_id", "result"])
    assert fill("/plain", None) == ("/plain", [])


class FakeService:
    """A job API that answers a scripted list, and a clock only the poll's sleeps move."""

    def __init__(self, answers: list[HttpAnswer]) -> None:
        self.answers = answers
        self.now = 100.0
        self.urls: list[str] = []

    def send(self, method: str, url: str, **kwargs: Any) -> HttpAnswer:
        assert method == "GET"
        assert 1.0 <= kwargs["timeout"] <= 10.0
        self.urls.append(url)
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def job(status: str, encoder: str | None = None) -> HttpAnswer:
    encoded = "null" if encoder is None else f'"{encoder}"'
    return HttpAnswer(200, f'{{"id": "7", "status": "{status}", "encoder": {encoded}}}')


SPEC = PollSpec("/jobs/{id}", {"status": "succeeded"}, {"status": "failed"}, 10.0, 1.0)


def poll(service: FakeService, spec: PollSpec = SPEC) -> Any:
    return poll_until(
        service.send, "http://127.0.0.1:5/jobs/7", spec, clock=service.clock, sleep=service.sleep
    )


def test_poll_waits_through_errors_and_ends_when_done() -> None:
    service = FakeService(
        [
            HttpAnswer(None, error="connection refused"),
            HttpAnswer(503, "starting"),
            HttpAnswer(200, "<html>"),
            job("queued"),
            job("running"),
            job("succeeded", "libx264"),
        ]
    )
    outcome = poll(service)
    assert outcome.state is PollState.DONE
    assert outcome.polls == 6
    assert outcome.seconds == 5.0
    assert outcome.last == "status: succeeded"
    assert set(service.urls) == {"http://127.0.0.1:5/jobs/7"}


def test_poll_stops_at_once_on_fail_when() -> None:
    outcome = poll(FakeService([job("queued"), job("failed")]))
    assert outcome.state is PollState.FAILED
    assert (outcome.polls, outcome.seconds) == (2, 1.0)
    assert "status: failed" in outcome.last


def test_poll_times_out_and_says_what_it_last_saw() -> None:
    outcome = poll(FakeService([job("running")]))
    assert outcome.state is PollState.WAITING
    assert outcome.seconds <= SPEC.timeout_seconds
    assert outcome.polls == 11  # at 0, 1, ... 10 s
    assert outcome.last == "status: running"
    refused = poll(FakeService([HttpAnswer(None, error="connection refused")]))
    assert refused.last == "no answer (connection refused)"


def test_every_until_field_must_match() -> None:
    spec = PollSpec("/j", {"status": "succeeded", "encoder": "libx264"}, {}, 3.0, 1.0)
    outcome = poll(FakeService([job("succeeded", "h264_nvenc")]), spec)
    assert outcome.state is PollState.WAITING
    assert outcome.last == "status: succeeded, encoder: h264_nvenc"


def health(**kwargs: Any) -> Health:
    base: dict[str, Any] = {"service": "api", "containers": 1, "running": 1, "healthy": 0}
    return Health(**{**base, **kwargs})


def test_health_states() -> None:
    assert health_state(health(healthy=1)) is HealthState.HEALTHY
    assert health_state(health(statuses=("running, health starting",))) is HealthState.WAITING
    assert health_state(health(containers=0, running=0)) is HealthState.WAITING
    assert health_state(health(running=0, ended=True)) is HealthState.BROKEN
    assert health_state(health(no_check=True)) is HealthState.BROKEN
    assert health_state(health(containers=2, running=2, healthy=1)) is HealthState.WAITING


def test_health_problems_say_what_to_do() -> None:
    no_check = health_problem(health(no_check=True), 1.0, 120)
    assert "has no health check" in no_check and "wait.healthy" in no_check
    stopped = health(running=0, ended=True, statuses=("exited (3)",))
    assert health_problem(stopped, 4.2, 120) == "api stopped after 4 s: exited (3)"
    slow = health(statuses=("running, health starting, last check: refused",))
    assert health_problem(slow, 120.0, 120) == (
        "api not healthy within 120 s: running, health starting, last check: refused"
    )
    assert health_problem(health(containers=0), 0, 120) == "no container of service api was created"

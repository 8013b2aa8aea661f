"""runtime.start and runtime.health from a RunOutcome."""

from __future__ import annotations

from stablebuild.checks.inputs import RunOutcome
from stablebuild.checks.runtime import check_runtime
from stablebuild.manifest.model import RunSpec
from stablebuild.report.model import CheckStatus

SPEC = RunSpec(port=8000, health="/api/v1/health", start_seconds=60)


def outcome(**kwargs: object) -> RunOutcome:
    base: dict[str, object] = {
        "started": True,
        "healthy": True,
        "seconds_to_healthy": 3.21,
        "health_status": "healthy",
        "endpoint_status": 200,
        "endpoint_error": None,
        "exit_code": None,
        "logs": "INFO: Uvicorn running on http://0.0.0.0:8000\n",
    }
    base.update(kwargs)
    return RunOutcome(**base)  # type: ignore[arg-type]


def test_healthy_start_passes() -> None:
    start, health = check_runtime(SPEC, outcome())
    assert start.status is CheckStatus.PASSED
    assert health.status is CheckStatus.PASSED
    assert health.value == 3.21
    assert "answered 200" in health.message


def test_endpoint_500_fails_with_logs() -> None:
    run = outcome(
        healthy=False,
        endpoint_status=500,
        logs="Traceback (most recent call last):\nsqlalchemy.exc.OperationalError: boom\n",
    )
    health = check_runtime(SPEC, run)[1]
    assert health.status is CheckStatus.FAILED
    assert "answered HTTP 500" in health.message
    assert "OperationalError: boom" in health.message


def test_unhealthy_status_fails() -> None:
    run = outcome(healthy=False, health_status="starting", endpoint_status=None,
                  endpoint_error="connection refused", seconds_to_healthy=None)  # fmt: skip
    health = check_runtime(SPEC, run)[1]
    assert health.status is CheckStatus.FAILED
    assert "'starting' after 60s" in health.message
    assert "connection refused" in health.message


def test_container_exit_fails_start() -> None:
    run = outcome(healthy=False, exit_code=1, logs="ModuleNotFoundError: No module named 'app'")
    start = check_runtime(SPEC, run)[0]
    assert start.status is CheckStatus.FAILED
    assert "code 1" in start.message and "No module named 'app'" in start.message


def test_not_started() -> None:
    start, health = check_runtime(SPEC, outcome(started=False, healthy=False))
    assert start.status is CheckStatus.FAILED
    assert health.status is CheckStatus.FAILED


def test_nothing_to_judge_health_by_skips() -> None:
    run = outcome(health_status=None, endpoint_status=None)
    health = check_runtime(RunSpec(), run)[1]
    assert health.status is CheckStatus.SKIPPED


def test_no_trial_is_error() -> None:
    results = check_runtime(SPEC, None)
    assert {r.status for r in results} == {CheckStatus.ERROR}

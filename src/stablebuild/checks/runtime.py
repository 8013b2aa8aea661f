"""Runtime checks from a trial start: the container stays up, becomes healthy, answers 2xx."""

from __future__ import annotations

from stablebuild.checks.inputs import RunOutcome
from stablebuild.checks.results import error, failed, passed, skipped, tail
from stablebuild.manifest.model import RunSpec
from stablebuild.report.model import CheckResult

FAMILY = "runtime"
LOG_LINES = 20


def _with_logs(message: str, run: RunOutcome) -> str:
    logs = tail(run.logs, LOG_LINES)
    return f"{message}\n--- last {LOG_LINES} log lines ---\n{logs}" if logs else message


def check_runtime(spec: RunSpec, run: RunOutcome | None) -> list[CheckResult]:
    if run is None:
        message = "the runtime trial did not run"
        return [error("runtime.start", FAMILY, message), error("runtime.health", FAMILY, message)]
    return [_start(run), _health(spec, run)]


def _start(run: RunOutcome) -> CheckResult:
    if not run.started:
        return failed("runtime.start", FAMILY, _with_logs("the container did not start", run))
    if run.exit_code is not None:
        message = f"the container exited by itself with code {run.exit_code}"
        return failed("runtime.start", FAMILY, _with_logs(message, run), run.exit_code)
    return passed("runtime.start", FAMILY, "the container started and kept running")


def _health(spec: RunSpec, run: RunOutcome) -> CheckResult:
    id = "runtime.health"
    path = spec.health
    if not run.started:
        return failed(id, FAMILY, "not judged: the container did not start")
    if path is None and run.health_status is None:
        return skipped(id, FAMILY, "no health endpoint in `run:` and no HEALTHCHECK in the image")
    status = run.endpoint_status
    endpoint_ok = status is not None and 200 <= status < 300
    seconds = run.seconds_to_healthy
    limit = spec.start_seconds
    problems: list[str] = []
    if run.health_status is not None and run.health_status != "healthy":
        problems.append(f"Docker health status {run.health_status!r} after {limit:g}s")
    if path is not None and not endpoint_ok:
        got = f"HTTP {status}" if status is not None else (run.endpoint_error or "no answer")
        problems.append(f"GET {path} answered {got}")
    if not run.healthy and not problems:
        problems.append(f"not healthy within {limit:g}s")
    if problems:
        return failed(id, FAMILY, _with_logs("; ".join(problems), run), seconds, limit)
    if seconds is None:
        return error(id, FAMILY, "healthy, but the time to healthy was not measured")
    what = f"GET {path} answered {status}" if path is not None else "Docker health status healthy"
    return passed(id, FAMILY, f"healthy after {seconds:.1f}s; {what}", round(seconds, 2), limit)

"""Reports and recorded runs with the shapes the reference stack's have: an API image with a
runtime trial, a worker with FFmpeg, a failing build with a diagnosis."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from stablebuild.history.interface import GitInfo, RunRecord
from stablebuild.history.record import report_record
from stablebuild.report.model import (
    BuildOutcome,
    BuildStatus,
    CheckResult,
    CheckStatus,
    Diagnosis,
    ImageReport,
    Report,
)

P, F, S, E = CheckStatus.PASSED, CheckStatus.FAILED, CheckStatus.SKIPPED, CheckStatus.ERROR
START = datetime(2026, 11, 1, 9, 0, tzinfo=timezone.utc)
MAIN = GitInfo("a" * 40, "main", False)


def api_image(
    size_mb: float = 412.0,
    build_s: float = 42.0,
    healthy_s: float | None = 2.5,
    *,
    failed: tuple[str, ...] = (),
    cached: bool = False,
) -> ImageReport:
    status = BuildStatus.CACHED if cached else BuildStatus.BUILT
    build = BuildOutcome(
        status, build_s, None, "sha256:" + "a" * 64, int(size_mb * 1e6), 14,
        log=["Step 1/9 : FROM python:3.12-slim"],
    )  # fmt: skip
    checks = [
        CheckResult("python.runs", "python", P, "runs: Python 3.12.7", "/opt/venv/bin/python"),
        CheckResult("python.version", "python", P, "3.12.7 matches 3.12", "3.12.7", "3.12"),
        CheckResult("imports.fastapi", "imports", P, "imports (fastapi 0.115.0)", "0.115.0"),
        CheckResult("user", "user", P, "runs as 1000 (app)", "1000 (app)", "non-root"),
        CheckResult("size", "size", P, f"{size_mb} MB (no budget)", size_mb),
        CheckResult("runtime.start", "runtime", P, "the container started and kept running"),
    ]
    if healthy_s is not None:
        checks.append(
            CheckResult(
                "runtime.health", "runtime", P, f"healthy after {healthy_s:.1f}s", healthy_s, 60
            )
        )
    for check_id in failed:
        family = check_id.split(".")[0]
        checks.append(CheckResult(check_id, family, F, f"{check_id} failed\nsecond line"))
    return ImageReport("api", build, checks, facts={"python": {"version": "3.12.7"}})


def worker_image(size_mb: float = 900.0, build_s: float = 60.0) -> ImageReport:
    build = BuildOutcome(BuildStatus.BUILT, build_s, None, "sha256:" + "b" * 64, int(size_mb * 1e6))
    checks = [
        CheckResult("python.runs", "python", P, "runs: Python 3.12.7"),
        CheckResult("ffmpeg.encoder.libx264", "ffmpeg", P, "libx264 compiled in"),
        CheckResult("nvenc.encode.h264_nvenc", "nvenc", S, "no NVIDIA runtime"),
        CheckResult("pip.check", "imports", P, "pip check: no broken requirements"),
    ]
    return ImageReport("worker", build, checks)


def broken_image(secret: str = "") -> ImageReport:
    log = [f"Step {i}/12 : RUN true" for i in range(1, 6)] + [
        f"Collecting psycopg2 from https://ci:{secret or 'pw'}@pypi.example.com/simple",
        "      Error: pg_config executable not found.",
    ]
    build = BuildOutcome(
        BuildStatus.FAILED, 12.5, log=log,
        error="The command '/bin/sh -c pip install' returned a non-zero code: 1",
        diagnosis=Diagnosis(
            "pg-config-missing", "psycopg2 is being built from source", "use psycopg2-binary",
            "Error: pg_config executable not found.",
        ),
    )  # fmt: skip
    return ImageReport("migrate", build)


def report(
    run: int,
    images: list[ImageReport],
    *,
    stack: str = "ffmpeg-api",
    profile: str | None = None,
    complete: bool = True,
) -> Report:
    started = START + timedelta(hours=run)
    return Report(
        stack=stack,
        run_id=f"{started:%Y%m%d%H%M%S}-{run:06x}",
        started_at=started.isoformat(timespec="seconds"),
        finished_at=(started + timedelta(minutes=3)).isoformat(timespec="seconds"),
        complete=complete,
        profile=profile,
        images=images,
        engine={"server_version": "20.10.24"},
    )


def run_record(
    run: int, images: list[ImageReport], git: GitInfo = MAIN, **kwargs: object
) -> RunRecord:
    return report_record(report(run, images, **kwargs), git)  # type: ignore[arg-type]


def series(count: int, *, git: GitInfo = MAIN) -> list[RunRecord]:
    """`count` runs of api (growing slowly, every 7th failing a check) and worker."""
    runs = []
    for n in range(count):
        failed = ("imports.fastapi",) if n % 7 == 6 else ()
        api = api_image(400.0 + n, 40.0 + n % 5, 2.0 + (n % 3) / 10, failed=failed)
        runs.append(run_record(n, [api, worker_image(900.0, 60.0 + n % 4)], git))
    return runs

"""Reports to render: a clean run, a failing one (failed build, failed checks), a partial one."""

from __future__ import annotations

import pytest

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


def api_image() -> ImageReport:
    build = BuildOutcome(
        BuildStatus.BUILT, 42.3, "ffmpeg-api-api:run1", "sha256:aaa", 412_000_000, 14,
        log=["Step 1/9 : FROM python:3.12-slim"],
    )  # fmt: skip
    checks = [
        CheckResult("python.runs", "python", P, "runs: Python 3.12.7", "/opt/venv/bin/python"),
        CheckResult("python.version", "python", P, "3.12.7 matches 3.12", "3.12.7", "3.12"),
        CheckResult("imports.fastapi", "imports", P, "imports (fastapi 0.109.0)", "0.109.0"),
        CheckResult("pins.fastapi", "pins", P, "fastapi 0.109.0 as pinned", "0.109.0", "0.109.0"),
        CheckResult("user", "user", P, "runs as 1000 (app)", "1000 (app)", "1000"),
        CheckResult("size", "size", P, "412.0 MB within the 1000 MB budget", 412.0, 1000),
        CheckResult("layers", "layers", P, "14 layers", 14),
    ]
    return ImageReport("api", build, checks, facts={"probe_version": 1})


def worker_image() -> ImageReport:
    build = BuildOutcome(BuildStatus.BUILT, 60.0, "t:w", "sha256:bbb", 900_000_000, 20)
    checks = [
        CheckResult("python.runs", "python", P, "runs"),
        CheckResult("ffmpeg.binary", "ffmpeg", P, "ffmpeg 5.1.6", "5.1.6"),
        CheckResult(
            "ffmpeg.encoder.libx265", "ffmpeg", F, "libx265 is not compiled into this ffmpeg"
        ),
        CheckResult("nvenc.compiled.h264_nvenc", "nvenc", P, "h264_nvenc compiled in"),
        CheckResult(
            "nvenc.encode.h264_nvenc",
            "nvenc",
            S,
            "not attempted: no NVIDIA runtime registered with the engine",
        ),
        CheckResult("user", "user", F, "runs as root (uid 0): add a USER instruction", "0 (root)"),
        CheckResult("packages.forbid.gcc", "packages", F, "gcc 4:12.2.0-3 is installed"),
        CheckResult(
            "runtime.health",
            "runtime",
            F,
            "GET /health answered HTTP 500 <oops> | pipe\n--- last 20 log lines ---\nTraceback",
        ),
        CheckResult("pip.check", "imports", E, "probe did not report pip_check"),
    ]
    return ImageReport("worker-gpu", build, checks)


def broken_image() -> ImageReport:
    log = [f"line {i}" for i in range(80)] + [
        "Step 6/12 : RUN pip install -r requirements.txt",
        "      Error: pg_config executable not found.",
        "The command '/bin/sh -c pip install -r requirements.txt' returned a non-zero code: 1",
    ]
    build = BuildOutcome(
        BuildStatus.FAILED, 12.5, "t:b", log=log,
        error="The command '/bin/sh -c pip install -r req.txt' returned a non-zero code: 1",
        diagnosis=Diagnosis(
            "pg-config-missing", "psycopg2 is being built from source",
            "use psycopg2-binary", "Error: pg_config executable not found.",
        ),
    )  # fmt: skip
    return ImageReport("migrate", build)


@pytest.fixture
def passing_report() -> Report:
    return Report(
        "ffmpeg-api", "run1", "2026-01-01T00:00:00Z", "2026-01-01T00:02:00Z",
        images=[api_image()], engine={"version": "27.1"},
    )  # fmt: skip


@pytest.fixture
def failing_report() -> Report:
    return Report(
        "ffmpeg-api", "run2", "2026-01-01T00:00:00Z", "2026-01-01T00:03:00Z", profile="airgap",
        images=[api_image(), worker_image(), broken_image()],
    )  # fmt: skip


@pytest.fixture
def partial_report() -> Report:
    skipped = ImageReport("worker-gpu", BuildOutcome(BuildStatus.SKIPPED))
    return Report(
        "ffmpeg-api", "run3", "2026-01-01T00:00:00Z", None, complete=False,
        images=[api_image(), skipped],
    )  # fmt: skip

"""A small stack in a git work tree, and a validate Report of it with the usual failures:
what the CI formats must locate (manifest entries, Dockerfile instructions, requirement lines)."""

from __future__ import annotations

from pathlib import Path

from stablebuild.report.model import (
    BuildOutcome,
    BuildStatus,
    CheckResult,
    CheckStatus,
    Diagnosis,
    ImageReport,
    Report,
)

MANIFEST = """\
version: 1
name: shop
python: "3.11"
requirements: [requirements-stable.txt]

defaults:
  user: 1000

images:
  api:
    dockerfile: docker/api/Dockerfile
    context: .
    target: runtime
    imports: [fastapi, uvicorn]
    packages:
      forbid: [gcc, make]
    budgets: {size_mb: 100}
  migrate:
    dockerfile: docker/migrate/Dockerfile
    context: .
    files: [/app/alembic.ini]

profiles:
  airgap:
    images:
      api:
        imports: [fastapi, uvicorn, psycopg2]
"""

API_DOCKERFILE = """\
ARG BASE_IMAGE=python:3.11-slim
FROM ${BASE_IMAGE} AS builder
RUN pip install --no-cache-dir -r /tmp/requirements.txt

FROM ${BASE_IMAGE} AS runtime
RUN apt-get update \\
 && apt-get install -y --no-install-recommends gcc-12 curl \\
 && rm -rf /var/lib/apt/lists/*
USER root
CMD ["uvicorn", "app:api"]
"""

MIGRATE_DOCKERFILE = """\
FROM python:3.11-slim
COPY requirements-stable.txt /tmp/
RUN pip install -r /tmp/requirements-stable.txt
COPY alembic /app/alembic
"""


def make_stack(root: Path, folder: str = "deploy/shop stack") -> Path:
    """The stack in `root/folder`, `root` being a git work tree; returns the manifest's path."""
    (root / ".git").mkdir(parents=True, exist_ok=True)
    stack = root / folder
    for rel, text in {
        "stablebuild.yml": MANIFEST,
        "docker/api/Dockerfile": API_DOCKERFILE,
        "docker/migrate/Dockerfile": MIGRATE_DOCKERFILE,
        "requirements-stable.txt": "fastapi==0.115.6\nuvicorn==0.25.0\nPsycopg2-Binary==2.9.9\n",
    }.items():
        (stack / rel).parent.mkdir(parents=True, exist_ok=True)
        (stack / rel).write_text(text, encoding="utf-8")
    return stack / "stablebuild.yml"


F, E, P, S = CheckStatus.FAILED, CheckStatus.ERROR, CheckStatus.PASSED, CheckStatus.SKIPPED


def failing_report(manifest: Path | None, profile: str | None = "airgap") -> Report:
    api = ImageReport(
        "api",
        BuildOutcome(BuildStatus.BUILT, 30.0, "shop-api:r1", "sha256:aaa", 250_000_000, 12),
        [
            CheckResult("imports.fastapi", "imports", P, "imports (fastapi 0.115.6)"),
            CheckResult(
                "imports.psycopg2",
                "imports",
                F,
                "import psycopg2 failed: \x1b[31mImportError\x1b[0m: libpq.so.5: cannot open",
            ),
            CheckResult("pins.psycopg2-binary", "pins", F, "psycopg2-binary 2.9.10 installed"),
            CheckResult("packages.forbid.gcc", "packages", F, "gcc-12 12.2.0 installed"),
            CheckResult("packages.forbid.make", "packages", P, "make is not installed"),
            CheckResult("user", "user", F, "runs as root (uid 0), the manifest wants 1000"),
            CheckResult("size", "size", F, "250.0 MB is over the 100 MB budget", 250.0, 100),
            CheckResult("nvenc.encode.h264_nvenc", "nvenc", S, "not attempted: no GPU"),
            CheckResult("imports.pip_check", "imports", E, "probe did not report pip_check"),
        ],
    )
    migrate = ImageReport(
        "migrate",
        BuildOutcome(
            BuildStatus.FAILED,
            4.0,
            log=[
                "Step 1/4 : FROM python:3.11-slim",
                "Step 2/4 : COPY requirements-stable.txt /tmp/",
                "Step 3/4 : RUN pip install -r /tmp/requirements-stable.txt",
                "\x1b[91mERROR: pg_config executable not found.\x1b[0m",
            ],
            error="The command '/bin/sh -c pip install -r /tmp/requirements-stable.txt' "
            "returned a non-zero code: 1",
            diagnosis=Diagnosis(
                "pg-config-missing", "psycopg2 is built from source", "use psycopg2-binary"
            ),
        ),
    )
    return Report(
        "shop",
        "r1",
        "2026-01-01T00:00:00Z",
        "2026-01-01T00:01:00Z",
        profile=profile,
        images=[api, migrate],
        manifest=None if manifest is None else str(manifest),
    )

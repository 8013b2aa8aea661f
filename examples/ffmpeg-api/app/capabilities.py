"""This worker's encoders: probed once per process, published to the database for the API."""

from __future__ import annotations

import logging
from functools import lru_cache

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from . import media
from .config import get_settings
from .models import WorkerCapabilities, utcnow

log = logging.getLogger(__name__)


@lru_cache(maxsize=1)
def current() -> media.Capabilities:
    """Probe this machine's FFmpeg once; the worker calls it before forking its pool."""
    caps = media.detect(timeout_s=get_settings().probe_timeout_s)
    log.info("ffmpeg: %s", caps.ffmpeg_version or "not available")
    log.info("encoders that really work: %s", ", ".join(caps.working) or "none")
    for encoder, reason in caps.failures.items():
        log.info("encoder %s unavailable: %s", encoder, reason.replace("\n", " | "))
    return caps


def publish(session: Session, hostname: str, worker_type: str, caps: media.Capabilities) -> None:
    """Insert or refresh this worker's row in `worker_capabilities`."""
    row = session.get(WorkerCapabilities, hostname) or WorkerCapabilities(hostname=hostname)
    row.worker_type = worker_type
    row.ffmpeg_version = caps.ffmpeg_version
    row.compiled_in = list(caps.compiled_in)
    row.working = list(caps.working)
    row.selected = caps.selection()
    row.failures = dict(caps.failures)
    row.updated_at = utcnow()
    session.add(row)


def withdraw(session: Session, hostname: str) -> None:
    """Remove this worker's row when it shuts down."""
    session.execute(delete(WorkerCapabilities).where(WorkerCapabilities.hostname == hostname))


def published(session: Session) -> list[WorkerCapabilities]:
    """Every running worker's probe results, oldest host name first."""
    return list(session.scalars(select(WorkerCapabilities).order_by(WorkerCapabilities.hostname)))

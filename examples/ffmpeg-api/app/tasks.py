"""The transcoding task: run FFmpeg for one job and record which encoder really ran."""

from __future__ import annotations

import logging
import socket
from pathlib import Path

from . import capabilities, media
from .celery_app import celery_app
from .config import get_settings
from .db import session_scope
from .models import Job, JobStatus, utcnow

log = logging.getLogger(__name__)

TRANSCODE = "ffmpeg_api.transcode"


def output_path(job: Job, outputs_dir: Path) -> Path:
    return outputs_dir / f"{job.id}.{job.container}"


@celery_app.task(name=TRANSCODE)
def transcode(job_id: str) -> str:
    """Transcode job `job_id`; the job row ends `succeeded` or `failed`, never in between."""
    settings = get_settings()
    with session_scope() as session:
        job = session.get(Job, job_id)
        if job is None:
            log.warning("job %s does not exist; dropped", job_id)
            return JobStatus.FAILED.value
        job.status = JobStatus.RUNNING.value
        job.started_at = utcnow()
        job.worker = socket.gethostname()
        src, codec, container = Path(job.input_path), job.video_codec, job.container
        accelerator, dst = job.accelerator, output_path(job, settings.outputs_dir)

    encoder = capabilities.current().select(codec, accelerator)
    error: str | None = None
    try:
        media.transcode(src, dst, encoder, container, settings.ffmpeg_timeout_s)
    except media.TranscodeError as exc:
        fallback = media.VIDEO_ENCODERS[codec][1]
        if encoder in media.HARDWARE_ENCODERS:
            log.warning("job %s: %s; retrying with %s", job_id, exc, fallback)
            encoder = fallback
            try:
                media.transcode(src, dst, encoder, container, settings.ffmpeg_timeout_s)
            except media.TranscodeError as again:
                error = str(again)
        else:
            error = str(exc)

    with session_scope() as session:
        job = session.get(Job, job_id)
        assert job is not None
        job.encoder = encoder
        job.finished_at = utcnow()
        if error is None:
            job.status = JobStatus.SUCCEEDED.value
            job.output_path = str(dst)
        else:
            job.status = JobStatus.FAILED.value
            job.error = error
        log.info("job %s %s with %s", job_id, job.status, encoder)
        return job.status

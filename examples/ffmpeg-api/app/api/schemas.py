"""The API's response bodies."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from ..models import Job


class JobOut(BaseModel):
    """A job as clients see it: `encoder` says which encoder really produced the output."""

    id: str
    status: str
    input_name: str | None
    video_codec: str
    container: str
    accelerator: str
    queue: str
    encoder: str | None
    worker: str | None
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    output_url: str | None

    @classmethod
    def of(cls, job: Job) -> JobOut:
        done = job.status == "succeeded"
        return cls(
            id=job.id,
            status=job.status,
            input_name=job.input_name,
            video_codec=job.video_codec,
            container=job.container,
            accelerator=job.accelerator,
            queue=job.queue,
            encoder=job.encoder,
            worker=job.worker,
            error=job.error,
            created_at=job.created_at,
            started_at=job.started_at,
            finished_at=job.finished_at,
            output_url=f"/api/v1/jobs/{job.id}/output" if done else None,
        )


class CheckOut(BaseModel):
    ok: bool
    detail: str | None = None


class HealthOut(BaseModel):
    status: str
    checks: dict[str, CheckOut]


class WorkerOut(BaseModel):
    hostname: str
    worker_type: str
    ffmpeg_version: str | None
    compiled_in: list[str]
    working: list[str]
    selected: dict[str, Any]
    failures: dict[str, Any]
    updated_at: datetime


class CapabilitiesOut(BaseModel):
    """Encoders that really encoded at some running worker's start-up, and those merely built in."""

    working: list[str]
    compiled_only: list[str]
    workers: list[WorkerOut]

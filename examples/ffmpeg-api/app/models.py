"""The tables: transcoding jobs, and what each worker found it can really encode."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import JSON, DateTime, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .db import Base


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def new_job_id() -> str:
    return uuid.uuid4().hex


class JobStatus(str, enum.Enum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class Job(Base):
    """One transcoding request and, once run, which worker and encoder produced the output."""

    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_job_id)
    status: Mapped[str] = mapped_column(String(16), default=JobStatus.QUEUED.value, index=True)
    input_path: Mapped[str] = mapped_column(Text)
    input_name: Mapped[str | None] = mapped_column(String(255), default=None)
    video_codec: Mapped[str] = mapped_column(String(16))
    container: Mapped[str] = mapped_column(String(8))
    accelerator: Mapped[str] = mapped_column(String(8))
    queue: Mapped[str] = mapped_column(String(32))
    encoder: Mapped[str | None] = mapped_column(String(32), default=None)
    worker: Mapped[str | None] = mapped_column(String(255), default=None)
    output_path: Mapped[str | None] = mapped_column(Text, default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)


class WorkerCapabilities(Base):
    """What a running worker's start-up probe found: encoders compiled in, and those that work."""

    __tablename__ = "worker_capabilities"

    hostname: Mapped[str] = mapped_column(String(255), primary_key=True)
    worker_type: Mapped[str] = mapped_column(String(8))
    ffmpeg_version: Mapped[str | None] = mapped_column(String(255), default=None)
    compiled_in: Mapped[list[str]] = mapped_column(JSON, default=list)
    working: Mapped[list[str]] = mapped_column(JSON, default=list)
    selected: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    failures: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

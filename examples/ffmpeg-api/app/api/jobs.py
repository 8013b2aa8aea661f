"""Job routes: submit (upload or path), look up, download the output."""

from __future__ import annotations

import logging
import re
from http import HTTPStatus
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, Form, HTTPException, UploadFile
from fastapi.responses import FileResponse
from kombu.exceptions import OperationalError as BrokerError

from .. import media
from ..models import Job, JobStatus, new_job_id, utcnow
from ..queues import queue_for
from ..tasks import transcode
from .deps import SessionDep, SettingsDep
from .schemas import JobOut

log = logging.getLogger(__name__)
router = APIRouter(prefix="/jobs", tags=["jobs"])

Codec = Literal["h264", "hevc"]
Container = Literal["mp4", "mkv", "mov"]
Accelerator = Literal["cpu", "gpu"]
_SUFFIX = re.compile(r"^\.[A-Za-z0-9]{1,8}$")
_CHUNK = 1024 * 1024
_PUBLISH_RETRY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.5, "interval_max": 1}


def _store_upload(upload: UploadFile, dest_dir: Path, job_id: str, limit: int) -> Path:
    suffix = Path(upload.filename or "").suffix
    dest = dest_dir / f"{job_id}{suffix if _SUFFIX.match(suffix) else '.bin'}"
    written = 0
    with dest.open("wb") as out:
        while chunk := upload.file.read(_CHUNK):
            written += len(chunk)
            if written > limit:
                out.close()
                dest.unlink(missing_ok=True)
                raise HTTPException(
                    HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"upload larger than {limit // 1024**2} MB"
                )
            out.write(chunk)
    if written == 0:
        dest.unlink(missing_ok=True)
        raise HTTPException(HTTPStatus.UNPROCESSABLE_ENTITY, "the uploaded file is empty")
    return dest


def _resolve_input(path: str, inputs_dir: Path) -> Path:
    """A client-given path, accepted only inside the shared inputs folder."""
    root = inputs_dir.resolve()
    candidate = (root / path).resolve()
    if not candidate.is_relative_to(root):
        raise HTTPException(HTTPStatus.UNPROCESSABLE_ENTITY, f"input_path must lie inside {root}")
    if not candidate.is_file():
        raise HTTPException(HTTPStatus.UNPROCESSABLE_ENTITY, f"no such input: {path}")
    return candidate


@router.post("", status_code=HTTPStatus.ACCEPTED, response_model=JobOut)
def create_job(
    db: SessionDep,
    settings: SettingsDep,
    file: Annotated[UploadFile | None, Form()] = None,
    input_path: Annotated[str | None, Form()] = None,
    video_codec: Annotated[Codec, Form()] = "h264",
    container: Annotated[Container, Form()] = "mp4",
    accelerator: Annotated[Accelerator, Form()] = "cpu",
) -> JobOut:
    """Queue a transcode of an uploaded file or of a file already in the inputs folder."""
    if (file is None) == (input_path is None):
        raise HTTPException(
            HTTPStatus.UNPROCESSABLE_ENTITY, "give exactly one of: file (upload), input_path"
        )
    settings.ensure_dirs()
    job_id = new_job_id()
    if file is not None:
        src = _store_upload(file, settings.inputs_dir, job_id, settings.max_upload_bytes)
        name = file.filename
    else:
        assert input_path is not None
        src = _resolve_input(input_path, settings.inputs_dir)
        name = input_path
    job = Job(
        id=job_id,
        input_path=str(src),
        input_name=name,
        video_codec=video_codec,
        container=container,
        accelerator=accelerator,
        queue=queue_for(accelerator),
        status=JobStatus.QUEUED.value,
        created_at=utcnow(),
    )
    db.add(job)
    db.commit()  # before sending: a fast worker must find the row
    try:
        transcode.apply_async(
            args=[job.id], queue=job.queue, retry=True, retry_policy=_PUBLISH_RETRY
        )
    except BrokerError as exc:
        log.error("job %s not queued: %s", job.id, exc)
        job.status, job.error, job.finished_at = JobStatus.FAILED.value, f"broker: {exc}", utcnow()
        db.commit()
        raise HTTPException(
            HTTPStatus.SERVICE_UNAVAILABLE, "the job could not be queued: broker unavailable"
        ) from exc
    db.refresh(job)  # an eager (test) run has already finished it
    return JobOut.of(job)


@router.get("/{job_id}", response_model=JobOut)
def get_job(job_id: str, db: SessionDep) -> JobOut:
    job = db.get(Job, job_id)
    if job is None:
        raise HTTPException(HTTPStatus.NOT_FOUND, f"no job {job_id}")
    return JobOut.of(job)


@router.get("/{job_id}/output", response_class=FileResponse)
def get_output(job_id: str, db: SessionDep) -> FileResponse:
    """The transcoded file, once the job succeeded."""
    job = db.get(Job, job_id)
    if job is None:
        raise HTTPException(HTTPStatus.NOT_FOUND, f"no job {job_id}")
    if job.status != JobStatus.SUCCEEDED.value or job.output_path is None:
        raise HTTPException(HTTPStatus.CONFLICT, f"job {job_id} is {job.status}")
    path = Path(job.output_path)
    if not path.is_file():
        raise HTTPException(HTTPStatus.GONE, f"the output of job {job_id} is gone")
    _, media_type = media.CONTAINERS[job.container]
    return FileResponse(path, media_type=media_type, filename=f"{job.id}.{job.container}")

"""The transcode task: the job row always ends succeeded or failed, with the encoder that ran."""

from __future__ import annotations

from pathlib import Path

import pytest
from app import db, media
from app.db import init_db, session_scope
from app.models import Job
from app.tasks import transcode

from .fake_ffmpeg import FakeFFmpeg


def _job(src: Path, accelerator: str = "gpu") -> str:
    init_db(db.get_engine())
    with session_scope() as session:
        session.add(
            Job(id="j1", input_path=str(src), video_codec="h264", container="mp4",
                accelerator=accelerator, queue=accelerator)
        )  # fmt: skip
    return "j1"


def _row(job_id: str) -> Job:
    with session_scope() as session:
        job = session.get(Job, job_id)
        assert job is not None
        return job


def test_nvenc_failing_at_run_time_falls_back_to_libx264(
    service_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeFFmpeg()  # NVENC breaks on every real encode...
    monkeypatch.setattr(media, "run_command", fake)
    working = media.Capabilities("ffmpeg", ("h264_nvenc", "libx264"), ("h264_nvenc", "libx264"))
    monkeypatch.setattr(media, "detect", lambda **_: working)  # ...though the probe passed
    job_id = _job(tmp_path / "in.mkv")

    assert transcode.delay(job_id).get() == "succeeded"
    job = _row(job_id)
    assert job.encoder == "libx264"
    assert [c[c.index("-c:v") + 1] for c in fake.calls] == ["h264_nvenc", "libx264"]
    assert job.output_path is not None and Path(job.output_path).is_file()
    assert job.started_at is not None and job.finished_at is not None


def test_software_failure_marks_the_job_failed(
    service_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(media, "run_command", FakeFFmpeg(broken=("libx264",)))
    software = media.Capabilities("ffmpeg", ("libx264",), ("libx264",))
    monkeypatch.setattr(media, "detect", lambda **_: software)
    job_id = _job(tmp_path / "in.mkv", accelerator="cpu")

    assert transcode.delay(job_id).get() == "failed"
    job = _row(job_id)
    assert job.encoder == "libx264"
    assert job.error is not None and "ffmpeg (libx264) failed" in job.error
    assert job.output_path is None


def test_unknown_job_is_dropped(service_env: Path) -> None:
    init_db(db.get_engine())
    assert transcode.delay("missing").get() == "failed"

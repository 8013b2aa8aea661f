"""The HTTP API in-process: jobs end to end through an eager Celery, health, capabilities."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from app import capabilities, tasks
from app.api.main import create_app
from app.db import session_scope
from app.media import Capabilities
from app.models import Job, JobStatus
from fastapi.testclient import TestClient
from kombu.exceptions import OperationalError

from .fake_ffmpeg import FakeFFmpeg


@pytest.fixture
def client(service_env: Path) -> Iterator[TestClient]:
    with TestClient(create_app()) as test_client:
        yield test_client


def _submit(client: TestClient, clip: Path, **fields: str) -> dict[str, object]:
    with clip.open("rb") as handle:
        response = client.post(
            "/api/v1/jobs", files={"file": (clip.name, handle, "video/x-matroska")}, data=fields
        )
    assert response.status_code == 202, response.text
    body: dict[str, object] = response.json()
    return body


def test_live_needs_nothing(client: TestClient) -> None:
    response = client.get("/api/v1/health/live")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_health_checks_database_and_broker(client: TestClient) -> None:
    response = client.get("/api/v1/health")
    assert response.status_code == 200, response.text
    assert response.json()["checks"] == {
        "database": {"ok": True, "detail": None},
        "broker": {"ok": True, "detail": None},
    }


def test_health_is_503_when_the_broker_is_down(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BROKER_URL", "redis://127.0.0.1:9/0")
    from app.config import get_settings

    get_settings.cache_clear()
    response = client.get("/api/v1/health")
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["database"]["ok"] is True
    assert checks["broker"]["ok"] is False
    assert checks["broker"]["detail"]


def test_upload_is_transcoded_and_downloadable(
    client: TestClient, clip: Path, ffmpeg: FakeFFmpeg | None
) -> None:
    job = _submit(client, clip)
    assert job["status"] == "succeeded", job
    assert job["encoder"] == "libx264"
    assert job["queue"] == "cpu"
    assert job["input_name"] == clip.name

    fetched = client.get(f"/api/v1/jobs/{job['id']}").json()
    assert fetched["output_url"] == f"/api/v1/jobs/{job['id']}/output"

    output = client.get(f"/api/v1/jobs/{job['id']}/output")
    assert output.status_code == 200
    assert output.headers["content-type"] == "video/mp4"
    if ffmpeg is None:
        assert output.content[4:8] == b"ftyp"  # an MP4 file
    else:
        assert output.content == b"transcoded with libx264"


def test_gpu_job_on_a_machine_without_nvenc_runs_libx264(
    client: TestClient, clip: Path, ffmpeg: FakeFFmpeg | None
) -> None:
    job = _submit(client, clip, accelerator="gpu", container="mkv")
    assert job["queue"] == "gpu"
    assert job["status"] == "succeeded", job
    assert job["encoder"] == "libx264"  # recorded: the NVENC probe failed at start-up


def test_job_from_a_path_in_the_inputs_folder(
    client: TestClient, service_env: Path, clip: Path, ffmpeg: FakeFFmpeg | None
) -> None:
    inputs = service_env / "inputs"
    (inputs / "sub").mkdir(parents=True)
    (inputs / "sub" / clip.name).write_bytes(clip.read_bytes())
    response = client.post(
        "/api/v1/jobs", data={"input_path": f"sub/{clip.name}", "video_codec": "hevc"}
    )
    assert response.status_code == 202, response.text
    assert response.json()["status"] == "succeeded"
    assert response.json()["encoder"] == "libx265"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "exactly one"),
        ({"input_path": "../../etc/passwd"}, "inside"),
        ({"input_path": "missing.mp4"}, "no such input"),
    ],
)
def test_bad_inputs_are_refused(client: TestClient, data: dict[str, str], message: str) -> None:
    response = client.post("/api/v1/jobs", data=data)
    assert response.status_code == 422
    assert message in response.json()["detail"]


def test_upload_and_path_together_are_refused(client: TestClient, clip: Path) -> None:
    with clip.open("rb") as handle:
        response = client.post(
            "/api/v1/jobs", files={"file": ("a.mkv", handle)}, data={"input_path": "a.mkv"}
        )
    assert response.status_code == 422


def test_unknown_codec_is_refused(client: TestClient, clip: Path) -> None:
    with clip.open("rb") as handle:
        response = client.post(
            "/api/v1/jobs", files={"file": ("a.mkv", handle)}, data={"video_codec": "mpeg2"}
        )
    assert response.status_code == 422


def test_unknown_job_is_404(client: TestClient) -> None:
    assert client.get("/api/v1/jobs/nope").status_code == 404
    assert client.get("/api/v1/jobs/nope/output").status_code == 404


def test_output_of_an_unfinished_job_is_409(client: TestClient) -> None:
    with session_scope() as session:
        session.add(
            Job(id="pending", input_path="/x", video_codec="h264", container="mp4",
                accelerator="cpu", queue="cpu", status=JobStatus.QUEUED.value)
        )  # fmt: skip
    response = client.get("/api/v1/jobs/pending/output")
    assert response.status_code == 409
    assert "queued" in response.json()["detail"]


def test_job_is_failed_and_503_when_the_broker_is_down(
    client: TestClient, clip: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unreachable(*args: object, **kwargs: object) -> None:
        raise OperationalError("Error 111 connecting to redis:6379. Connection refused.")

    monkeypatch.setattr(tasks.transcode, "apply_async", unreachable)
    with clip.open("rb") as handle:
        response = client.post("/api/v1/jobs", files={"file": ("a.mkv", handle)})
    assert response.status_code == 503
    with session_scope() as session:
        (job,) = session.query(Job).all()
        assert job.status == "failed"
        assert job.error is not None and job.error.startswith("broker")


def test_capabilities_report_what_workers_really_encoded(client: TestClient) -> None:
    assert client.get("/api/v1/capabilities").json()["workers"] == []
    caps = Capabilities(
        "ffmpeg version 5.1.6",
        ("aac", "h264_nvenc", "libx264"),
        ("aac", "libx264"),
        {"h264_nvenc": "Cannot load libcuda.so.1"},
    )
    with session_scope() as session:
        capabilities.publish(session, "cpu@host-a", "cpu", caps)
    body = client.get("/api/v1/capabilities").json()
    assert body["working"] == ["aac", "libx264"]
    assert body["compiled_only"] == ["h264_nvenc"]
    (worker,) = body["workers"]
    assert worker["hostname"] == "cpu@host-a"
    assert worker["selected"]["h264"] == {"cpu": "libx264", "gpu": "libx264"}
    assert "libcuda" in worker["failures"]["h264_nvenc"]

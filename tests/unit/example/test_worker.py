"""Worker start-up: probe once, publish what works, withdraw at shutdown."""

from __future__ import annotations

from pathlib import Path

from app import capabilities, worker
from app.db import session_scope

from .fake_ffmpeg import FakeFFmpeg


def test_start_up_publishes_a_real_probe(service_env: Path, ffmpeg: FakeFFmpeg | None) -> None:
    worker._on_worker_init()
    with session_scope() as session:
        (row,) = capabilities.published(session)
        assert row.hostname == worker.node_name("cpu")
        assert row.worker_type == "cpu"
        assert "libx264" in row.working
        assert "h264_nvenc" not in row.working  # no GPU here, whatever is compiled in
        assert row.selected["h264"]["gpu"] == "libx264"
    assert (service_env / "inputs").is_dir()

    worker._on_worker_shutdown()
    with session_scope() as session:
        assert capabilities.published(session) == []


def test_node_name_matches_the_health_check() -> None:
    assert worker.node_name("gpu", "box") == "gpu@box"

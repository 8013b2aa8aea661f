"""Settings from the environment."""

from __future__ import annotations

from pathlib import Path

import pytest
from app.config import Settings


def test_defaults_keep_everything_under_the_storage_folder(tmp_path: Path) -> None:
    settings = Settings.from_env({"STORAGE_DIR": str(tmp_path)})
    assert settings.database_url == f"sqlite:///{tmp_path / 'ffmpeg-api.db'}"
    assert settings.inputs_dir == tmp_path / "inputs"
    assert settings.outputs_dir == tmp_path / "outputs"
    assert settings.worker_type == "cpu"


def test_values_are_read_and_converted() -> None:
    settings = Settings.from_env(
        {"WORKER_TYPE": "GPU", "MAX_UPLOAD_MB": "3", "WORKER_CONCURRENCY": "4"}
    )
    assert settings.worker_type == "gpu"
    assert settings.max_upload_bytes == 3 * 1024**2
    assert settings.worker_concurrency == 4


def test_unknown_worker_type_is_an_error() -> None:
    with pytest.raises(ValueError, match="WORKER_TYPE"):
        Settings.from_env({"WORKER_TYPE": "tpu"})

"""Settings read from the environment, once per process."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

WORKER_TYPES = ("cpu", "gpu")


@dataclass(frozen=True)
class Settings:
    """Everything the API and the workers need to know about their surroundings."""

    database_url: str
    broker_url: str
    storage_dir: Path
    worker_type: str = "cpu"
    worker_concurrency: int = 1
    max_upload_bytes: int = 2 * 1024**3
    ffmpeg_timeout_s: float = 3600.0
    probe_timeout_s: float = 30.0

    @property
    def inputs_dir(self) -> Path:
        return self.storage_dir / "inputs"

    @property
    def outputs_dir(self) -> Path:
        return self.storage_dir / "outputs"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Build settings from `env` (default: the process environment)."""
        env = os.environ if env is None else env
        storage_dir = Path(env.get("STORAGE_DIR", "./data")).resolve()
        worker_type = env.get("WORKER_TYPE", "cpu").strip().lower()
        if worker_type not in WORKER_TYPES:
            raise ValueError(f"WORKER_TYPE must be one of {WORKER_TYPES}, not {worker_type!r}")
        return cls(
            database_url=env.get("DATABASE_URL", f"sqlite:///{storage_dir / 'ffmpeg-api.db'}"),
            broker_url=env.get("BROKER_URL", "redis://localhost:6379/0"),
            storage_dir=storage_dir,
            worker_type=worker_type,
            worker_concurrency=int(env.get("WORKER_CONCURRENCY", "1")),
            max_upload_bytes=int(env.get("MAX_UPLOAD_MB", "2048")) * 1024**2,
            ffmpeg_timeout_s=float(env.get("FFMPEG_TIMEOUT_S", "3600")),
            probe_timeout_s=float(env.get("PROBE_TIMEOUT_S", "30")),
        )

    def ensure_dirs(self) -> None:
        """Create the storage folders the API and the workers share."""
        for folder in (self.inputs_dir, self.outputs_dir):
            folder.mkdir(parents=True, exist_ok=True)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings (tests call `get_settings.cache_clear()` after changing env)."""
    return Settings.from_env()

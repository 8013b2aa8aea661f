"""Facts that follow docs/facts.md for a healthy image, and specs to judge them against."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from stablebuild.checks.inputs import ImageMeta
from stablebuild.manifest.model import FfmpegSpec, GpuSpec, ImageSpec

GOOD_FACTS: dict[str, Any] = {
    "probe_version": 1,
    "errors": [],
    "identity": {"uid": 1000, "gid": 1000, "user": "rendiff"},
    "python": {
        "interpreter": "/opt/venv/bin/python",
        "path": "/opt/venv/bin/python",
        "exists": True,
        "dangling": False,
        "link_chain": ["/opt/venv/bin/python -> /usr/local/bin/python3"],
        "resolved": "/usr/local/bin/python3.12",
        "runs": True,
        "version": "3.12.7",
        "executable": "/opt/venv/bin/python",
        "venv": {"is_venv": True, "home": "/usr/local/bin"},
        "error": None,
    },
    "imports": {
        "fastapi": {"ok": True, "error": None, "distributions": ["fastapi"], "version": "0.109.0"},
        "psycopg2": {
            "ok": True,
            "error": None,
            "distributions": ["psycopg2-binary"],
            "version": "2.9.9",
        },
    },
    "distributions": {
        "fastapi": "0.109.0",
        "psycopg2-binary": "2.9.9",
        "starlette": "0.35.1",
        "pip": "24.0",
    },
    "pip_check": {"ran": True, "ok": True, "output": ""},
    "dpkg": {"available": True, "packages": {"libpq5": "15.8-0+deb12u1", "ffmpeg": "7:5.1.6"}},
    "ffmpeg": {
        "ffmpeg": {"found": True, "path": "/usr/bin/ffmpeg", "version": "5.1.6", "error": None},
        "ffprobe": {"found": True, "path": "/usr/bin/ffprobe", "version": "5.1.6", "error": None},
        "encoders": {"libx264": "video", "aac": "audio", "h264_nvenc": "video"},
        "hwaccels": ["vdpau", "cuda"],
        "smoke": {
            "libx264": {
                "ok": True,
                "codec": "h264",
                "duration": 1.0,
                "seconds": 0.41,
                "error": None,
            },
            "aac": {"ok": True, "codec": "aac", "duration": 1.0, "seconds": 0.1, "error": None},
        },
    },
    "nvenc": {
        "attempted": False,
        "reason": "no NVIDIA runtime registered with the engine",
        "devices": [],
        "libraries": {"libcuda.so.1": False, "libnvidia-encode.so.1": False},
        "encodes": {},
    },
    "files": {"/app/main.py": {"exists": True, "type": "file", "mode": "0644"}},
}

PINS = {"fastapi": "0.109.0", "psycopg2-binary": "2.9.9", "starlette": "0.35.1"}


@pytest.fixture
def facts() -> dict[str, Any]:
    return copy.deepcopy(GOOD_FACTS)


@pytest.fixture
def pins() -> dict[str, str]:
    return dict(PINS)


@pytest.fixture
def make_spec() -> Callable[..., ImageSpec]:
    def make(**kwargs: Any) -> ImageSpec:
        base: dict[str, Any] = {
            "name": "api",
            "dockerfile": Path("/stack/Dockerfile"),
            "context": Path("/stack"),
            "interpreter": "/opt/venv/bin/python",
        }
        base.update(kwargs)
        return ImageSpec(**base)

    return make


@pytest.fixture
def full_spec(make_spec: Callable[..., ImageSpec]) -> ImageSpec:
    return make_spec(
        imports=("fastapi", "psycopg2"),
        ffmpeg=FfmpegSpec(encoders=("libx264", "aac"), smoke=("libx264",)),
        gpu=GpuSpec(nvenc=("h264_nvenc",)),
        user="1000",
        files=("/app/main.py",),
    )


@pytest.fixture
def meta() -> ImageMeta:
    return ImageMeta(
        image_id="sha256:abc",
        size_bytes=412_000_000,
        user="1000",
        healthcheck=("CMD", "curl", "-f", "http://localhost:8000/health"),
        layers=14,
        build_seconds=42.5,
    )

"""What checks judge besides the probe's facts: the image's metadata and a runtime trial.

Checks are pure functions `(spec, facts, meta, ...) -> list[CheckResult]`; these dataclasses are
filled by the engine layer and never talk to Docker themselves.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ImageMeta:
    """From `docker image inspect` (and history)."""

    image_id: str
    size_bytes: int
    user: str  # Config.User; "" means root
    healthcheck: tuple[str, ...] | None  # Config.Healthcheck.Test, None when absent
    env: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    layers: int = 0
    build_seconds: float | None = None


@dataclass(frozen=True)
class EngineFacts:
    """What the engine offers the checks: is a GPU encode possible at all?"""

    nvidia_runtime: bool = False
    gpu_requested: bool = False  # the probe container was started with the GPU requested


@dataclass(frozen=True)
class RunOutcome:
    """A trial start of the image (`run:` in the manifest)."""

    started: bool
    healthy: bool  # Docker health status reached "healthy" (or no HEALTHCHECK and endpoint OK)
    seconds_to_healthy: float | None
    health_status: str | None  # last Docker health status: starting | healthy | unhealthy | None
    endpoint_status: int | None  # HTTP status of the health endpoint, None when not reached
    endpoint_error: str | None
    exit_code: int | None  # when the container stopped by itself
    logs: str = ""
    details: dict[str, Any] = field(default_factory=dict)

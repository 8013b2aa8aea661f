"""What checks judge besides the probe's facts: image metadata, a runtime trial, and the
interpreter as the archive API shows it when the probe could not start.

Checks are pure functions `(spec, facts, meta, ...) -> list[CheckResult]`; these dataclasses are
filled by the engine layer and never talk to Docker themselves.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, NamedTuple


class ImageMeta(NamedTuple):
    """From `docker image inspect` (and history)."""

    image_id: str
    size_bytes: int
    user: str  # Config.User; "" means root
    healthcheck: tuple[str, ...] | None  # Config.Healthcheck.Test, None when absent
    env: Mapping[str, str] = {}
    labels: Mapping[str, str] = {}
    layers: int = 0
    build_seconds: float | None = None


class EngineFacts(NamedTuple):
    """What the engine offers the checks: is a GPU encode possible at all?"""

    nvidia_runtime: bool = False
    gpu_requested: bool = False  # the probe container was started with the GPU requested


class RunOutcome(NamedTuple):
    """A trial start of the image (`run:` in the manifest)."""

    started: bool
    healthy: bool  # Docker health status reached "healthy" (or no HEALTHCHECK and endpoint OK)
    seconds_to_healthy: float | None
    health_status: str | None  # last Docker health status: starting | healthy | unhealthy | None
    endpoint_status: int | None  # HTTP status of the health endpoint, None when not reached
    endpoint_error: str | None
    exit_code: int | None  # when the container stopped by itself
    logs: str = ""
    details: Mapping[str, Any] = {}


# Where following the interpreter's links stopped: what is there (file, directory, other),
# nothing (missing), the chain came back on itself (loop) or went on too long, or the archive
# could not be read (unknown).
PathEnd = Literal["file", "directory", "other", "missing", "loop", "too-long", "unknown"]


class Link(NamedTuple):
    """One hop of a symlink chain: the link, its target as stored, that target made absolute."""

    path: str
    target: str
    points_at: str


class InterpreterFacts(NamedTuple):
    """The configured interpreter, read from the image's files without running anything in it.

    Gathered when the probe could not start (the container could not exec the interpreter).
    """

    interpreter: str  # as the manifest names it: an absolute path or a name looked up on PATH
    path: str | None  # the path looked at; None when a bare name is in no PATH folder
    links: tuple[Link, ...] = ()
    end: PathEnd = "missing"
    mode: int | None = None  # permission bits of what the chain ends at
    searched: tuple[str, ...] = ()  # the PATH folders a bare name was looked up in
    venv: str | None = None  # the venv folder, when <venv>/pyvenv.cfg exists
    venv_home: str | None = None  # pyvenv.cfg's `home =`
    pythons: tuple[str, ...] = ()  # python3* interpreters found in the usual folders
    pythons_searched: tuple[str, ...] = ()  # those folders
    error: str | None = None  # why the image's files could not be read

    @property
    def last(self) -> str | None:
        """The path the chain ends at (the interpreter itself when it is not a link)."""
        return self.links[-1].points_at if self.links else self.path

    @property
    def dangling(self) -> bool:
        return bool(self.links) and self.end == "missing"

    def to_json(self) -> dict[str, Any]:
        """A JSON object for the report's facts (docs/facts.md)."""
        data = {k: list(v) if isinstance(v, tuple) else v for k, v in self._asdict().items()}
        data["links"] = [f"{link.path} -> {link.target}" for link in self.links]
        data["dangling"] = self.dangling
        data["mode"] = None if self.mode is None else f"{self.mode:04o}"
        return data

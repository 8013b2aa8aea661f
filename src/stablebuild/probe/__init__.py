"""The in-image probe: its source, the request it is given, and reading what it prints."""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any

from stablebuild.checks.inputs import EngineFacts
from stablebuild.manifest.model import ImageSpec
from stablebuild.probe.probe import MARKER, PROBE_VERSION, parse_output

__all__ = ["MARKER", "PROBE_VERSION", "parse_output", "probe_source", "request_for"]


@lru_cache(maxsize=1)
def probe_source() -> str:
    """The probe's text, made self-contained: it can hand itself to another interpreter."""
    text = resources.files("stablebuild.probe").joinpath("probe.py").read_text(encoding="utf-8")
    return text.replace('SOURCE = ""', f"SOURCE = {text!r}", 1)


def request_for(spec: ImageSpec, engine: EngineFacts) -> dict[str, Any]:
    """What the probe must gather for this image: only the sections the spec asks about."""
    request: dict[str, Any] = {
        "interpreter": spec.interpreter,
        "imports": list(spec.imports),
        "pip_check": True,
        "files": list(spec.files),
    }
    if spec.ffmpeg is not None or spec.gpu is not None:
        request["ffmpeg"] = {"smoke": list(spec.ffmpeg.smoke) if spec.ffmpeg else []}
    if spec.gpu is not None:
        reason = None
        if not engine.nvidia_runtime:
            reason = "no NVIDIA runtime registered with the engine"
        request["nvenc"] = {
            "encoders": list(spec.gpu.nvenc),
            "attempt": engine.gpu_requested,
            "reason": reason,
        }
    return request


def request_json(request: dict[str, Any]) -> str:
    return json.dumps(request, sort_keys=True)

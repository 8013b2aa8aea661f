"""The in-image probe: its source, the request it is given, and reading what it prints."""

from __future__ import annotations

import json
import os
from functools import lru_cache
from typing import Any

from stablebuild.checks.inputs import EngineFacts
from stablebuild.manifest.model import ImageSpec
from stablebuild.probe.probe import MARKER, PROBE_VERSION, parse_output

__all__ = ["MARKER", "PROBE_VERSION", "parse_output", "probe_source", "request_for"]


@lru_cache(maxsize=1)
def probe_source() -> str:
    """The probe's text, made self-contained: it can hand itself to another interpreter."""
    # NOTE: beside this file, read as a file: `importlib.resources` (its readers, zipfile,
    # glob: ~10 ms) was loaded for this alone, between a validate's build and its probe.
    with open(os.path.join(os.path.dirname(__file__), "probe.py"), encoding="utf-8") as file:
        text = file.read()
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

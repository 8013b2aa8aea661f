"""NVENC checks: compiled in (always judged) and a real GPU encode (skipped, with the reason, when
no encode was possible; never passed without one).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from stablebuild.checks.ffmpeg import encoder_compiled, expected_codec
from stablebuild.checks.inputs import EngineFacts
from stablebuild.checks.results import Facts, error, failed, not_reported, passed, section, skipped
from stablebuild.manifest.model import GpuSpec
from stablebuild.report.model import CheckResult

FAMILY = "nvenc"
ENCODE_LIBRARY = "libnvidia-encode.so.1"

# (pattern in ffmpeg's stderr, what it means); the first that matches names the cause.
ENCODE_FAILURES: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(
            r"unsupported device \(2\)|No (?:NVENC )?capable devices found|"
            r"OpenEncodeSessionEx failed: unsupported device",
            re.IGNORECASE,
        ),
        "this GPU has no NVENC engine (data-centre GPUs such as H100/H200 have none): "
        "run NVENC encodes on a GPU with video encode hardware (e.g. L4, L40S, A10, T4, RTX)",
    ),
    (
        re.compile(r"Driver does not support the required nvenc API version", re.IGNORECASE),
        "the NVIDIA driver is too old for the NVENC API this ffmpeg was built against: "
        "upgrade the host driver or use an ffmpeg built with older nv-codec-headers",
    ),
    (
        re.compile(
            r"Cannot load libnvidia-encode\.so\.1|libnvidia-encode\.so\.1.*(?:not found|"
            r"cannot open)",
            re.IGNORECASE,
        ),
        f"the driver library {ENCODE_LIBRARY} is missing in the container: set "
        "NVIDIA_DRIVER_CAPABILITIES to include 'video' (e.g. compute,utility,video)",
    ),
    (
        re.compile(
            r"Cannot load libcuda\.so\.1|CUDA_ERROR_NO_DEVICE|no CUDA-capable device", re.IGNORECASE
        ),
        "CUDA is not usable in the container (libcuda.so.1 missing or no device visible)",
    ),
    (
        re.compile(r"Unknown encoder|Encoder not found", re.IGNORECASE),
        "this ffmpeg has no such encoder compiled in",
    ),
)


def explain_encode_error(text: str) -> tuple[str, str] | None:
    """The named cause of a failed NVENC encode and the line that shows it, or None."""
    for pattern, meaning in ENCODE_FAILURES:
        for line in text.splitlines():
            if pattern.search(line):
                return meaning, line.strip()
    return None


def skip_reason(nvenc: Mapping[str, Any], engine: EngineFacts) -> str:
    """Why no real encode was attempted: the probe's word first, else what the facts show."""
    if nvenc.get("reason"):
        return str(nvenc["reason"])
    if not engine.nvidia_runtime:
        return "no NVIDIA runtime registered with the engine"
    if not engine.gpu_requested:
        return "the GPU was not requested for the probe container"
    if not nvenc.get("devices"):
        return "no GPU device in the container"
    libraries = nvenc.get("libraries")
    if isinstance(libraries, Mapping) and libraries.get(ENCODE_LIBRARY) is False:
        return f"driver library {ENCODE_LIBRARY} missing"
    return "no encode was attempted"


def check_nvenc(
    spec: GpuSpec, facts: Facts, *, engine: EngineFacts, require_gpu: bool = False
) -> list[CheckResult]:
    results: list[CheckResult] = []
    info = section(facts, "ffmpeg")
    for name in spec.nvenc:
        id = f"nvenc.compiled.{name}"
        if info is None:
            results.append(error(id, FAMILY, not_reported(facts, "ffmpeg")))
        else:
            results.append(encoder_compiled(id, FAMILY, name, info))
    nvenc = section(facts, "nvenc")
    for name in spec.nvenc:
        id = f"nvenc.encode.{name}"
        if nvenc is None:
            results.append(error(id, FAMILY, not_reported(facts, "nvenc")))
        elif not nvenc.get("attempted"):
            why = skip_reason(nvenc, engine)
            if require_gpu:
                results.append(
                    failed(id, FAMILY, f"no NVENC encode possible: {why} (GPU required)")
                )
            else:
                results.append(skipped(id, FAMILY, f"not attempted: {why}"))
        else:
            encodes = nvenc.get("encodes")
            entry = encodes.get(name) if isinstance(encodes, Mapping) else None
            results.append(_encode(id, name, entry))
    return results


def _encode(id: str, name: str, entry: Any) -> CheckResult:
    if not isinstance(entry, Mapping):
        return error(id, FAMILY, f"probe did not report the {name} encode")
    want = expected_codec(name)
    codec = entry.get("codec")
    if entry.get("ok") and codec and (want is None or codec == want):
        return passed(
            id,
            FAMILY,
            f"{name} encoded on the GPU in {entry.get('seconds')}s ({codec})",
            codec,
            want,
        )
    if entry.get("ok") and codec:
        return failed(id, FAMILY, f"{name} output probed as {codec}, expected {want}", codec, want)
    text = str(entry.get("error") or "")
    known = explain_encode_error(text)
    if known:
        meaning, line = known
        return failed(id, FAMILY, f"{name} encode failed: {meaning} [{line}]", expected=want)
    detail = text.strip().splitlines()[-1] if text.strip() else "no output"
    return failed(id, FAMILY, f"{name} encode failed: {detail}", expected=want)

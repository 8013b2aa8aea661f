"""nvenc.compiled.* and nvenc.encode.*: skipped with a reason, never passed without an encode."""

from __future__ import annotations

from typing import Any

import pytest

from stablebuild.checks.inputs import EngineFacts
from stablebuild.checks.nvenc import check_nvenc
from stablebuild.manifest.model import GpuSpec
from stablebuild.report.model import CheckStatus

SPEC = GpuSpec(nvenc=("h264_nvenc", "hevc_nvenc"))
GPU = EngineFacts(nvidia_runtime=True, gpu_requested=True)


def by_id(results: list[Any]) -> dict[str, Any]:
    return {r.id: r for r in results}


def attempted(facts: dict[str, Any], **encodes: dict[str, Any]) -> dict[str, Any]:
    facts["nvenc"].update(
        attempted=True,
        reason=None,
        devices=["/dev/nvidia0", "/dev/nvidiactl"],
        libraries={"libcuda.so.1": True, "libnvidia-encode.so.1": True},
        encodes=encodes,
    )
    return facts


def encode_error(text: str) -> dict[str, Any]:
    return {"ok": False, "codec": None, "duration": None, "seconds": 0.3, "error": text}


def test_no_runtime_skips_with_reason(facts: dict[str, Any]) -> None:
    results = by_id(check_nvenc(SPEC, facts, engine=EngineFacts()))
    assert results["nvenc.compiled.h264_nvenc"].status is CheckStatus.PASSED
    assert results["nvenc.compiled.hevc_nvenc"].status is CheckStatus.FAILED
    encode = results["nvenc.encode.h264_nvenc"]
    assert encode.status is CheckStatus.SKIPPED
    assert "no NVIDIA runtime registered with the engine" in encode.message


def test_require_gpu_turns_skip_into_failure(facts: dict[str, Any]) -> None:
    results = by_id(check_nvenc(SPEC, facts, engine=EngineFacts(), require_gpu=True))
    encode = results["nvenc.encode.h264_nvenc"]
    assert encode.status is CheckStatus.FAILED
    assert "no NVIDIA runtime" in encode.message


@pytest.mark.parametrize(
    ("nvenc", "engine", "reason"),
    [
        ({"devices": []}, GPU, "no GPU device in the container"),
        (
            {"devices": ["/dev/nvidia0"], "libraries": {"libnvidia-encode.so.1": False}},
            GPU,
            "driver library libnvidia-encode.so.1 missing",
        ),
        ({}, EngineFacts(nvidia_runtime=True), "GPU was not requested"),
    ],
)
def test_derived_skip_reasons(
    facts: dict[str, Any], nvenc: dict[str, Any], engine: EngineFacts, reason: str
) -> None:
    facts["nvenc"]["reason"] = None
    facts["nvenc"].update(nvenc)
    encode = by_id(check_nvenc(SPEC, facts, engine=engine))["nvenc.encode.h264_nvenc"]
    assert encode.status is CheckStatus.SKIPPED
    assert reason in encode.message


def test_real_encode_passes(facts: dict[str, Any]) -> None:
    ok = {"ok": True, "codec": "h264", "duration": 1.0, "seconds": 0.2, "error": None}
    results = by_id(check_nvenc(SPEC, attempted(facts, h264_nvenc=ok), engine=GPU))
    assert results["nvenc.encode.h264_nvenc"].status is CheckStatus.PASSED
    # attempted, but no entry for hevc_nvenc: an error, not a pass
    assert results["nvenc.encode.hevc_nvenc"].status is CheckStatus.ERROR


@pytest.mark.parametrize(
    "stderr",
    [
        "[h264_nvenc @ 0x55d] OpenEncodeSessionEx failed: unsupported device (2): (no details)\n"
        "Error initializing output stream 0:0 -- Error while opening encoder",
        "[h264_nvenc @ 0x1] No capable devices found",
        "[hevc_nvenc @ 0x1] No NVENC capable devices found",
    ],
)
def test_gpu_without_nvenc_is_named(facts: dict[str, Any], stderr: str) -> None:
    facts = attempted(facts, h264_nvenc=encode_error(stderr))
    encode = by_id(check_nvenc(SPEC, facts, engine=GPU))["nvenc.encode.h264_nvenc"]
    assert encode.status is CheckStatus.FAILED
    assert "this GPU has no NVENC engine" in encode.message
    assert "H100/H200" in encode.message


def test_old_driver_is_named(facts: dict[str, Any]) -> None:
    stderr = (
        "[h264_nvenc @ 0x1] Driver does not support the required nvenc API version. "
        "Required: 12.1 Found: 11.1"
    )
    facts = attempted(facts, h264_nvenc=encode_error(stderr))
    encode = by_id(check_nvenc(SPEC, facts, engine=GPU))["nvenc.encode.h264_nvenc"]
    assert encode.status is CheckStatus.FAILED
    assert "driver is too old" in encode.message


def test_missing_library_is_named(facts: dict[str, Any]) -> None:
    stderr = "[h264_nvenc @ 0x1] Cannot load libnvidia-encode.so.1"
    facts = attempted(facts, h264_nvenc=encode_error(stderr))
    encode = by_id(check_nvenc(SPEC, facts, engine=GPU))["nvenc.encode.h264_nvenc"]
    assert encode.status is CheckStatus.FAILED
    assert "libnvidia-encode.so.1 is missing" in encode.message
    assert "NVIDIA_DRIVER_CAPABILITIES" in encode.message


def test_unknown_encode_error_is_still_a_failure(facts: dict[str, Any]) -> None:
    facts = attempted(facts, h264_nvenc=encode_error("something odd\nlast line"))
    encode = by_id(check_nvenc(SPEC, facts, engine=GPU))["nvenc.encode.h264_nvenc"]
    assert encode.status is CheckStatus.FAILED
    assert "last line" in encode.message


def test_missing_sections_are_errors(facts: dict[str, Any]) -> None:
    del facts["nvenc"], facts["ffmpeg"]
    results = check_nvenc(SPEC, facts, engine=GPU, require_gpu=True)
    assert {r.status for r in results} == {CheckStatus.ERROR}
    assert {r.message for r in results} == {
        "probe did not report ffmpeg",
        "probe did not report nvenc",
    }

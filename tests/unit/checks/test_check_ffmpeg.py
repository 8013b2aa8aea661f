"""ffmpeg.binary, ffmpeg.encoder.*, ffmpeg.smoke.*."""

from __future__ import annotations

from typing import Any

from stablebuild.checks.ffmpeg import check_ffmpeg, expected_codec
from stablebuild.manifest.model import FfmpegSpec
from stablebuild.report.model import CheckStatus

SPEC = FfmpegSpec(encoders=("libx264", "aac"), smoke=("libx264", "aac"))


def by_id(results: list[Any]) -> dict[str, Any]:
    return {r.id: r for r in results}


def test_good_ffmpeg_passes(facts: dict[str, Any]) -> None:
    results = by_id(check_ffmpeg(SPEC, facts))
    assert all(r.status is CheckStatus.PASSED for r in results.values()), results
    assert results["ffmpeg.binary"].value == "5.1.6"
    assert results["ffmpeg.smoke.libx264"].value == "h264"


def test_missing_encoder_fails(facts: dict[str, Any]) -> None:
    spec = FfmpegSpec(encoders=("libx265",))
    result = by_id(check_ffmpeg(spec, facts))["ffmpeg.encoder.libx265"]
    assert result.status is CheckStatus.FAILED
    assert "not compiled into this ffmpeg" in result.message


def test_missing_ffprobe_fails_binary(facts: dict[str, Any]) -> None:
    facts["ffmpeg"]["ffprobe"] = {
        "found": False,
        "path": None,
        "version": None,
        "error": "ffprobe not on PATH",
    }
    result = by_id(check_ffmpeg(SPEC, facts))["ffmpeg.binary"]
    assert result.status is CheckStatus.FAILED
    assert "ffprobe not on PATH" in result.message


def test_no_ffmpeg_fails_encoders_too(facts: dict[str, Any]) -> None:
    facts["ffmpeg"] = {
        "ffmpeg": {"found": False, "path": None, "version": None, "error": "ffmpeg not on PATH"},
        "ffprobe": {"found": False, "path": None, "version": None, "error": "ffprobe not on PATH"},
        "encoders": {},
        "hwaccels": [],
        "smoke": {},
    }
    results = by_id(check_ffmpeg(SPEC, facts))
    assert results["ffmpeg.binary"].status is CheckStatus.FAILED
    assert results["ffmpeg.encoder.libx264"].status is CheckStatus.FAILED
    assert "ffmpeg not on PATH" in results["ffmpeg.encoder.libx264"].message
    # no smoke entry reported: an error, never a pass
    assert results["ffmpeg.smoke.libx264"].status is CheckStatus.ERROR


def test_smoke_encode_failure_fails(facts: dict[str, Any]) -> None:
    facts["ffmpeg"]["smoke"]["libx264"] = {
        "ok": False,
        "codec": None,
        "duration": None,
        "seconds": 0.2,
        "error": "Error initializing output stream 0:0 -- Error while opening encoder",
    }
    result = by_id(check_ffmpeg(SPEC, facts))["ffmpeg.smoke.libx264"]
    assert result.status is CheckStatus.FAILED
    assert "Error while opening encoder" in result.message


def test_smoke_wrong_codec_fails(facts: dict[str, Any]) -> None:
    facts["ffmpeg"]["smoke"]["libx264"]["codec"] = "mpeg4"
    result = by_id(check_ffmpeg(SPEC, facts))["ffmpeg.smoke.libx264"]
    assert result.status is CheckStatus.FAILED
    assert "probed as mpeg4, expected h264" in result.message


def test_missing_section_is_error(facts: dict[str, Any]) -> None:
    del facts["ffmpeg"]
    results = check_ffmpeg(SPEC, facts)
    assert len(results) == 5
    assert {r.status for r in results} == {CheckStatus.ERROR}
    assert all(r.message == "probe did not report ffmpeg" for r in results)


def test_codec_map() -> None:
    assert expected_codec("libx265") == "hevc"
    assert expected_codec("libvpx-vp9") == "vp9"
    assert expected_codec("libmp3lame") == "mp3"
    assert expected_codec("hevc_nvenc") == "hevc"
    assert expected_codec("libopus") == "opus"

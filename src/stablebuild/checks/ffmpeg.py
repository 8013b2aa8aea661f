"""FFmpeg checks: ffmpeg and ffprobe run, encoders are compiled in, smoke encodes really work."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from stablebuild.checks.results import Facts, error, failed, not_reported, passed, section
from stablebuild.manifest.model import FfmpegSpec
from stablebuild.report.model import CheckResult

FAMILY = "ffmpeg"

# The codec ffprobe reports for what each encoder writes.
CODECS: dict[str, str] = {
    "libx264": "h264",
    "libx264rgb": "h264",
    "h264_nvenc": "h264",
    "h264_vaapi": "h264",
    "h264_qsv": "h264",
    "h264_v4l2m2m": "h264",
    "libopenh264": "h264",
    "libx265": "hevc",
    "hevc_nvenc": "hevc",
    "hevc_vaapi": "hevc",
    "hevc_qsv": "hevc",
    "av1_nvenc": "av1",
    "libaom-av1": "av1",
    "libsvtav1": "av1",
    "librav1e": "av1",
    "libvpx": "vp8",
    "libvpx-vp9": "vp9",
    "mpeg4": "mpeg4",
    "libxvid": "mpeg4",
    "mjpeg": "mjpeg",
    "aac": "aac",
    "libfdk_aac": "aac",
    "libopus": "opus",
    "opus": "opus",
    "libvorbis": "vorbis",
    "vorbis": "vorbis",
    "libmp3lame": "mp3",
    "flac": "flac",
    "ac3": "ac3",
    "pcm_s16le": "pcm_s16le",
}


def expected_codec(encoder: str) -> str | None:
    return CODECS.get(encoder)


def check_ffmpeg(spec: FfmpegSpec, facts: Facts) -> list[CheckResult]:
    info = section(facts, "ffmpeg")
    ids = (
        ["ffmpeg.binary"]
        + [f"ffmpeg.encoder.{e}" for e in spec.encoders]
        + [f"ffmpeg.smoke.{e}" for e in spec.smoke]
    )
    if info is None:
        message = not_reported(facts, "ffmpeg")
        return [error(id, FAMILY, message) for id in ids]
    results = [_binary(info)]
    results += [encoder_compiled(f"ffmpeg.encoder.{e}", FAMILY, e, info) for e in spec.encoders]
    smoke = info.get("smoke")
    smoke = smoke if isinstance(smoke, Mapping) else {}
    results += [smoke_encode(f"ffmpeg.smoke.{e}", FAMILY, e, smoke.get(e)) for e in spec.smoke]
    return results


def _tool(info: Mapping[str, Any], name: str) -> tuple[bool, str]:
    tool = info.get(name)
    if not isinstance(tool, Mapping):
        return False, f"probe did not report {name}"
    if not tool.get("found"):
        return False, str(tool.get("error") or f"{name} not on PATH")
    if tool.get("error") or not tool.get("version"):
        return False, f"{name} does not run: {tool.get('error') or 'no version printed'}"
    return True, str(tool["version"])


def _binary(info: Mapping[str, Any]) -> CheckResult:
    ffmpeg_ok, ffmpeg = _tool(info, "ffmpeg")
    probe_ok, ffprobe = _tool(info, "ffprobe")
    if ffmpeg_ok and probe_ok:
        return passed("ffmpeg.binary", FAMILY, f"ffmpeg {ffmpeg}, ffprobe {ffprobe}", value=ffmpeg)
    problems = [m for ok, m in ((ffmpeg_ok, ffmpeg), (probe_ok, ffprobe)) if not ok]
    return failed("ffmpeg.binary", FAMILY, "; ".join(problems), value=ffmpeg if ffmpeg_ok else None)


def encoder_compiled(id: str, family: str, encoder: str, info: Mapping[str, Any]) -> CheckResult:
    """`encoder` is listed by `ffmpeg -encoders` (shared with the NVENC family)."""
    encoders = info.get("encoders")
    encoders = encoders if isinstance(encoders, Mapping) else {}
    if encoder in encoders:
        return passed(id, family, f"{encoder} compiled in ({encoders[encoder]})", encoders[encoder])
    ok, why = _tool(info, "ffmpeg")
    if not ok:
        return failed(id, family, f"cannot list encoders: {why}")
    hint = ""
    codec = expected_codec(encoder)
    alike = sorted(e for e in encoders if codec and expected_codec(e) == codec)
    if alike:
        hint = f"; other {codec} encoders present: {', '.join(alike)}"
    return failed(
        id, family, f"{encoder} is not compiled into this ffmpeg ({len(encoders)} encoders){hint}"
    )


def smoke_encode(id: str, family: str, encoder: str, entry: Any) -> CheckResult:
    """A real encode of a generated clip that ffprobe reads back as the expected codec."""
    if not isinstance(entry, Mapping):
        return error(id, family, f"probe did not report the {encoder} encode")
    want = expected_codec(encoder)
    codec = entry.get("codec")
    seconds = entry.get("seconds")
    if not entry.get("ok") or not codec:
        return failed(
            id, family, f"{encoder} encode failed: {entry.get('error') or 'no output'}", None, want
        )
    duration = entry.get("duration")
    if isinstance(duration, (int, float)) and duration <= 0:
        return failed(id, family, f"{encoder} wrote an empty clip (duration {duration})", codec)
    if want is None:
        return passed(
            id, family, f"{encoder} encoded a clip probed as {codec} in {seconds}s", codec
        )
    if codec != want:
        return failed(
            id, family, f"{encoder} output probed as {codec}, expected {want}", codec, want
        )
    return passed(
        id, family, f"{encoder} encoded a clip probed as {codec} in {seconds}s", codec, want
    )

"""FFmpeg: which encoders exist, which really work, and the command lines that transcode.

Every call goes through `run_command`, the one place that starts a process; tests on a machine
without FFmpeg replace it with a fake.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

FFMPEG = "ffmpeg"
FFPROBE = "ffprobe"

# codec -> (hardware encoder, software encoder)
VIDEO_ENCODERS: dict[str, tuple[str, str]] = {
    "h264": ("h264_nvenc", "libx264"),
    "hevc": ("hevc_nvenc", "libx265"),
}
AUDIO_ENCODER = "aac"
HARDWARE_ENCODERS = frozenset(hw for hw, _ in VIDEO_ENCODERS.values())
# container -> (ffmpeg muxer, media type)
CONTAINERS: dict[str, tuple[str, str]] = {
    "mp4": ("mp4", "video/mp4"),
    "mkv": ("matroska", "video/x-matroska"),
    "mov": ("mov", "video/quicktime"),
}
CANDIDATES: tuple[str, ...] = (
    *(enc for pair in VIDEO_ENCODERS.values() for enc in pair),
    AUDIO_ENCODER,
)

_ENCODER_LINE = re.compile(r"^\s*[VAS][F.][S.][X.][B.][D.]\s+(\S+)")


@dataclass(frozen=True)
class CommandResult:
    """What a finished process left: exit status and its output, decoded."""

    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0


class TranscodeError(RuntimeError):
    """FFmpeg failed or could not be started; the message ends with its last stderr lines."""


def run_command(argv: Sequence[str], timeout_s: float) -> CommandResult:
    """Run `argv` (never through a shell) and collect its output."""
    try:
        proc = subprocess.run(
            list(argv),
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except FileNotFoundError as exc:
        return CommandResult(127, "", f"{argv[0]}: not found ({exc})")
    except subprocess.TimeoutExpired:
        return CommandResult(124, "", f"{argv[0]}: timed out after {timeout_s:.0f}s")
    return CommandResult(proc.returncode, proc.stdout, proc.stderr)


def tail(text: str, lines: int = 8) -> str:
    """The last `lines` non-empty lines of `text`, for error messages."""
    kept = [line for line in text.strip().splitlines() if line.strip()]
    return "\n".join(kept[-lines:])


def ffmpeg_version(timeout_s: float = 10.0) -> str | None:
    """The first line of `ffmpeg -version`, or None when FFmpeg does not run."""
    result = run_command([FFMPEG, "-hide_banner", "-version"], timeout_s)
    if not result.ok or not result.stdout.strip():
        return None
    return result.stdout.strip().splitlines()[0]


def parse_encoders(listing: str) -> frozenset[str]:
    """Encoder names from `ffmpeg -encoders` output."""
    names = set()
    for line in listing.splitlines():
        match = _ENCODER_LINE.match(line)
        if match and match.group(1) != "=":
            names.add(match.group(1))
    return frozenset(names)


def compiled_encoders(timeout_s: float = 10.0) -> frozenset[str]:
    """Encoders compiled into this FFmpeg: necessary, never sufficient (NVENC needs a GPU)."""
    result = run_command([FFMPEG, "-hide_banner", "-encoders"], timeout_s)
    return parse_encoders(result.stdout) if result.ok else frozenset()


def probe_encode(encoder: str, timeout_s: float = 30.0) -> CommandResult:
    """Really encode a fraction of a second of a generated picture (or tone) with `encoder`."""
    if encoder == AUDIO_ENCODER:
        source = ["-f", "lavfi", "-i", "sine=frequency=440:duration=0.5"]
        codec = ["-c:a", encoder]
    else:
        # 256x256: NVENC rejects frames below its minimum size; yuv420p suits every encoder here.
        source = ["-f", "lavfi", "-i", "testsrc2=duration=0.4:size=256x256:rate=25"]
        codec = ["-c:v", encoder, "-pix_fmt", "yuv420p", "-frames:v", "10"]
    argv = [
        FFMPEG,
        "-hide_banner",
        "-nostdin",
        "-loglevel",
        "error",
        *source,
        *codec,
        "-f",
        "null",
        "-",
    ]
    return run_command(argv, timeout_s)


@dataclass(frozen=True)
class Capabilities:
    """The result of a start-up probe: what is compiled in, what really encodes, and why not."""

    ffmpeg_version: str | None
    compiled_in: tuple[str, ...]
    working: tuple[str, ...]
    failures: dict[str, str] = field(default_factory=dict)

    def select(self, codec: str, accelerator: str) -> str:
        """The encoder for `codec`: NVENC only for GPU jobs and only when it really worked."""
        hardware, software = VIDEO_ENCODERS[codec]
        if accelerator == "gpu" and hardware in self.working:
            return hardware
        return software

    def selection(self) -> dict[str, dict[str, str]]:
        """codec -> accelerator -> encoder, as `select` would answer."""
        return {
            codec: {acc: self.select(codec, acc) for acc in ("cpu", "gpu")}
            for codec in VIDEO_ENCODERS
        }


def detect(candidates: Iterable[str] = CANDIDATES, timeout_s: float = 30.0) -> Capabilities:
    """Probe every candidate encoder that is compiled in with a real, short encode."""
    version = ffmpeg_version()
    if version is None:
        return Capabilities(None, (), (), {"ffmpeg": "ffmpeg does not run"})
    compiled = compiled_encoders()
    working: list[str] = []
    failures: dict[str, str] = {}
    for encoder in candidates:
        if encoder not in compiled:
            failures[encoder] = "not compiled in"
            continue
        result = probe_encode(encoder, timeout_s)
        if result.ok:
            working.append(encoder)
        else:
            failures[encoder] = tail(result.stderr, 3) or f"exit status {result.returncode}"
    known = tuple(sorted(compiled & set(CANDIDATES)))
    return Capabilities(version, known, tuple(working), failures)


def transcode_argv(src: Path, dst: Path, encoder: str, container: str) -> list[str]:
    """The FFmpeg command that turns `src` into `dst` with `encoder` and AAC audio."""
    muxer, _ = CONTAINERS[container]
    quality = {
        "libx264": ["-preset", "veryfast", "-crf", "23"],
        "libx265": ["-preset", "fast", "-crf", "28"],
        "h264_nvenc": ["-preset", "p4", "-cq", "23"],
        "hevc_nvenc": ["-preset", "p4", "-cq", "28"],
    }[encoder]
    argv = [
        FFMPEG,
        "-hide_banner",
        "-nostdin",
        "-loglevel",
        "error",
        "-y",
        "-i",
        str(src),
        "-map",
        "0:v:0",
        "-map",
        "0:a:0?",
        "-c:v",
        encoder,
        *quality,
        "-pix_fmt",
        "yuv420p",
        "-c:a",
        AUDIO_ENCODER,
        "-b:a",
        "128k",
    ]
    if encoder in ("libx265", "hevc_nvenc") and container in ("mp4", "mov"):
        argv += ["-tag:v", "hvc1"]  # the HEVC tag players expect in MP4/QuickTime
    if container in ("mp4", "mov"):
        argv += ["-movflags", "+faststart"]
    return [*argv, "-f", muxer, str(dst)]


def transcode(src: Path, dst: Path, encoder: str, container: str, timeout_s: float) -> None:
    """Run the transcode; raise `TranscodeError` (with FFmpeg's last words) when it fails."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    result = run_command(transcode_argv(src, dst, encoder, container), timeout_s)
    if not result.ok:
        dst.unlink(missing_ok=True)
        reason = tail(result.stderr) or f"exit status {result.returncode}"
        raise TranscodeError(f"ffmpeg ({encoder}) failed: {reason}")
    if not dst.is_file() or dst.stat().st_size == 0:
        raise TranscodeError(f"ffmpeg ({encoder}) exited 0 but wrote no output")

"""A stand-in for the `ffmpeg` binary, used only where FFmpeg is not installed.

It answers like Debian's build on a machine without a GPU: NVENC is compiled in, but a real
encode with it fails because the driver library cannot be loaded.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from app.media import CommandResult

ENCODERS_LISTING = """Encoders:
 V..... = Video
 A..... = Audio
 ------
 V....D libx264              libx264 H.264 / AVC / MPEG-4 AVC / MPEG-4 part 10 (codec h264)
 V....D h264_nvenc           NVIDIA NVENC H.264 encoder (codec h264)
 V....D libx265              libx265 H.265 / HEVC (codec hevc)
 V....D hevc_nvenc           NVIDIA NVENC hevc encoder (codec hevc)
 A....D aac                  AAC (Advanced Audio Coding)
"""
NVENC_FAILURE = "Cannot load libcuda.so.1\nCould not open encoder before EOF"


class FakeFFmpeg:
    """Callable with `run_command`'s signature; records every command it was given."""

    def __init__(self, broken: Sequence[str] = ("h264_nvenc", "hevc_nvenc")) -> None:
        self.broken = set(broken)
        self.calls: list[list[str]] = []

    def __call__(self, argv: Sequence[str], timeout_s: float) -> CommandResult:
        args = list(argv)
        self.calls.append(args)
        if "-version" in args:
            return CommandResult(0, "ffmpeg version 5.1.6-0+deb12u1 (fake)\n", "")
        if "-encoders" in args:
            return CommandResult(0, ENCODERS_LISTING, "")
        encoder = next(args[i + 1] for i, a in enumerate(args) if a in ("-c:v", "-c:a"))
        if encoder in self.broken:
            return CommandResult(1, "", NVENC_FAILURE)
        if args[-1] != "-":
            Path(args[-1]).write_bytes(b"transcoded with " + encoder.encode())
        return CommandResult(0, "", "")

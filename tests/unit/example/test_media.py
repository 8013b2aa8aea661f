"""FFmpeg command lines, encoder listing, and choosing encoders from a real probe."""

from __future__ import annotations

from pathlib import Path

import pytest
from app import media

from .fake_ffmpeg import ENCODERS_LISTING, FakeFFmpeg


def test_parse_encoders_reads_names_not_legend() -> None:
    assert media.parse_encoders(ENCODERS_LISTING) == {
        "libx264", "h264_nvenc", "libx265", "hevc_nvenc", "aac",
    }  # fmt: skip


def test_compiled_in_is_not_enough(monkeypatch: pytest.MonkeyPatch) -> None:
    """NVENC listed by `ffmpeg -encoders` but failing a real encode is not 'working'."""
    monkeypatch.setattr(media, "run_command", FakeFFmpeg())
    caps = media.detect()
    assert "h264_nvenc" in caps.compiled_in
    assert "h264_nvenc" not in caps.working
    assert "libcuda" in caps.failures["h264_nvenc"]
    assert set(caps.working) == {"libx264", "libx265", "aac"}


def test_nvenc_is_chosen_when_its_probe_encode_worked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(media, "run_command", FakeFFmpeg(broken=()))
    caps = media.detect()
    assert caps.select("h264", "gpu") == "h264_nvenc"
    assert caps.select("hevc", "gpu") == "hevc_nvenc"
    assert caps.select("h264", "cpu") == "libx264"  # CPU jobs never take the GPU


def test_software_fallback_without_a_working_nvenc() -> None:
    caps = media.Capabilities("ffmpeg 5.1", ("h264_nvenc", "libx264"), ("libx264",), {})
    assert caps.select("h264", "gpu") == "libx264"
    assert caps.selection()["hevc"] == {"cpu": "libx265", "gpu": "libx265"}


def test_no_ffmpeg_means_nothing_works(monkeypatch: pytest.MonkeyPatch) -> None:
    missing = media.CommandResult(127, "", "ffmpeg: not found")
    monkeypatch.setattr(media, "run_command", lambda argv, timeout_s: missing)
    caps = media.detect()
    assert caps.ffmpeg_version is None
    assert caps.working == ()


def test_run_command_reports_a_missing_program() -> None:
    result = media.run_command(["/nonexistent/ffmpeg", "-version"], timeout_s=5)
    assert result.returncode == 127
    assert not result.ok


def test_transcode_argv_for_hevc_in_mp4() -> None:
    argv = media.transcode_argv(Path("in.mkv"), Path("out.mp4"), "libx265", "mp4")
    assert argv[0] == "ffmpeg"
    assert argv[argv.index("-c:v") + 1] == "libx265"
    assert argv[argv.index("-tag:v") + 1] == "hvc1"
    assert "+faststart" in argv
    assert argv[-3:] == ["-f", "mp4", "out.mp4"]
    assert "0:a:0?" in argv  # audio is optional


def test_transcode_argv_for_h264_in_matroska() -> None:
    argv = media.transcode_argv(Path("in.mov"), Path("out.mkv"), "h264_nvenc", "mkv")
    assert "-tag:v" not in argv
    assert "-movflags" not in argv
    assert argv[-3:] == ["-f", "matroska", "out.mkv"]


def test_failed_transcode_raises_with_ffmpeg_last_words(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(media, "run_command", FakeFFmpeg())
    dst = tmp_path / "out" / "x.mp4"
    with pytest.raises(media.TranscodeError, match="libcuda"):
        media.transcode(tmp_path / "in.mkv", dst, "h264_nvenc", "mp4", timeout_s=5)
    assert not dst.exists()


def test_tail_keeps_the_last_non_empty_lines() -> None:
    assert media.tail("a\n\nb\nc\n", 2) == "b\nc"

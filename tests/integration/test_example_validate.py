"""`stablebuild validate examples/ffmpeg-api --profile airgap` through the CLI, as CI runs it:
every image passes, and the GPU worker's real NVENC encode is skipped with its reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from stablebuild.cli import app

pytestmark = pytest.mark.docker

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "ffmpeg-api"


def test_reference_stack_validates(base_image: str, tmp_path: Path) -> None:
    report_path = tmp_path / "report.json"
    junit_path = tmp_path / "junit.xml"
    result = CliRunner().invoke(
        app,
        [
            "validate", str(EXAMPLE), "--profile", "airgap", "--quiet",
            "-o", f"json:{report_path}", "-o", f"junit:{junit_path}",
        ],
    )  # fmt: skip
    report = json.loads(report_path.read_text())
    assert result.exit_code == 0, result.output
    assert report["status"] == "passed" and report["complete"] is True
    assert [i["name"] for i in report["images"]] == ["api", "worker-cpu", "worker-gpu"]
    checks = {
        (image["name"], check["id"]): check
        for image in report["images"]
        for check in image["checks"]
    }
    assert checks[("worker-cpu", "ffmpeg.smoke.libx264")]["status"] == "passed"
    assert checks[("api", "runtime.health")]["status"] == "passed"
    for encoder in ("h264_nvenc", "hevc_nvenc"):
        assert checks[("worker-gpu", f"nvenc.compiled.{encoder}")]["status"] == "passed"
        encode = checks[("worker-gpu", f"nvenc.encode.{encoder}")]
        assert encode["status"] == "skipped"
        assert "NVIDIA runtime" in encode["message"]
    assert "<skipped" in junit_path.read_text()

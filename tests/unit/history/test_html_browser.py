"""The HTML report in a real browser: headless Chromium (Debian's `chromium`) loads it from
disk with no network, logs no console error, draws the charts, and the screenshot is not blank.

The detector is checked too: a page with a script error must be caught by it.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import tempfile
import zlib
from pathlib import Path

import pytest
from tests.unit.history.factories import api_image, broken_image, run_record, series

from stablebuild.history.html import render_html

FLAGS = [
    "--headless",
    "--no-sandbox",  # as root, chromium refuses to start with its sandbox
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--enable-logging=stderr",
    "--v=0",
    "--window-size=1200,1600",
]


@pytest.fixture(scope="module")
def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("CI: chromium is missing; `make test` installs it", pytrace=False)
        pytest.skip("chromium is not installed (apt-get install -y chromium)")
    return found


def _run(chromium: str, page: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    with tempfile.TemporaryDirectory(prefix="stablebuild-chromium-") as profile:
        return subprocess.run(
            [chromium, *FLAGS, f"--user-data-dir={profile}", *extra, page.as_uri()],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            env={**os.environ, "HOME": profile},
        )


def console_errors(stderr: str) -> list[str]:
    """Chromium's log lines for messages the page sent to its console, and page errors."""
    return [
        line
        for line in stderr.splitlines()
        if ":CONSOLE(" in line or "Uncaught" in line or "Failed to load resource" in line
    ]


def distinct_rows(png: bytes) -> int:
    """How many different (filtered) pixel rows the PNG has: 1-3 for a blank page."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    pos, data, width, bpp = 8, b"", 0, 4
    while pos < len(png):
        (length,) = struct.unpack(">I", png[pos : pos + 4])
        kind, body = png[pos + 4 : pos + 8], png[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, _, depth, color = struct.unpack(">IIBB", body[:10])
            bpp = {2: 3, 6: 4, 0: 1, 4: 2}[color] * depth // 8
        elif kind == b"IDAT":
            data += body
        pos += 12 + length
    raw = zlib.decompress(data)
    stride = width * bpp + 1
    return len({raw[i : i + stride] for i in range(0, len(raw), stride)})


@pytest.fixture
def report_page(tmp_path: Path) -> Path:
    runs = [
        *series(24),
        run_record(30, [api_image(500.0, failed=("regression.size",)), broken_image()]),
    ]
    page = tmp_path / "report.html"
    page.write_text(render_html("ffmpeg-api", runs, generated_at="2026-11-20T10:00:00+00:00"))
    return page


def test_the_report_renders_without_console_errors(chromium: str, report_page: Path) -> None:
    done = _run(chromium, report_page, "--dump-dom")
    assert done.returncode == 0, done.stderr[-2000:]
    assert console_errors(done.stderr) == []
    dom = done.stdout
    assert dom.count('<svg class="chart"') == 9  # size, build and start for api, worker, migrate
    assert dom.count("<polyline") >= 5 and 'class="rg"' in dom and 'class="fl"' in dom
    assert "pg_config executable not found" in dom


def test_the_screenshot_is_not_blank(chromium: str, report_page: Path, tmp_path: Path) -> None:
    shot = tmp_path / "shot.png"
    done = _run(chromium, report_page, f"--screenshot={shot}")
    assert done.returncode == 0 and shot.is_file(), done.stderr[-2000:]
    assert distinct_rows(shot.read_bytes()) > 200
    blank = tmp_path / "blank.html"
    blank.write_text("<!DOCTYPE html><html><body></body></html>")
    blank_shot = tmp_path / "blank.png"
    _run(chromium, blank, f"--screenshot={blank_shot}")
    assert distinct_rows(blank_shot.read_bytes()) <= 3  # what "blank" looks like to the check


def test_the_console_check_catches_a_script_error(chromium: str, tmp_path: Path) -> None:
    broken = tmp_path / "broken.html"
    broken.write_text("<!DOCTYPE html><html><body><script>noSuchFunction();</script></body></html>")
    done = _run(chromium, broken, "--dump-dom")
    assert any("noSuchFunction" in line for line in console_errors(done.stderr))

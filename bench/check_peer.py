"""Benchmark 1's check phase, the peer every CLI figure is a ratio to: image metadata, ONE probe
container and the pure judges, called in-process as `validate` calls them (no build, no CLI
start-up). Its own module, light (no bench harness): `floor_cli.py` imports it cold.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from stablebuild.checks.inputs import EngineFacts
from stablebuild.checks.judging import judge
from stablebuild.engine.containers import image_meta, run_locked
from stablebuild.manifest.model import FfmpegSpec, ImageSpec
from stablebuild.probe import parse_output, probe_source, request_for, request_json
from stablebuild.report.model import CheckResult

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "check_phase"
MODULES = [
    "json",
    "csv",
    "sqlite3",
    "ssl",
    "hashlib",
    "decimal",
    "asyncio",
    "email",
    "http.client",
    "urllib.request",
    "xml.etree.ElementTree",
    "logging",
    "argparse",
    "subprocess",
    "threading",
    "multiprocessing",
    "concurrent.futures",
    "datetime",
    "zoneinfo",
    "uuid",
    "base64",
    "gzip",
    "bz2",
    "lzma",
    "zipfile",
    "tarfile",
    "pathlib",
    "shutil",
    "tempfile",
    "unittest",
]
ENCODERS = ["libx264", "aac", "libx265", "libvpx-vp9", "libopus"]
FILES = ["/app/main.py", "/app/settings.toml", "/app/VERSION"]
USER_ID = "1000"
CHECKS = len(MODULES) + len(ENCODERS) + 1 + 1 + len(FILES)


def spec() -> ImageSpec:
    return ImageSpec(
        name="bench",
        dockerfile=FIXTURE / "Dockerfile",
        context=FIXTURE,
        interpreter="python3",
        imports=tuple(MODULES),
        ffmpeg=FfmpegSpec(encoders=tuple(ENCODERS)),
        user=USER_ID,
        healthcheck=True,
        files=tuple(FILES),
    )


def stablebuild_checks(engine: Any, image: str, run_id: str) -> list[CheckResult]:
    """The check phase as `validate` runs it: metadata, one probe container, the judges."""
    image_spec = spec()
    facts_in = EngineFacts()
    meta = image_meta(engine, image)
    request = request_json(request_for(image_spec, facts_in))
    result = run_locked(
        engine, image, [image_spec.interpreter, "-c", probe_source(), request], run_id=run_id
    )
    facts = parse_output(result.stdout)
    return judge(
        image_spec, facts, meta, python=None, python_match="minor", pins={}, engine=facts_in
    )

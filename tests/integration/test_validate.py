"""`validate` on the real engine: each check passes on a good image and fails, with the right
message, on an image broken in exactly that way. No mocks: fixture images are built here."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.integration.conftest import write_stack

from stablebuild.engine import Engine
from stablebuild.manifest.load import load_manifest
from stablebuild.report.model import CheckResult, CheckStatus, ImageReport, Report
from stablebuild.validate import ValidateOptions, validate

pytestmark = pytest.mark.docker

HEALTHY = (
    'HEALTHCHECK --interval=1s --timeout=2s --retries=3 CMD ["/opt/venv/bin/python", "-c", '
    "\"import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/')\"]"
)
SERVE = 'CMD ["/opt/venv/bin/python", "-m", "http.server", "8000"]'


def _image(report: Report, name: str) -> ImageReport:
    return next(i for i in report.images if i.name == name)


def _check(report: Report, image: str, check_id: str) -> CheckResult:
    image_report = _image(report, image)
    found = [c for c in image_report.checks if c.id == check_id]
    assert found, f"{image}: no check {check_id} in {[c.id for c in image_report.checks]}"
    return found[0]


def _status(report: Report, image: str, check_id: str) -> CheckStatus:
    return _check(report, image, check_id).status


@pytest.fixture(scope="module")
def good_report(
    engine: Engine, python_image: str, ffmpeg_image: str, tmp_path_factory: pytest.TempPathFactory
) -> Report:
    root = tmp_path_factory.mktemp("good-stack")
    manifest = write_stack(
        root,
        {
            "requirements.txt": "six==1.16.0\n",
            "app.Dockerfile": f"""
                ARG BASE
                FROM ${{BASE}}
                {HEALTHY}
                {SERVE}
            """,
            "media.Dockerfile": """
                ARG MEDIA
                FROM ${MEDIA}
                HEALTHCHECK CMD ["ffmpeg", "-version"]
            """,
            "stablebuild.yml": f"""
                version: 1
                name: good
                python: "3.11"
                requirements: [requirements.txt]
                images:
                  app:
                    dockerfile: app.Dockerfile
                    args: {{BASE: "{python_image}"}}
                    interpreter: /opt/venv/bin/python
                    imports: [six, json]
                    user: "1000"
                    packages: {{forbid: [gcc, libpq-dev], require: [python3.11]}}
                    healthcheck: true
                    budgets: {{size_mb: 1000, build_seconds: 600}}
                    files: [/opt/venv/bin/python]
                    run: {{port: 8000, health: /, start_seconds: 30}}
                  media:
                    dockerfile: media.Dockerfile
                    args: {{MEDIA: "{ffmpeg_image}"}}
                    interpreter: /opt/venv/bin/python
                    imports: [six]
                    user: app
                    ffmpeg: {{encoders: [libx264, aac], smoke: [libx264, aac]}}
                    gpu: {{nvenc: [h264_nvenc, hevc_nvenc]}}
                    healthcheck: true
            """,
        },
    )
    return validate(engine, load_manifest(manifest), ValidateOptions(jobs=2))


def test_good_stack_passes_every_check(good_report: Report) -> None:
    for image in good_report.images:
        bad = [c for c in image.checks if c.status in (CheckStatus.FAILED, CheckStatus.ERROR)]
        assert not bad, f"{image.name}: {bad}"
    assert good_report.ok and good_report.complete


def test_good_stack_checks_are_real(good_report: Report) -> None:
    assert _check(good_report, "app", "python.version").value.startswith("3.11")
    assert _status(good_report, "app", "imports.six") is CheckStatus.PASSED
    assert _status(good_report, "app", "pins.six") is CheckStatus.PASSED
    assert _status(good_report, "app", "user") is CheckStatus.PASSED
    assert _status(good_report, "app", "packages.forbid.gcc") is CheckStatus.PASSED
    assert _status(good_report, "app", "packages.require.python3.11") is CheckStatus.PASSED
    assert _status(good_report, "app", "healthcheck") is CheckStatus.PASSED
    assert _status(good_report, "app", "runtime.health") is CheckStatus.PASSED
    assert _status(good_report, "media", "ffmpeg.smoke.libx264") is CheckStatus.PASSED
    assert _status(good_report, "media", "ffmpeg.smoke.aac") is CheckStatus.PASSED
    assert _status(good_report, "media", "nvenc.compiled.h264_nvenc") is CheckStatus.PASSED


def test_nvenc_encode_is_skipped_with_a_reason_never_passed(good_report: Report) -> None:
    encode = _check(good_report, "media", "nvenc.encode.h264_nvenc")
    assert encode.status is CheckStatus.SKIPPED
    assert "NVIDIA runtime" in encode.message


@pytest.fixture(scope="module")
def broken_report(
    engine: Engine, python_image: str, ffmpeg_image: str, tmp_path_factory: pytest.TempPathFactory
) -> Report:
    root = tmp_path_factory.mktemp("broken-stack")
    common = f"""
                    args: {{BASE: "{python_image}"}}
                    interpreter: /opt/venv/bin/python
                    imports: [six]
                    user: "1000"
                    packages: {{forbid: [gcc]}}
                    healthcheck: true
    """
    files = {
        "requirements.txt": "six==1.16.0\n",
        "good.Dockerfile": f"ARG BASE\nFROM ${{BASE}}\n{HEALTHY}\n{SERVE}\n",
        "wrong-pin.Dockerfile": f"""
            ARG BASE
            FROM ${{BASE}}
            USER root
            RUN /opt/venv/bin/pip install --no-cache-dir --disable-pip-version-check six==1.15.0
            USER app
            {HEALTHY}
        """,
        "root.Dockerfile": f"ARG BASE\nFROM ${{BASE}}\nUSER root\n{HEALTHY}\n",
        "gcc.Dockerfile": f"""
            ARG BASE
            FROM ${{BASE}}
            USER root
            RUN apt-get update && apt-get install -y --no-install-recommends gcc \\
             && rm -rf /var/lib/apt/lists/*
            USER app
            {HEALTHY}
        """,
        "no-health.Dockerfile": "ARG BASE\nFROM ${BASE}\n",
        # A virtualenv made by an interpreter the final stage does not have.
        "dangling.Dockerfile": f"""
            ARG BASE
            FROM ${{BASE}} AS builder
            USER root
            RUN ln -s /usr/bin/python3.11 /usr/local/bin/python3.11 \\
             && /usr/local/bin/python3.11 -m venv --without-pip /opt/venv2
            FROM ${{BASE}}
            COPY --from=builder /opt/venv2 /opt/venv2
            {HEALTHY}
        """,
        "media.Dockerfile": 'ARG MEDIA\nFROM ${MEDIA}\nHEALTHCHECK CMD ["ffmpeg", "-version"]\n',
        "slow.Dockerfile": f"""
            ARG BASE
            FROM ${{BASE}}
            CMD ["sh", "-c", "sleep 60; exec /opt/venv/bin/python -m http.server 8000"]
            {HEALTHY}
        """,
    }
    images = {
        "missing-module": ("good", "imports: [six, yaml]"),
        "wrong-pin": ("wrong-pin", ""),
        "root-user": ("root", ""),
        "gcc-left": ("gcc", ""),
        "no-healthcheck": ("no-health", ""),
        "dangling-venv": ("dangling", "interpreter: /opt/venv2/bin/python"),
        "failing-health": ("good", "run: {port: 8000, health: /missing, start_seconds: 15}"),
        "slow-health": ("slow", "run: {port: 8000, health: /, start_seconds: 4}"),
        "oversize": ("good", "budgets: {size_mb: 10}"),
    }
    lines = ["version: 1", "name: broken", 'python: "3.11"', "requirements: [requirements.txt]"]
    lines.append("images:")
    for name, (dockerfile, extra) in images.items():
        body = common.strip("\n").splitlines()
        keys = {line.split(":")[0].strip() for line in extra.splitlines() if line}
        body = [line for line in body if line.split(":")[0].strip() not in keys]
        lines += [f"  {name}:", f"    dockerfile: {dockerfile}.Dockerfile"]
        lines += ["    " + line.strip() for line in body]
        lines += ["    " + line.strip() for line in extra.splitlines() if line]
    lines += [
        "  missing-encoder:",
        "    dockerfile: media.Dockerfile",
        f'    args: {{MEDIA: "{ffmpeg_image}"}}',
        "    interpreter: /opt/venv/bin/python",
        "    ffmpeg: {encoders: [libx264, libfdk_aac], smoke: [libx264]}",
    ]
    files["stablebuild.yml"] = "\n".join(lines) + "\n"
    manifest = write_stack(root, files)
    return validate(engine, load_manifest(manifest), ValidateOptions(jobs=2))


@pytest.mark.parametrize(
    ("image", "check_id", "words"),
    [
        ("missing-module", "imports.yaml", "No module named 'yaml'"),
        ("wrong-pin", "pins.six", "1.15.0"),
        ("root-user", "user", "root"),
        ("gcc-left", "packages.forbid.gcc", "gcc"),
        ("no-healthcheck", "healthcheck", "HEALTHCHECK"),
        ("dangling-venv", "python.interpreter", "/usr/local/bin/python3.11"),
        ("missing-encoder", "ffmpeg.encoder.libfdk_aac", "libfdk_aac"),
        ("failing-health", "runtime.health", "404"),
        ("slow-health", "runtime.health", "4"),
        ("oversize", "size", "10"),
    ],
)
def test_broken_image_fails_exactly_its_check(
    broken_report: Report, image: str, check_id: str, words: str
) -> None:
    check = _check(broken_report, image, check_id)
    assert check.status is CheckStatus.FAILED, check
    assert words in check.message, check.message
    others = [
        c
        for c in _image(broken_report, image).checks
        if c.status in (CheckStatus.FAILED, CheckStatus.ERROR) and c.id != check_id
    ]
    if image == "dangling-venv":  # a dead interpreter also fails everything run through it
        others = [c for c in others if not c.id.startswith(("python.", "imports.", "pins.", "pip"))]
    if image == "wrong-pin":  # the same drift, seen stack-wide
        others = [c for c in others if c.id != "pins.drift"]
    assert not others, others
    assert not broken_report.ok


def test_validate_tags_nothing_unless_asked(engine: Engine, broken_report: Report) -> None:
    for image in broken_report.images:
        assert image.build.tag is None
    assert not engine.docker.images(name="stablebuild/broken-*")


def test_failed_build_is_diagnosed_and_does_not_stop_the_others(
    engine: Engine, python_image: str, tmp_path: Path
) -> None:
    manifest = write_stack(
        tmp_path,
        {
            "ok.Dockerfile": f"ARG BASE\nFROM ${{BASE}}\n{HEALTHY}\n",
            "broken.Dockerfile": """
                ARG BASE
                FROM ${BASE} AS runtime-cpu
                ARG WORKER_TYPE=cpu
                FROM runtime-${WORKER_TYPE}
            """,
            "stablebuild.yml": f"""
                version: 1
                name: diag
                images:
                  broken: {{dockerfile: broken.Dockerfile, args: {{BASE: "{python_image}"}}}}
                  ok: {{dockerfile: ok.Dockerfile, args: {{BASE: "{python_image}"}}}}
            """,
        },
    )
    report = validate(engine, load_manifest(manifest), ValidateOptions(jobs=2))
    broken, ok = _image(report, "broken"), _image(report, "ok")
    assert broken.build.status.value == "failed"
    assert broken.build.diagnosis is not None
    assert "ARG" in broken.build.diagnosis.summary + broken.build.diagnosis.hint
    assert ok.build.status.value == "built"
    assert not report.ok

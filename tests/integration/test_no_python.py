"""An image with no Python at all and a venv copied from another base: `validate` reads the
interpreter's files through the archive API (nothing runs in the image) and names the root cause
as one failed check, the checks the probe would have fed skipped because of it."""

from __future__ import annotations

import json

import pytest
from tests.integration.conftest import write_stack
from tests.support import SESSION_RUN

from stablebuild.engine import Engine
from stablebuild.engine.client import LABEL_RUN
from stablebuild.manifest.load import load_manifest
from stablebuild.report.format import JsonFormat, MarkdownFormat, TerminalFormat
from stablebuild.report.model import CheckStatus, ImageReport, Report
from stablebuild.validate import ValidateOptions, validate

pytestmark = pytest.mark.docker

ROOT_CAUSE = (
    "/opt/venv/bin/python → /usr/bin/python3, which does not exist in this image: "
    "the venv was built on another base (pyvenv.cfg home = /usr/local/bin)"
)

# What a `python:3.12` builder stage leaves in /opt/venv, copied onto a base without Python.
NO_PYTHON = r"""
ARG BASE
FROM ${BASE}
RUN rm -f /usr/bin/python3* /usr/local/bin/python3* \
 && mkdir -p /opt/venv/bin /opt/venv/lib/python3.12/site-packages \
 && ln -s /usr/bin/python3 /opt/venv/bin/python \
 && ln -s python /opt/venv/bin/python3 \
 && printf 'home = /usr/local/bin\ninclude-system-site-packages = false\nversion = 3.12.7\n' \
      > /opt/venv/pyvenv.cfg \
 && useradd --uid 1000 app
USER app
HEALTHCHECK CMD ["/opt/venv/bin/python", "-c", "0"]
"""


@pytest.fixture(scope="module")
def report(engine: Engine, base_image: str, tmp_path_factory: pytest.TempPathFactory) -> Report:
    root = tmp_path_factory.mktemp("no-python")
    manifest = write_stack(
        root,
        {
            "requirements.txt": "six==1.16.0\n",
            "Dockerfile": NO_PYTHON,
            "stablebuild.yml": f"""
                version: 1
                name: no-python
                python: "3.12"
                requirements: [requirements.txt]
                images:
                  gpu-worker:
                    dockerfile: Dockerfile
                    args: {{BASE: "{base_image}"}}
                    interpreter: /opt/venv/bin/python
                    imports: [six]
                    user: "1000"
                    packages: {{forbid: [gcc]}}
                    healthcheck: true
                    files: [/opt/venv/pyvenv.cfg]
            """,
        },
    )
    return validate(engine, load_manifest(manifest), ValidateOptions(jobs=1, use_cache=False))


def _image(report: Report) -> ImageReport:
    (image,) = report.images
    return image


def test_the_root_cause_is_one_failed_check(report: Report) -> None:
    image = _image(report)
    assert image.build.status.value == "built"
    failed = [c for c in image.checks if c.status is CheckStatus.FAILED]
    assert [c.id for c in failed] == ["python.interpreter"]
    cause, fix = failed[0].message.splitlines()
    assert cause.startswith(ROOT_CAUSE), cause
    assert "no python3 in /usr/bin or /usr/local/bin" in cause
    assert fix.startswith("fix: build the venv in a stage FROM the same base")
    assert failed[0].value == ["/opt/venv/bin/python -> /usr/bin/python3"]
    assert not report.ok


def test_probe_fed_checks_are_skipped_not_errors(report: Report) -> None:
    checks = {c.id: c for c in _image(report).checks}
    assert not [c for c in checks.values() if c.status is CheckStatus.ERROR]
    for id in ("probe", "python.runs", "python.version", "imports", "files", "user", "packages"):
        assert checks[id].status is CheckStatus.SKIPPED, checks[id]
    assert "python.interpreter failed" in checks["imports"].message
    assert checks["probe"].message.startswith("the probe could not run in the image: ")
    # what metadata proves by itself is still judged
    assert checks["healthcheck"].status is CheckStatus.PASSED
    assert checks["size"].status is CheckStatus.PASSED


def test_the_facts_come_from_the_archive(report: Report) -> None:
    facts = _image(report).facts
    assert facts is not None and "probe_version" not in facts
    interpreter = facts["interpreter"]
    assert interpreter["dangling"] is True
    assert interpreter["links"] == ["/opt/venv/bin/python -> /usr/bin/python3"]
    assert (interpreter["venv"], interpreter["venv_home"]) == ("/opt/venv", "/usr/local/bin")
    assert interpreter["pythons"] == []


def test_every_report_format_shows_the_cause(report: Report) -> None:
    terminal = TerminalFormat().format(report)
    assert "python.interpreter failed: /opt/venv/bin/python → /usr/bin/python3" in terminal
    assert "probe did not run" not in terminal
    markdown = MarkdownFormat().format(report)
    assert "`python.interpreter`" in markdown and ROOT_CAUSE in markdown
    data = json.loads(JsonFormat().format(report))
    (image,) = data["images"]
    (check,) = [c for c in image["checks"] if c["id"] == "python.interpreter"]
    assert check["status"] == "failed" and check["message"].startswith(ROOT_CAUSE)
    assert data["summary"]["error"] == 0


def test_nothing_is_left_behind(engine: Engine, report: Report) -> None:
    mine = [
        c
        for c in engine.docker.containers(all=True, filters={"label": LABEL_RUN})
        if c["Labels"][LABEL_RUN].startswith(SESSION_RUN)
    ]
    assert not mine
    assert _image(report).build.tag is None
    assert not engine.docker.images(name="stablebuild/no-python-*")

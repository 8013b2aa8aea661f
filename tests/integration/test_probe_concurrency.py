"""The real probe in a locked-down container (real engine): its commands started ahead give the
very facts it gathers one after another, in the target interpreter and through a venv's.

It runs in the session's FFmpeg fixture image (Debian's python3 and ffmpeg, a venv with six);
every container is removed.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from tests.support import SESSION_RUN

from stablebuild.engine import Engine
from stablebuild.engine.client import LABEL_RUN
from stablebuild.engine.containers import run_locked
from stablebuild.probe import parse_output, probe_source
from stablebuild.probe.probe import SLOTS

pytestmark = pytest.mark.docker

RUN_ID = f"{SESSION_RUN}-probe-concurrency"
REQUESTS = {
    # The probe runs in the target interpreter: Debian's python3, which has no pip.
    "here": {
        "interpreter": "python3",
        "imports": ["json", "sqlite3", "ssl", "asyncio", "no_such_module_x"],
        "pip_check": True,
        "files": ["/etc/passwd", "/nonexistent"],
        "ffmpeg": {"smoke": ["libx264", "libnope"]},
    },
    # The probe re-runs itself in the venv's interpreter (pip check runs there) beside ffmpeg.
    "venv": {
        "interpreter": "/opt/venv/bin/python",
        "imports": ["six", "json"],
        "pip_check": True,
        "ffmpeg": {"smoke": []},
    },
}


def _source(slots: int) -> str:
    """The probe as sent, itself and the copy it re-runs in another interpreter alike, with
    `slots` commands started ahead (0: each runs when its section reads it)."""
    line = f"SLOTS = {SLOTS} "
    assert probe_source().count(line) == 2
    return probe_source().replace(line, f"SLOTS = {slots} ")


def _probe(engine: Engine, image: str, request: dict[str, Any], slots: int) -> dict[str, Any]:
    source = _source(slots)
    result = run_locked(
        engine, image, ["python3", "-c", source, json.dumps(request)], run_id=RUN_ID, timeout=300
    )
    assert result.exit_code == 0, result.stderr
    facts = parse_output(result.stdout)
    assert facts is not None, result.stdout
    return facts


def _printed(facts: dict[str, Any]) -> str:
    """The facts as printed, less the encodes' own durations (they differ run to run)."""
    for result in (facts.get("ffmpeg") or {}).get("smoke", {}).values():
        result["seconds"] = None
    return json.dumps(facts, sort_keys=True)


@pytest.mark.parametrize("name", sorted(REQUESTS))
def test_started_ahead_the_facts_are_the_sequential_ones(
    engine: Engine, ffmpeg_image: str, name: str
) -> None:
    request = REQUESTS[name]
    sequential = _probe(engine, ffmpeg_image, request, slots=0)
    overlapping = _probe(engine, ffmpeg_image, request, slots=SLOTS)
    assert _printed(overlapping) == _printed(sequential)
    assert overlapping["errors"] == []
    assert overlapping["ffmpeg"]["ffmpeg"]["found"] is True
    assert overlapping["ffmpeg"]["encoders"]["libx264"] == "video"
    assert overlapping["python"]["runs"] is True
    if name == "here":
        assert overlapping["pip_check"]["output"] == "pip is not installed"
        assert overlapping["ffmpeg"]["smoke"]["libx264"]["ok"] is True
    else:
        assert overlapping["pip_check"]["ran"] is True
        assert overlapping["imports"]["six"]["version"] == "1.16.0"
    found = engine.docker.containers(all=True, filters={"label": f"{LABEL_RUN}={RUN_ID}"})
    assert found == []

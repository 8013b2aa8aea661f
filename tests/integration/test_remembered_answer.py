"""The program answers an unchanged stack from its remembered answer (real engine, the program
run as users run it): every report format byte for byte as the full command's, and any change
to what the answer depends on runs the full command again."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from tests.integration.conftest import write_stack

pytestmark = pytest.mark.docker

FORMATS = {"json": "r.json", "markdown": "r.md", "junit": "r.xml", "sarif": "r.sarif"}
# What differs between two runs by nature: the run's id and its times.
_RUN_ID = re.compile(r"\d{14}-[0-9a-f]{6}")
_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\+00:00|Z)?")
_DURATION = re.compile(r'(time|timestamp)="[^"]*"')


def _normal(text: str) -> str:
    return _DURATION.sub(r'\1="T"', _TIME.sub("TIME", _RUN_ID.sub("RUN", text)))


@pytest.fixture
def stack(python_image: str, tmp_path: Path) -> Path:
    root = tmp_path / "stack"
    write_stack(
        root,
        {
            "requirements.txt": "six==1.16.0\n",
            "app/main.py": "print('hello')\n",
            "Dockerfile": f"FROM {python_image}\nCOPY app /app\n",
            ".dockerignore": ".git\n",
            "stablebuild.yml": """
                version: 1
                name: remembered
                python: "3.11"
                requirements: [requirements.txt]
                images:
                  app:
                    dockerfile: Dockerfile
                    interpreter: /opt/venv/bin/python
                    imports: [six]
                    files: [/app/main.py]
            """,
        },
    )
    return root


class Program:
    """`stablebuild -v validate STACK -o ...` in a process of its own, the same command line
    every time (the memo's key), its outputs kept per call."""

    def __init__(self, stack: Path, tmp_path: Path) -> None:
        self.stack = stack
        self.out = tmp_path / "out"
        self.out.mkdir()
        self.env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
        self.env["XDG_CONFIG_HOME"] = str(tmp_path / "config")  # the memos' signing key
        self.env.pop("PYTHONDONTWRITEBYTECODE", None)
        self.argv = [sys.executable, "-m", "stablebuild", "-v", "validate", str(stack)]
        self.argv += ["--history", "off"]
        for fmt, name in FORMATS.items():
            self.argv += ["-o", f"{fmt}:{self.out / name}"]

    def __call__(self) -> dict[str, str]:
        done = subprocess.run(
            self.argv, env=self.env, capture_output=True, text=True, timeout=600, check=False
        )
        got = {"code": str(done.returncode), "stdout": done.stdout, "stderr": done.stderr}
        got |= {fmt: (self.out / name).read_text() for fmt, name in FORMATS.items()}
        return got


def test_an_unchanged_stack_is_answered_as_the_full_command_would(
    stack: Path, tmp_path: Path
) -> None:
    program = Program(stack, tmp_path)
    first = program()  # builds and checks
    assert first["code"] == "0", first["stderr"]
    assert "answer not remembered: an image was built" in first["stderr"]
    full = program()  # everything from the cache: the full command, remembered
    assert "answer remembered" in full["stderr"]
    fast = program()
    assert "remembered answer" in fast["stderr"], fast["stderr"]
    assert fast["code"] == full["code"] == "0"
    for name in ("stdout", *FORMATS):
        assert _normal(fast[name]) == _normal(full[name]), name
    assert json.loads(fast["json"])["run_id"] != json.loads(full["json"])["run_id"]

    # What the answer does not depend on: the command's own -o files, stablebuild's folder.
    (stack / ".stablebuild").mkdir(exist_ok=True)
    (stack / ".stablebuild" / "note").write_text("x")
    assert "remembered answer" in program()["stderr"]

    # A change to the build context: the full command, which rebuilds the image.
    (stack / "app" / "main.py").write_text("print('changed')\n")
    changed = program()
    assert "remembered answer" not in changed["stderr"]
    assert json.loads(changed["json"])["images"][0]["build"]["status"] == "built"


def test_an_image_the_engine_lost_is_rebuilt(stack: Path, tmp_path: Path) -> None:
    program = Program(stack, tmp_path)
    program()
    full = program()
    assert "answer remembered" in full["stderr"]
    image_id = json.loads(full["json"])["images"][0]["build"]["image_id"]
    subprocess.run(["docker", "rmi", "-f", image_id], capture_output=True, check=True)
    again = program()
    assert "remembered answer" not in again["stderr"]
    assert json.loads(again["json"])["images"][0]["build"]["status"] == "built"

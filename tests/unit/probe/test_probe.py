"""The probe runs here too (it is stdlib only): link facts, interpreter facts, the JSON line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from stablebuild.probe import parse_output, probe_source
from stablebuild.probe.probe import MARKER, file_facts, link_facts


def test_dangling_venv_symlink_is_named(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "pyvenv.cfg").write_text("home = /usr/local/bin\n")
    os.symlink("/usr/local/bin/python3.99", venv / "bin" / "python")
    facts = link_facts(str(venv / "bin" / "python"))
    assert facts["dangling"] is True
    assert facts["exists"] is False
    assert "/usr/local/bin/python3.99" in facts["error"]
    assert facts["venv"]["is_venv"] is True


def test_link_chain_of_a_working_interpreter() -> None:
    facts = link_facts(sys.executable)
    assert facts["exists"] is True and facts["dangling"] is False
    assert facts["resolved"] == os.path.realpath(sys.executable)


def test_files(tmp_path: Path) -> None:
    (tmp_path / "a").write_text("x")
    facts = file_facts([str(tmp_path / "a"), str(tmp_path / "b")])
    assert facts[str(tmp_path / "a")]["exists"] is True
    assert facts[str(tmp_path / "b")] == {"exists": False, "type": None, "mode": None}


def test_whole_probe_prints_one_facts_line() -> None:
    request = {"interpreter": sys.executable, "imports": ["json", "no_such_module_x"]}
    proc = subprocess.run(
        [sys.executable, "-c", probe_source(), json.dumps(request)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    facts = parse_output(proc.stdout)
    assert facts is not None
    assert facts["python"]["runs"] is True
    assert facts["python"]["version"] == ".".join(map(str, sys.version_info[:3]))
    assert facts["imports"]["json"]["ok"] is True
    assert "No module named 'no_such_module_x'" in facts["imports"]["no_such_module_x"]["error"]
    assert facts["identity"]["uid"] == os.getuid()


def test_a_module_printing_at_import_does_not_corrupt_the_facts(tmp_path: Path) -> None:
    (tmp_path / "noisy.py").write_text(f"print('{MARKER}not json')\n")
    request = {"interpreter": sys.executable, "imports": ["noisy"], "pip_check": False}
    proc = subprocess.run(
        [sys.executable, "-c", probe_source(), json.dumps(request)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(tmp_path)},
        timeout=120,
    )
    facts = parse_output(proc.stdout)
    assert facts is not None and facts["imports"]["noisy"]["ok"] is True

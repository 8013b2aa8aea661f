"""The temporary file `atomic.write_text` writes first: beside the target, never one that already
exists, gone after a failure; and made without loading `tempfile` (a remembered answer writes
its history and `-o` files through here)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from stablebuild import atomic


def test_a_temporary_name_already_taken_is_never_reused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    draws = iter([b"\x01" * 6, b"\x01" * 6, b"\x02" * 6])
    monkeypatch.setattr(os, "urandom", lambda n: next(draws))
    taken = tmp_path / f".report.json.{'01' * 6}.tmp"
    taken.write_text("another writer's")
    atomic.write_text(tmp_path / "report.json", '{"status": "passed"}\n')
    assert (tmp_path / "report.json").read_text() == '{"status": "passed"}\n'
    assert taken.read_text() == "another writer's"
    assert sorted(p.name for p in tmp_path.iterdir()) == [taken.name, "report.json"]


def test_a_failed_write_leaves_the_old_file_and_no_temporary_one(tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    target.write_text("old")
    with pytest.raises(UnicodeEncodeError):
        atomic.write_text(target, "half a surrogate: \ud800")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]


def test_a_long_name_still_fits(tmp_path: Path) -> None:
    target = tmp_path / ("r" * 250 + ".json")
    atomic.write_text(target, "{}")
    assert target.read_text() == "{}"


def test_writing_loads_neither_tempfile_nor_shutil() -> None:
    code = (
        "import json, sys, stablebuild.atomic\nsys.stdout.write(json.dumps(sorted(sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    loaded = set(json.loads(done.stdout))
    assert {"tempfile", "shutil", "random", "bz2", "lzma"} & loaded == set()


def test_what_a_crash_may_lose_is_written_without_waiting_for_the_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reports, history, hooks: fsynced before they replace the old file. The validation cache:
    not (an entry a crash empties is read as a miss), and still whole or not at all."""
    from stablebuild.cache import ValidationCache

    synced: list[int] = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd))[1])
    atomic.write_text(tmp_path / "report.json", "{}\n")
    assert len(synced) == 1
    cache = ValidationCache(tmp_path / "cache")
    cache.put_build("inputs", {"image_id": "sha256:" + "a" * 64, "seconds": 1.5})
    cache.put_results("key", {"checks": []})
    cache.mark_passed("shop", "api", "inputs")
    assert len(synced) == 1
    assert cache.build("inputs") == {"image_id": "sha256:" + "a" * 64, "seconds": 1.5}
    assert cache.last_passed("shop", "api") == "inputs"
    (tmp_path / "cache" / "validate" / "results" / "key.json").write_text("")  # a crash's
    assert cache.results("key") is None  # a miss, never an error
    leftovers = [p.name for p in (tmp_path / "cache").rglob(".*.tmp")]
    assert leftovers == []

"""What a remembered answer's replay (verdict.py) leaves behind: an answer is printed and its
run recorded once in the history, a miss shows and records nothing (the full command does
both), and a required store is reached only for an answer."""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from tests.unit import test_remembered_answer as remembered
from tests.unit.test_remembered_answer import BASE, IMAGE, FakeEngine, environ, make_memo

from stablebuild import answer, verdict

# The fake engine, the stack and the signing key's folder of the remembered answer's own tests.
engine_socket = remembered.engine_socket
stack = remembered.stack
config_home = remembered.config_home

ARGV = ["validate", ".", "-f", "json", "-q"]


def _remember(
    stack: Path, tmp_path: Path, socket: str, monkeypatch: pytest.MonkeyPatch, **history: Any
) -> None:
    """A memo of `stablebuild validate . -f json -q` in `stack`, its history as given (by
    default the SQLite file beside the manifest), and this process as that command's."""
    env = environ(tmp_path, socket)
    memo = make_memo(ARGV, stack, env)
    settings = {**memo.params["history"], "location": None, **history}
    params = {**memo.params, "outputs": [], "history": settings}
    answer.write(
        answer.Memo(**{**memo._asdict(), "params": params}), tmp_path / "cache" / "stablebuild"
    )
    monkeypatch.chdir(stack)
    for name in set(os.environ) - set(env):  # the test session's STABLEBUILD_HISTORY=off...
        monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)


def _recorded(stack: Path) -> list[str]:
    path = stack / ".stablebuild" / "history.sqlite"
    if not path.exists():
        return []
    with contextlib.closing(sqlite3.connect(path)) as db:
        return [row[0] for row in db.execute("SELECT status FROM runs")]


def test_an_answer_is_printed_and_recorded_once(
    stack: Path,
    tmp_path: Path,
    engine_socket: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _remember(stack, tmp_path, engine_socket, monkeypatch)
    assert verdict.answer(ARGV) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["stack"] == "shop"
    assert err == ""
    assert _recorded(stack) == ["passed"]


def test_a_miss_shows_nothing_and_records_nothing(
    stack: Path,
    tmp_path: Path,
    engine_socket: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _remember(stack, tmp_path, engine_socket, monkeypatch)
    FakeEngine.images = {IMAGE: IMAGE, BASE: "sha256:" + "00" * 32}  # the base was pulled again
    assert verdict.answer(ARGV) is None
    assert capsys.readouterr() == ("", "")
    assert _recorded(stack) == []


def test_a_required_store_is_reached_only_for_an_answer(
    stack: Path,
    tmp_path: Path,
    engine_socket: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (tmp_path / "not-a-store").mkdir()  # a folder where the SQLite file should be
    _remember(
        stack,
        tmp_path,
        engine_socket,
        monkeypatch,
        location=str(tmp_path / "not-a-store"),
        required=True,
    )
    FakeEngine.images = {BASE: BASE}  # the image is gone: a miss
    assert verdict.answer(ARGV) is None
    assert capsys.readouterr() == ("", "")
    FakeEngine.images = {IMAGE: IMAGE, BASE: "sha256:" + "ef" * 32}  # as remembered: an answer
    with pytest.raises(SystemExit) as leaving:  # before any output, as the full command
        verdict.answer(ARGV)
    assert leaving.value.code == 3
    out, err = capsys.readouterr()
    assert out == ""
    assert "not-a-store" in err and "--history-required" in err

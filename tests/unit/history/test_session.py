"""The history's part in a run (`HistorySession`): git asked in the background, once, and nothing
asked or recorded when the history is off."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from tests.unit.history.factories import MAIN, api_image, report

from stablebuild.history import gitinfo
from stablebuild.history.interface import GitInfo, RunQuery
from stablebuild.history.location import Location
from stablebuild.history.session import HistorySession
from stablebuild.history.store import open_store


def _no_warning(message: str, hint: str) -> None:
    raise AssertionError(f"warned: {message} ({hint})")


def test_the_run_is_recorded_with_the_git_facts_asked_on_a_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[tuple[Path, bool]] = []

    def git_info(folder: Path) -> GitInfo:
        asked.append((folder, threading.current_thread() is threading.main_thread()))
        return MAIN

    monkeypatch.setattr(gitinfo, "git_info", git_info)
    where = Location("sqlite", path=tmp_path / ".stablebuild" / "history.sqlite")
    session = HistorySession(where, tmp_path, warn=_no_warning)
    assert session.finish(report(1, [api_image(cached=True)]))
    assert session.git == MAIN
    assert asked == [(tmp_path, False)]  # once, and not on the run's own thread
    with open_store(where, create=False) as store:
        (run,) = store.runs(RunQuery("ffmpeg-api"))
    assert run.git == MAIN
    assert run.images[0].build_status == "cached"


def test_with_the_history_off_nothing_is_recorded_and_git_never_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def git_info(folder: Path) -> GitInfo:
        raise AssertionError("git was asked")

    monkeypatch.setattr(gitinfo, "git_info", git_info)
    session = HistorySession(Location("off"), tmp_path, warn=_no_warning)
    assert session.finish(report(1, [api_image()]))
    assert session.finish_audit(
        "ffmpeg-api", [], started_at="2026-11-01T09:00:00+00:00", failed=False
    )
    assert not (tmp_path / ".stablebuild").exists()

"""The history's part in a run (`HistorySession`): git asked when it opens, read once, and nothing
asked or recorded when the history is off."""

from __future__ import annotations

from collections.abc import Callable
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


def test_the_run_is_recorded_with_the_git_facts_asked_when_the_session_opens(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    events: list[str] = []

    def ask_git(folder: Path) -> Callable[[], GitInfo]:
        events.append(f"asked {folder.name}")

        def answer() -> GitInfo:
            events.append("read")
            return MAIN

        return answer

    monkeypatch.setattr(gitinfo, "ask_git", ask_git)
    where = Location("sqlite", path=tmp_path / ".stablebuild" / "history.sqlite")
    session = HistorySession(where, tmp_path, warn=_no_warning)
    assert events == [f"asked {tmp_path.name}"]  # git works while the run does
    assert session.finish(report(1, [api_image(cached=True)]))
    assert session.git == MAIN
    assert events == [f"asked {tmp_path.name}", "read"]  # once
    with open_store(where, create=False) as store:
        (run,) = store.runs(RunQuery("ffmpeg-api"))
    assert run.git == MAIN
    assert run.images[0].build_status == "cached"


def test_with_the_history_off_nothing_is_recorded_and_git_never_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def ask_git(folder: Path) -> Callable[[], GitInfo]:
        raise AssertionError("git was asked")

    monkeypatch.setattr(gitinfo, "ask_git", ask_git)
    session = HistorySession(Location("off"), tmp_path, warn=_no_warning)
    assert session.finish(report(1, [api_image()]))
    assert session.finish_audit(
        "ffmpeg-api", [], started_at="2026-11-01T09:00:00+00:00", failed=False
    )
    assert not (tmp_path / ".stablebuild").exists()

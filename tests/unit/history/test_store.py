"""The store contract, run against SQLite and a real PostgreSQL alike (`history_url`)."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest
from tests.unit.history.factories import (
    MAIN,
    api_image,
    broken_image,
    run_record,
    series,
    worker_image,
)

from stablebuild.history.interface import (
    FindingCount,
    GitInfo,
    HistoryError,
    HistoryUnavailable,
    RunKind,
    RunQuery,
    RunRecord,
)
from stablebuild.history.location import parse_location
from stablebuild.history.migrations import LATEST
from stablebuild.history.sqlite import GITIGNORE, SqliteStore
from stablebuild.history.store import open_store


def _open(url: str, **kwargs: bool):  # type: ignore[no-untyped-def]
    return open_store(parse_location(url, Path.cwd(), "--history"), **kwargs)


def test_a_run_reads_back_as_it_was_recorded(history_url: str) -> None:
    run = run_record(1, [api_image(failed=("regression.size",)), worker_image(), broken_image()])
    with _open(history_url) as store:
        store.record(run)
        (back,) = store.runs(RunQuery("ffmpeg-api"))
    assert back == run
    migrate = back.image("migrate")
    assert migrate is not None and migrate.diagnosis is not None
    assert migrate.diagnosis.startswith("pg-config-missing: psycopg2 is being built from source")
    assert migrate.log_tail is not None and "pg_config executable not found" in migrate.log_tail
    api = back.image("api")
    assert api is not None
    assert [(c.id, c.status) for c in api.failed_checks] == [("regression.size", "failed")]
    assert api.healthy_seconds == 2.5 and api.health_passed is True
    assert api.python_version == "3.12.7" and api.size_bytes == 412_000_000


def test_an_audit_keeps_its_finding_counts(history_url: str) -> None:
    audit = RunRecord(
        id="a1",
        kind=RunKind.AUDIT,
        stack="ffmpeg-api",
        started_at="2026-11-02T10:00:00+00:00",
        status="failed",
        git=MAIN,
        findings=(FindingCount("SB101", "error", 2), FindingCount("SB320", "warning", 5)),
    )
    with _open(history_url) as store:
        store.record(audit)
        store.record(run_record(1, [api_image()]))
        assert store.runs(RunQuery("ffmpeg-api", kind=RunKind.AUDIT)) == [audit]
        assert [r.kind for r in store.runs(RunQuery("ffmpeg-api"))] == [RunKind.VALIDATE]


def test_queries_select_the_newest_matching_runs_oldest_first(history_url: str) -> None:
    runs = series(12)
    feature = GitInfo("b" * 40, "feature/x", True)
    other = [
        run_record(20, [api_image()], feature),
        run_record(21, [api_image()], MAIN, profile="airgap"),
        run_record(22, [api_image()], MAIN, stack="other-stack"),
    ]
    with _open(history_url) as store:
        for run in [*runs, *other]:
            store.record(run)
        last5 = store.runs(RunQuery("ffmpeg-api", last=5, branch="main"))
        assert [r.id for r in last5] == [r.id for r in [*runs, other[1]][-5:]]
        everything = store.runs(RunQuery("ffmpeg-api", last=None))
        assert len(everything) == 14
        since = store.runs(RunQuery("ffmpeg-api", last=None, since="2026-11-01T18:00:00Z"))
        assert [r.id for r in since] == [r.id for r in [*runs[9:], *other[:2]]]
        assert store.runs(RunQuery("ffmpeg-api", branch="feature/x")) == [other[0]]
        assert store.runs(RunQuery("ffmpeg-api", profile="airgap")) == [other[1]]
        assert [r.id for r in store.runs(RunQuery("ffmpeg-api", commit="bbbbbbb"))] == [other[0].id]
        assert store.runs(RunQuery("nothing-here")) == []


def test_recording_a_run_again_replaces_it(history_url: str) -> None:
    first = run_record(1, [api_image(), worker_image()])
    again = first._replace(status="failed", images=first.images[:1])
    with _open(history_url) as store:
        store.record(first)
        store.record(again)
        assert store.runs(RunQuery("ffmpeg-api")) == [again]


def test_migrations_are_applied_once_and_a_newer_schema_is_refused(history_url: str) -> None:
    with _open(history_url) as store:
        assert store.schema_version() == LATEST
        store.record(run_record(1, [api_image()]))
    with _open(history_url) as store:  # reopening applies nothing twice, loses nothing
        assert store.schema_version() == LATEST
        assert len(store.runs(RunQuery("ffmpeg-api"))) == 1
        with store._write() as cursor:  # type: ignore[attr-defined]
            cursor.execute(
                "INSERT INTO schema_migrations (version, summary, applied_at) "
                f"VALUES ({LATEST + 1}, 'from the future', '2030-01-01T00:00:00+00:00')"
            )
    with pytest.raises(HistoryError, match="written by a newer stablebuild"):
        _open(history_url)


def test_two_runs_recorded_at_once_are_both_kept(history_url: str) -> None:
    _open(history_url).close()  # migrated first, as by the first validate ever
    runs = [run_record(n, [api_image(), worker_image(), broken_image()]) for n in range(8)]
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(runs))

    def record(run: RunRecord) -> None:
        try:
            with _open(history_url) as store:
                barrier.wait(timeout=30)
                store.record(run)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=record, args=(run,)) for run in runs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    with _open(history_url) as store:
        assert sorted(r.id for r in store.runs(RunQuery("ffmpeg-api", last=None))) == sorted(
            r.id for r in runs
        )


def test_first_use_by_two_processes_at_once_migrates_once(history_url: str) -> None:
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def first_use() -> None:
        try:
            barrier.wait(timeout=30)
            _open(history_url).close()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=first_use) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    with _open(history_url) as store:
        assert store.schema_version() == LATEST


# --- SQLite only ------------------------------------------------------------------------


def test_the_default_sqlite_store_is_git_ignored_and_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / ".stablebuild" / "history.sqlite"
    SqliteStore(path).close()
    assert (tmp_path / ".stablebuild" / ".gitignore").read_text() == GITIGNORE
    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_missing_sqlite_store_is_not_created_by_a_reader(tmp_path: Path) -> None:
    path = tmp_path / ".stablebuild" / "history.sqlite"
    with pytest.raises(HistoryUnavailable, match="nothing was recorded there yet"):
        SqliteStore(path, create=False)
    assert not (tmp_path / ".stablebuild").exists()


def test_a_symlinked_history_folder_is_never_followed(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / "stack").mkdir()
    (tmp_path / "stack" / ".stablebuild").symlink_to(elsewhere)
    with pytest.raises(HistoryUnavailable, match="symbolic link"):
        SqliteStore(tmp_path / "stack" / ".stablebuild" / "history.sqlite")
    assert list(elsewhere.iterdir()) == []


def test_a_file_that_is_not_a_history_is_unavailable_not_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite"
    path.write_text("not a database, but someone's notes\n" * 100)
    with pytest.raises(HistoryUnavailable, match=r"history\.sqlite"):
        SqliteStore(path)
    assert path.read_text().startswith("not a database")


# --- PostgreSQL only --------------------------------------------------------------------


def test_an_unreachable_postgresql_is_unavailable_and_hides_the_password() -> None:
    from tests.history_support import free_port

    url = f"postgresql://ci:s3cret-pw@127.0.0.1:{free_port()}/builds"
    with pytest.raises(HistoryUnavailable) as caught:
        _open(url)
    text = f"{caught.value.message} {caught.value.hint}"
    assert "127.0.0.1" in text
    assert "s3cret-pw" not in text and "ci:***@" in text


def test_runs_started_in_the_same_second_keep_the_order_they_were_recorded(
    history_url: str,
) -> None:
    first = run_record(1, [api_image(400.0)])
    same_second = [first._replace(id=run_id) for run_id in ("zz-first", "mm-second", "aa-third")]
    with _open(history_url) as store:
        for run in same_second:
            store.record(run)
        assert [r.id for r in store.runs(RunQuery("ffmpeg-api"))] == [
            "zz-first", "mm-second", "aa-third",
        ]  # fmt: skip
        assert [r.id for r in store.runs(RunQuery("ffmpeg-api", last=1))] == ["aa-third"]


def test_a_store_written_before_migration_2_is_migrated_and_keeps_its_runs(
    history_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import stablebuild.history.sql as sql
    from stablebuild.history.migrations import MIGRATIONS

    with monkeypatch.context() as old:  # the stablebuild that knew migration 1 only
        old.setattr(sql, "MIGRATIONS", MIGRATIONS[:1])
        old.setattr(sql, "LATEST", 1)
        with _open(history_url) as store:
            assert store.schema_version() == 1
            with store._write() as cursor:  # type: ignore[attr-defined]
                cursor.execute(
                    "INSERT INTO runs (id, kind, stack, tool_version, started_at, status, "
                    "complete) VALUES ('old-run', 'validate', 'ffmpeg-api', '0.1.0', "
                    "'2026-10-01T08:00:00+00:00', 'passed', TRUE)"
                )
    with _open(history_url) as store:
        assert store.schema_version() == LATEST >= 2
        store.record(run_record(1, [api_image()]))
        old_run, new_run = store.runs(RunQuery("ffmpeg-api"))
    assert old_run.id == "old-run" and old_run.images == () and old_run.complete
    assert new_run.started_at == "2026-11-01T10:00:00+00:00"

"""`stablebuild history` and `stablebuild report`, and the history's part in `audit` (the
run recorded after). Its part in `validate` is in `verdict.py`, shared with a remembered
answer."""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from stablebuild.cli import values
from stablebuild.cli.root import EXIT_ENGINE, EXIT_USAGE, app, err, report_error
from stablebuild.errors import UsageError
from stablebuild.history.formats import HistoryFormat

if TYPE_CHECKING:
    from stablebuild.history.interface import (
        AuditTotals,
        HistoryError,
        HistoryStore,
        RunRecord,
        RunWindow,
    )
    from stablebuild.history.location import Location
    from stablebuild.history.releases import ReleaseEvent

# NOTE: manifest/load.py's MANIFEST_NAMES, asked here first: reading another stack's history
# (`--stack NAME --history URL`, no manifest in DIR) need not load the manifest's parser.
MANIFEST_NAMES = ("stablebuild.yml", "stablebuild.yaml")
DEFAULT_LAST = 20
REPORT_LAST = 200
DETAILED_RUNS = 30  # the HTML report's newest runs, read with their logs and check messages


def _fail(exc: HistoryError) -> NoReturn:
    """One line and the hint; exit 3 for a store that cannot be reached, else 2."""
    from stablebuild.history.interface import HistoryUnavailable

    report_error(exc)
    raise typer.Exit(EXIT_ENGINE if isinstance(exc, HistoryUnavailable) else EXIT_USAGE)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector held off while a window of runs is read and reduced.

    NOTE: `--last 10000` makes some 200,000 tuples, floats and ints, none of which can be in a
    cycle; each collection the allocations trigger walks them and every module loaded, for a
    tenth of the command's time. Whatever they leave behind is collected afterwards.
    """
    paused = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()


# --- history and report -------------------------------------------------------------------


def _since(text: str | None) -> str | None:
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(
            f"--since {text!r}: not a date", "write YYYY-MM-DD or an ISO 8601 time"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds")


def _where(
    directory: Path,
    manifest_path: Path | None,
    profile: str | None,
    location: str | None,
    stack: str | None,
) -> tuple[str, Location, list[str]]:
    """The stack's name, its history location and its images' order."""
    from stablebuild.history.location import OFF, resolve_location

    path = manifest_path
    if path is None and any(os.path.lexists(directory / name) for name in MANIFEST_NAMES):
        from stablebuild.manifest.load import find_manifest

        path = find_manifest(directory)
    if path is not None:
        from stablebuild.manifest.load import load_manifest

        manifest = load_manifest(path, profile, inside=None if manifest_path else directory)
        where = resolve_location(
            location, os.environ, manifest.history, manifest.root, manifest_file=str(path)
        )
        name, order = stack or manifest.name, list(manifest.images)
    elif stack is not None:
        where = resolve_location(location, os.environ, None, directory.resolve())
        name, order = stack, []
    else:
        raise UsageError(
            f"no stablebuild.yml in {directory}",
            "run in the stack's folder, pass --manifest PATH, or --stack NAME (with --history)",
        )
    if where.kind == OFF:
        raise UsageError("the history is off (history: off)", "name a store with --history")
    return name, where, order


def _missing(where: Location) -> bool:
    """True (after saying so) when no SQLite file was ever written where the history should be."""
    if where.kind == "sqlite" and where.path is not None and not os.path.lexists(where.path):
        err.print(
            f"no history at {where.where} yet: `stablebuild validate` records one", markup=False
        )
        return True
    return False


def _releases(store: HistoryStore, stack: str) -> list[ReleaseEvent]:
    """The stack's promotions and rollbacks; none from a store that keeps no release log."""
    from stablebuild.history.releases import release_log
    from stablebuild.history.sql import SqlStore

    return release_log(store, stack) if isinstance(store, SqlStore) else []


def _read(
    where: Location, stack: str, last: int | None, since: str | None, branch: str | None,
    profile: str | None, *, details: int = 0,
) -> tuple[list[RunRecord], list[RunRecord], list[ReleaseEvent]]:  # fmt: skip
    """Validate runs, audits and releases in the window; nothing when no file was ever written.

    Runs are read without their log tails and check messages, except the newest `details`.
    """
    from stablebuild.history.interface import HistoryError, RunKind, RunQuery
    from stablebuild.history.store import open_store

    if _missing(where):
        return [], [], []
    store: HistoryStore | None = None
    query = RunQuery(stack, last=last, since=since, branch=branch, profile=profile, details=False)
    try:
        store = open_store(where, create=False)
        runs = store.runs(query)
        if details and runs:
            newest = store.runs(query._replace(last=min(details, len(runs)), details=True))
            detailed = {run.id: run for run in newest}
            runs = [detailed.get(run.id, run) for run in runs]
        audits = store.runs(query._replace(kind=RunKind.AUDIT))
        releases = _releases(store, stack)
    except HistoryError as exc:
        _fail(exc)
    finally:
        if store is not None:
            store.close()
    return runs, audits, releases


def _read_window(
    where: Location, stack: str, last: int | None, since: str | None, branch: str | None,
    profile: str | None,
) -> tuple[RunWindow | None, AuditTotals | None, list[ReleaseEvent]]:  # fmt: skip
    """What the KPI table needs, as columns: no record per run (thousands cost seconds)."""
    from stablebuild.history.interface import HistoryError, RunQuery
    from stablebuild.history.store import open_store

    if _missing(where):
        return None, None, []
    store: HistoryStore | None = None
    query = RunQuery(stack, last=last, since=since, branch=branch, profile=profile, details=False)
    try:
        store = open_store(where, create=False)
        return store.window(query), store.audit_totals(query), _releases(store, stack)
    except HistoryError as exc:
        _fail(exc)
    finally:
        if store is not None:
            store.close()


DirectoryArg = Annotated[
    Path, typer.Argument(callback=values.existing_folder, help="The stack's folder.")
]
ManifestOpt = Annotated[
    Path | None,
    typer.Option(
        "--manifest", "-m", callback=values.existing_file, help="Default: DIR/stablebuild.yml."
    ),
]
ProfileOpt = Annotated[
    str | None,
    typer.Option(callback=values.name, help="Manifest profile; only runs made with it."),
]
HistoryOpt = Annotated[
    str | None,
    typer.Option(
        "--history",
        callback=values.name,
        help="The store: postgresql://USER@HOST:PORT/DB or a SQLite PATH (default: "
        "$STABLEBUILD_HISTORY, the manifest's history:, DIR/.stablebuild/history.sqlite).",
    ),
]
StackOpt = Annotated[
    str | None,
    typer.Option(callback=values.name, help="The stack's name (default: the manifest's)."),
]
BranchOpt = Annotated[
    str | None, typer.Option(callback=values.name, help="Only runs on this git branch.")
]
SinceOpt = Annotated[
    str | None,
    typer.Option(callback=values.name, help="Only runs started on or after, e.g. 2026-11-01."),
]


@app.command("history")
def history_cmd(
    directory: DirectoryArg = Path("."),
    manifest: ManifestOpt = None,
    profile: ProfileOpt = None,
    history: HistoryOpt = None,
    stack: StackOpt = None,
    last: Annotated[
        int | None,
        typer.Option(
            callback=values.at_least_one,
            help=f"The newest N runs (default {DEFAULT_LAST}; all with --since).",
        ),
    ] = None,
    since: SinceOpt = None,
    branch: BranchOpt = None,
    fmt: Annotated[
        HistoryFormat, typer.Option("--format", "-f", help="Output format on stdout.")
    ] = HistoryFormat.TERMINAL,
) -> None:
    """The KPI table of the recorded runs: success, build time, size, start time, health."""
    from stablebuild.history.interface import RunWindow
    from stablebuild.history.kpi import window_table

    since_at = _since(since)
    name, where, order = _where(directory, manifest, profile, history, stack)
    window = last if last is not None else (None if since_at else DEFAULT_LAST)
    filters = {"last": window, "since": since_at, "branch": branch, "profile": profile}
    with _collector_paused():
        runs, audits, releases = _read_window(where, name, window, since_at, branch, profile)
        table = window_table(name, runs or RunWindow(), order, audits, releases)
        if fmt is not HistoryFormat.TERMINAL:
            from stablebuild.history.tables import render

            typer.echo(render(table, fmt, filters), nl=False)
            return
    # NOTE: rich only here: json, markdown and csv are read by scripts, start-up counts.
    from rich.console import Console

    from stablebuild.history.tables import terminal

    console = Console(highlight=False, emoji=False)
    console.print(terminal(table, filters, console.width))


@app.command("report")
def report_cmd(
    html: Annotated[
        Path,
        typer.Option("--html", help="The HTML file to write (one self-contained page)."),
    ],
    directory: DirectoryArg = Path("."),
    manifest: ManifestOpt = None,
    profile: ProfileOpt = None,
    history: HistoryOpt = None,
    stack: StackOpt = None,
    last: Annotated[
        int, typer.Option(callback=values.at_least_one, help="The newest N runs.")
    ] = REPORT_LAST,
    since: SinceOpt = None,
    branch: BranchOpt = None,
) -> None:
    """An HTML build report from the history: latest matrix, failures, KPIs, trend charts."""
    from stablebuild import atomic
    from stablebuild.history.html import render_html
    from stablebuild.outputs import target_problem
    from stablebuild.paths import shown

    problem = target_problem(html)  # before any work: a typo must not cost the query
    if problem is not None:
        raise UsageError(f"--html {shown(html)}: {problem}", "name a regular file in a folder")
    since_at = _since(since)
    name, where, order = _where(directory, manifest, profile, history, stack)
    runs, audits, releases = _read(
        where, name, last, since_at, branch, profile, details=DETAILED_RUNS
    )
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    page = render_html(name, runs, audits=audits, order=order, generated_at=now, releases=releases)
    try:
        atomic.write_text(html, page)
    except OSError as exc:
        raise UsageError(f"--html {shown(html)}: {exc.strerror or exc}", "check the path") from None
    err.print(
        f"report written to {shown(html)} ({len(runs)} runs, {len(page) / 1024:.0f} KiB)",
        markup=False,
    )

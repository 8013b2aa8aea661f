"""`stablebuild promote`, `rollback` and `releases`: release channels over the history store.

Everything heavy (the store, the engine, the use case) is imported inside the commands.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from stablebuild.cli import values
from stablebuild.cli.history import DirectoryArg, HistoryOpt, ManifestOpt, ProfileOpt, _fail
from stablebuild.cli.root import app, err
from stablebuild.errors import UsageError

if TYPE_CHECKING:
    from stablebuild.history.interface import HistoryStore
    from stablebuild.manifest.model import Manifest

ChannelOpt = Annotated[
    str, typer.Option("--channel", "-c", callback=values.name, help="The release channel.")
]


def _manifest(directory: Path, manifest_path: Path | None, profile: str | None) -> Manifest:
    from stablebuild.manifest.load import find_manifest, load_manifest

    path = manifest_path or find_manifest(directory)
    if path is None:
        raise UsageError(f"no stablebuild.yml in {directory}", "run in the stack's folder")
    return load_manifest(path, profile, inside=None if manifest_path else directory)


def _store(manifest: Manifest, location: str | None, *, create: bool) -> HistoryStore:
    from stablebuild.history.interface import HistoryError
    from stablebuild.history.location import OFF, resolve_location
    from stablebuild.history.store import open_store

    where = resolve_location(
        location, os.environ, manifest.history, manifest.root, manifest_file=str(manifest.path)
    )
    if where.kind == OFF:
        raise UsageError("the history is off (history: off)", "name a store with --history")
    try:
        return open_store(where, create=create)
    except HistoryError as exc:
        _fail(exc)


def _short(image_id: str) -> str:
    return image_id.removeprefix("sha256:")[:12]


@app.command("promote")
def promote_cmd(
    directory: DirectoryArg = Path("."),
    channel: ChannelOpt = "stable",
    run: Annotated[
        str | None,
        typer.Option("--run", callback=values.name, help="This run (default: latest passing)."),
    ] = None,
    allow_dirty: Annotated[
        bool, typer.Option("--allow-dirty", help="Promote from a tree with uncommitted changes.")
    ] = False,
    push: Annotated[
        bool,
        typer.Option("--push", help="Push the channel's tags to the template's registry."),
    ] = False,
    manifest: ManifestOpt = None,
    profile: ProfileOpt = None,
    history: HistoryOpt = None,
) -> None:
    """Tag the images of the latest passing, complete run as CHANNEL; the older set becomes
    CHANNEL-previous. Refuses a failed or incomplete run, gone images or a dirty tree."""
    from stablebuild.engine import connect
    from stablebuild.engine.apiengine import ApiEngine
    from stablebuild.history.interface import HistoryError
    from stablebuild.release import Actor, promote

    stack = _manifest(directory, manifest, profile)
    store = _store(stack, history, create=False)
    try:
        engine = ApiEngine(connect())
        event = promote(
            stack, store, engine, channel, actor=Actor.here(stack), run_id=run,
            allow_dirty=allow_dirty, push=push,
        )  # fmt: skip
    except HistoryError as exc:
        _fail(exc)
    finally:
        store.close()
    images = ", ".join(f"{name} {_short(i)}" for name, i in event.images.items())
    err.print(f"promoted run {event.run_id} to {channel}: {images}", markup=False)
    if event.note:
        err.print(event.note, markup=False)


@app.command("rollback")
def rollback_cmd(
    directory: DirectoryArg = Path("."),
    channel: ChannelOpt = "stable",
    to: Annotated[
        str | None,
        typer.Option("--to", callback=values.name, help="Back to the set this run promoted."),
    ] = None,
    no_verify: Annotated[
        bool, typer.Option("--no-verify", help="Do not probe and trial-run the images after.")
    ] = False,
    manifest: ManifestOpt = None,
    profile: ProfileOpt = None,
    history: HistoryOpt = None,
) -> None:
    """Move CHANNEL back to the previous promoted set, then verify it (probe, trial run and the
    stack phase, no rebuild); a failed verification is exit 1."""
    from stablebuild.engine import connect
    from stablebuild.engine.apiengine import ApiEngine
    from stablebuild.history.interface import HistoryError
    from stablebuild.release import Actor, rollback

    stack = _manifest(directory, manifest, profile)
    store = _store(stack, history, create=False)
    try:
        engine = ApiEngine(connect())
        event = rollback(
            stack, store, engine, channel, actor=Actor.here(stack), to=to, verify=not no_verify
        )
    except HistoryError as exc:
        _fail(exc)
    finally:
        store.close()
    how = event.note or "verified"
    err.print(f"{channel} rolled back to run {event.run_id} ({how})", markup=False)


@app.command("releases")
def releases_cmd(
    directory: DirectoryArg = Path("."),
    channel: Annotated[
        str | None, typer.Option("--channel", "-c", callback=values.name, help="Only this one.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON on stdout.")] = False,
    manifest: ManifestOpt = None,
    profile: ProfileOpt = None,
    history: HistoryOpt = None,
) -> None:
    """The promotions and rollbacks of this stack's channels, oldest first."""
    import json

    from stablebuild.history.interface import HistoryError
    from stablebuild.history.releases import release_log

    stack = _manifest(directory, manifest, profile)
    store = _store(stack, history, create=False)
    try:
        events = release_log(store, stack.name, channel)
    except HistoryError as exc:
        _fail(exc)
    finally:
        store.close()
    if as_json:
        typer.echo(json.dumps([e.to_json() for e in events], indent=2))
        return
    if not events:
        err.print(f"no promotions of {stack.name} yet", markup=False)
        return
    for e in events:
        images = " ".join(f"{n}={_short(i)}" for n, i in e.images.items())
        commit = (e.commit or "-")[:10]
        note = f"  {e.note}" if e.note else ""
        typer.echo(
            f"{e.at}  {e.channel:<10} {e.action:<8} {e.run_id}  {e.who}  {commit}  {images}{note}"
        )

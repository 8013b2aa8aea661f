"""`stablebuild vulndb update DIR` and `stablebuild vulndb show PATH`: the vulnerability database
the audit reads offline (`--vuln-db`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from stablebuild.cli import values
from stablebuild.cli.root import EXIT_ENGINE, app, err
from stablebuild.errors import UsageError
from stablebuild.paths import shown

vulndb_app = typer.Typer(
    rich_markup_mode=None,  # NOTE: click's plain help: rich's renderer costs 0.2 s a --help
    no_args_is_help=True,
    help="The vulnerability database `stablebuild audit --vuln-db` reads offline.",
)
app.add_typer(vulndb_app, name="vulndb")


@vulndb_app.command("update")
def update_cmd(
    folder: Annotated[
        Path,
        typer.Argument(callback=values.name, help="Where to keep it (created if missing)."),
    ],
    url: Annotated[
        str | None,
        typer.Option(
            callback=values.url,
            help="Where to fetch the zip from (a mirror; default: GitHub's zip of "
            "pypa/advisory-database).",
        ),
    ] = None,
    timeout: Annotated[
        float, typer.Option(callback=values.seconds, help="Seconds to wait for the server.")
    ] = 60.0,
) -> None:
    """Fetch the PyPA advisory database (OSV) into DIR/vulns; then audit with --vuln-db DIR."""
    from stablebuild.audit.vulndb import VulnDbError
    from stablebuild.audit.vulndb.update import PYPA_ZIP_URL, update

    if folder.exists() and not folder.is_dir():
        raise UsageError(f"{shown(folder)}: not a folder", "name a folder (created if missing)")
    try:
        done = update(folder, url or PYPA_ZIP_URL, timeout=timeout)
    except VulnDbError as exc:
        # NOTE: the source is out of reach (or sent something else): a store unavailable, 3
        err.print(f"error: {exc}", markup=False)
        raise typer.Exit(EXIT_ENGINE) from None
    typer.echo(
        f"{done.advisories} advisories for {done.packages} packages from {done.url} in "
        f"{shown(done.folder)} ({done.seconds:.1f} s); audit with --vuln-db {shown(done.folder)}"
    )


@vulndb_app.command("show")
def show_cmd(
    path: Annotated[
        Path, typer.Argument(help="A database: OSV folder or zip, or insecure_full.json.")
    ],
    package: Annotated[
        list[str] | None,
        typer.Option(callback=values.name, help="List this package's advisories (repeatable)."),
    ] = None,
) -> None:
    """Say what a database holds (its format, how many packages), without the network."""
    from stablebuild.audit.vulndb import VulnDbError, open_database

    try:
        db = open_database(path)
        names = db.packages()
        typer.echo(f"{shown(path)}: {db.kind} database, advisories for {len(names)} packages")
        for wanted in package or ():
            for advisory in db.advisories(wanted):
                ranges = "; ".join(r.text for r in advisory.ranges) or "listed versions"
                rated = f" [{advisory.severity}]" if advisory.severity else ""
                ids = ", ".join(advisory.ids) or "(no id)"
                typer.echo(f"  {advisory.package}  {ids}{rated}  {ranges}  {advisory.summary}")
    except VulnDbError as exc:
        raise UsageError(str(exc), "pass an OSV folder or zip, or insecure_full.json") from None

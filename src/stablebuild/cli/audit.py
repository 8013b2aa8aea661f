"""`stablebuild audit [DIR]`: find what will break the build, from the files on disk alone."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from stablebuild import atomic
from stablebuild.audit.options import DEFAULT_INDEX_URL, AuditFormat, AuditOptions, FailOn
from stablebuild.cli.app import app, err
from stablebuild.errors import UsageError

if TYPE_CHECKING:
    from stablebuild.manifest.model import Manifest


@app.command()
def audit(
    directory: Annotated[
        Path, typer.Argument(help="The repository (or stack folder) to audit.")
    ] = Path("."),
    output_format: Annotated[
        AuditFormat, typer.Option("--format", help="Output format.")
    ] = AuditFormat.TABLE,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the report to FILE.")
    ] = None,
    fail_on: Annotated[
        FailOn, typer.Option(help="Exit 1 when a finding is at least this severe.")
    ] = FailOn.ERROR,
    offline: Annotated[
        bool, typer.Option(help="Use only cached package-index answers; no network.")
    ] = False,
    index_url: Annotated[
        str, typer.Option(help="PEP 691 simple API root (a mirror).")
    ] = DEFAULT_INDEX_URL,
    vuln_db: Annotated[
        Path | None,
        typer.Option(help="Local vulnerability database (safety's insecure_full.json)."),
    ] = None,
    online_vulns: Annotated[
        bool, typer.Option(help="Fetch the public vulnerability database when reachable.")
    ] = False,
    python: Annotated[
        list[str] | None,
        typer.Option("--python", help="Another target Python for wheel coverage (repeatable)."),
    ] = None,
    platform: Annotated[
        list[str] | None,
        typer.Option("--platform", help="Wheel platform tag to cover (repeatable)."),
    ] = None,
    no_hadolint: Annotated[
        bool, typer.Option("--no-hadolint", help="Skip hadolint's generic Dockerfile lint.")
    ] = False,
    manifest_path: Annotated[
        Path | None,
        typer.Option("--manifest", help="Stack manifest (default: DIR/stablebuild.yml)."),
    ] = None,
    profile: Annotated[str | None, typer.Option(help="Manifest profile to apply.")] = None,
) -> None:
    """Audit Python versions, pins, wheel coverage, Dockerfiles, compose, CI and vulnerabilities."""
    # NOTE: imported here, not at the top: every command pays for what the CLI imports.
    from stablebuild.audit.format import formatter
    from stablebuild.audit.format.table import renderable
    from stablebuild.audit.runner import exit_code, run_audit

    if not directory.is_dir():
        raise UsageError(f"{directory}: not a directory", "pass the repository to audit")
    if vuln_db is not None and not vuln_db.is_file():
        raise UsageError(f"--vuln-db {vuln_db}: no such file")
    if output is not None and not output.parent.is_dir():
        raise UsageError(f"--output {output}: folder {output.parent} does not exist")
    manifest = _manifest(directory, manifest_path, profile)
    options = AuditOptions(
        offline=offline,
        index_url=index_url,
        vuln_db=vuln_db,
        online_vulns=online_vulns,
        hadolint=not no_hadolint,
        python_targets=tuple(python or ()),
        platforms=tuple(platform or ()),
    )
    result = run_audit(directory, options, manifest)
    if output is None and output_format is AuditFormat.TABLE:
        Console(highlight=False, soft_wrap=False).print(renderable(result))
    else:
        text = formatter(output_format).format(result)
        if output is None:
            typer.echo(text, nl=False)
        else:
            write_atomically(output, text)
            counts = result.counts()
            summary = ", ".join(f"{n} {s}" for s, n in counts.items() if n) or "no findings"
            err.print(f"audit: {summary}; report written to {output}", markup=False)
    raise typer.Exit(exit_code(result, fail_on))


def _manifest(directory: Path, path: Path | None, profile: str | None) -> Manifest | None:
    if path is None:
        from stablebuild.audit.project import MANIFEST_NAMES

        path = next((directory / n for n in MANIFEST_NAMES if (directory / n).is_file()), None)
        if path is None:
            if profile is not None:
                raise UsageError("--profile needs a manifest", "add stablebuild.yml or --manifest")
            return None
    elif not path.is_file():
        raise UsageError(f"--manifest {path}: no such file")
    # NOTE: imported here so the command works (and its tests run) while the loader evolves.
    from stablebuild.manifest.load import load_manifest

    return load_manifest(path, profile)


def write_atomically(path: Path, text: str) -> None:
    """Write the whole report or nothing."""
    try:
        atomic.write_text(path, text)
    except OSError as exc:
        raise UsageError(f"--output {path}: {exc.strerror or exc}") from None

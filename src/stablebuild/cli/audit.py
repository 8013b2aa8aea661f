"""`stablebuild audit [DIR]`: find what will break the build, from the files on disk alone."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from stablebuild.audit.options import DEFAULT_INDEX_URL, AuditFormat, AuditOptions, FailOn
from stablebuild.cli import values
from stablebuild.cli.app import app, output_exit_code, write_outputs
from stablebuild.errors import UsageError
from stablebuild.outputs import parse_targets

if TYPE_CHECKING:
    from stablebuild.manifest.model import Manifest


@app.command()
def audit(
    directory: Annotated[
        Path,
        typer.Argument(
            callback=values.existing_folder, help="The repository (or stack folder) to audit."
        ),
    ] = Path("."),
    output_format: Annotated[
        AuditFormat | None,
        typer.Option("--format", help="Report format on stdout (default: table)."),
    ] = None,
    output: Annotated[
        list[str] | None,
        typer.Option(
            "--output",
            "-o",
            help="Also write FORMAT:PATH (repeatable); a plain PATH takes its format from its "
            "suffix (.json, .md, .sarif), else from --format.",
        ),
    ] = None,
    fail_on: Annotated[
        FailOn, typer.Option(help="Exit 1 when a finding is at least this severe.")
    ] = FailOn.ERROR,
    offline: Annotated[
        bool, typer.Option(help="Use only cached package-index answers; no network.")
    ] = False,
    index_url: Annotated[
        str, typer.Option(callback=values.url, help="PEP 691 simple API root (a mirror).")
    ] = DEFAULT_INDEX_URL,
    vuln_db: Annotated[
        Path | None,
        typer.Option(
            callback=values.existing_file,
            help="Local vulnerability database (safety's insecure_full.json).",
        ),
    ] = None,
    online_vulns: Annotated[
        bool, typer.Option(help="Fetch the public vulnerability database when reachable.")
    ] = False,
    python: Annotated[
        list[str] | None,
        typer.Option(
            "--python",
            callback=values.name,
            help="Another target Python for wheel coverage (repeatable).",
        ),
    ] = None,
    platform: Annotated[
        list[str] | None,
        typer.Option(
            "--platform", callback=values.name, help="Wheel platform tag to cover (repeatable)."
        ),
    ] = None,
    no_hadolint: Annotated[
        bool, typer.Option("--no-hadolint", help="Skip hadolint's generic Dockerfile lint.")
    ] = False,
    manifest_path: Annotated[
        Path | None,
        typer.Option(
            "--manifest",
            callback=values.existing_file,
            help="Stack manifest (default: DIR/stablebuild.yml).",
        ),
    ] = None,
    profile: Annotated[
        str | None, typer.Option(callback=values.name, help="Manifest profile to apply.")
    ] = None,
) -> None:
    """Audit Python versions, pins, wheel coverage, Dockerfiles, compose, CI and vulnerabilities."""
    # NOTE: imported here, not at the top: every command pays for what the CLI imports.
    from stablebuild.audit.format import formatter
    from stablebuild.audit.format.table import renderable
    from stablebuild.audit.runner import exit_code, run_audit
    from stablebuild.report.ci_surfaces import announce_audit

    stdout_format = output_format or AuditFormat.TABLE
    # Checked before any work: a typo in -o must not cost an audit.
    targets = parse_targets(output or [], AuditFormat, fallback=stdout_format)
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
    announce_audit(result)  # workflow commands and step summary, when run in GitHub Actions
    written = write_outputs(targets, lambda fmt: formatter(fmt).format(result))
    if stdout_format is AuditFormat.TABLE:
        Console(highlight=False, soft_wrap=False, emoji=False).print(renderable(result))
    else:
        typer.echo(formatter(stdout_format).format(result), nl=False)
    code = exit_code(result, fail_on)
    raise typer.Exit(code if written else output_exit_code(code))


def _manifest(directory: Path, path: Path | None, profile: str | None) -> Manifest | None:
    named = path is not None  # one found in the audited folder must stay inside it
    if path is None:
        from stablebuild.audit.project import MANIFEST_NAMES

        path = next((directory / n for n in MANIFEST_NAMES if (directory / n).is_file()), None)
        if path is None:
            if profile is not None:
                raise UsageError("--profile needs a manifest", "add stablebuild.yml or --manifest")
            return None
    # NOTE: imported here so the command works (and its tests run) while the loader evolves.
    from stablebuild.manifest.load import load_manifest

    return load_manifest(path, profile, inside=None if named else directory)

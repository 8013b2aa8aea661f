"""`stablebuild audit [DIR]`: find what will break the build, from the files on disk alone.

Every option left out falls back on its STABLEBUILD_* variable, stablebuild.yml, pyproject.toml
and pip's settings, merged in `stablebuild.config` (docs/configuration.md).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from stablebuild import config, urls
from stablebuild.audit.options import AuditFormat, AuditOptions, FailOn
from stablebuild.cli import values
from stablebuild.cli.root import app, detail, err
from stablebuild.errors import UsageError
from stablebuild.outputs import parse_targets
from stablebuild.paths import shown

if TYPE_CHECKING:
    from stablebuild.audit.result import AuditResult
    from stablebuild.manifest.model import Manifest


def _explain(value: str | None) -> None:
    """`--explain RULE`: the rule's whole declaration on stdout, then exit 0."""
    if value is None:
        return
    from stablebuild.audit import catalog
    from stablebuild.audit.rules_doc import explanation

    rule = catalog.find(value)
    if rule is None:
        close = catalog.close_to(value)
        hint = f"did you mean {' or '.join(close)}?" if close else "rule ids look like SB301"
        raise UsageError(
            f"--explain {shown(value)}: no such rule", f"{hint} (docs/rules.md lists them all)"
        )
    typer.echo(explanation(rule, value), nl=False)
    raise typer.Exit(0)


def _url(param: typer.CallbackParam, value: str | list[str] | None) -> str | list[str] | None:
    """An http(s):// or file:// URL; in the error its credentials are masked."""
    for text in [value] if isinstance(value, str) else value or []:
        if not re.fullmatch(r"(https?|file)://\S+", text):
            raise UsageError(
                f"{values.label(param)} {shown(urls.masked(text))}: not a URL",
                "write http://, https:// or file:// followed by the rest, without spaces",
            )
    return value


def _database(param: typer.CallbackParam, value: Path | None) -> Path | None:
    """A vulnerability database: a regular file or a folder that exists."""
    if value is not None and not (value.is_dir() or value.is_file()):
        return values.existing_file(param, value)  # says why, in its words
    return value


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
        typer.Option("--format", "-f", help="Report format on stdout (default: table)."),
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
        FailOn | None,
        typer.Option(
            help="Exit 1 when an active finding is at least this severe (default: error)."
        ),
    ] = None,
    rule: Annotated[
        list[str] | None,
        typer.Option(
            "--rule",
            metavar="RULE=LEVEL",
            help="A rule's level: off, info, warning or error (repeatable; SB301=off).",
        ),
    ] = None,
    baseline: Annotated[
        Path | None,
        typer.Option(
            callback=values.name,
            help="Known findings (--write-baseline): reported as baseline; only new ones fail.",
        ),
    ] = None,
    write_baseline: Annotated[
        Path | None,
        typer.Option(
            callback=values.name,
            help="Record this run's findings in FILE (then they count as baseline).",
        ),
    ] = None,
    offline: Annotated[
        bool | None,
        typer.Option(
            "--offline/--no-offline", help="Use only cached package-index answers; no network."
        ),
    ] = None,
    index_url: Annotated[
        str | None,
        typer.Option(
            callback=_url,
            help="Package index, simple API root (default: PIP_INDEX_URL, pip.conf, PyPI).",
        ),
    ] = None,
    extra_index_url: Annotated[
        list[str] | None,
        typer.Option(
            callback=_url, help="Another index pip also asks, as pip's option (repeatable)."
        ),
    ] = None,
    index_timeout: Annotated[
        float | None, typer.Option(callback=values.seconds, help="Seconds to wait for the index.")
    ] = None,
    cache_dir: Annotated[
        Path | None,
        typer.Option(callback=values.name, help="Cache of index answers and databases."),
    ] = None,
    vuln_db: Annotated[
        Path | None,
        typer.Option(
            callback=_database,
            help="Vulnerability database: an OSV folder or zip (PyPA advisory database, "
            "`stablebuild vulndb update`), or safety-db's insecure_full.json.",
        ),
    ] = None,
    online_vulns: Annotated[
        bool | None,
        typer.Option(
            "--online-vulns/--no-online-vulns",
            help="Fetch the PyPA advisory database (cached a day) when no --vuln-db is named.",
        ),
    ] = None,
    python: Annotated[
        list[str] | None,
        typer.Option(
            "--python",
            callback=values.python_version,
            help="Another target Python for wheel coverage (repeatable).",
        ),
    ] = None,
    platform: Annotated[
        list[str] | None,
        typer.Option(
            "--platform",
            callback=values.platform,
            help="Wheel platform tag or Docker platform to cover (repeatable).",
        ),
    ] = None,
    hadolint: Annotated[
        bool | None,
        typer.Option(
            "--hadolint/--no-hadolint", help="Merge hadolint's generic Dockerfile lint (default)."
        ),
    ] = None,
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
    history: Annotated[
        str | None,
        typer.Option(
            callback=values.name,
            help="Record the findings' counts here (postgresql:// URL, SQLite PATH or off).",
        ),
    ] = None,
    explain: Annotated[
        str | None,
        typer.Option(
            "--explain",
            metavar="RULE",
            is_eager=True,
            expose_value=False,
            callback=_explain,
            help="Print what a rule (e.g. SB301) catches and how to fix it, then exit.",
        ),
    ] = None,
) -> None:
    """Audit Python versions, pins, wheel coverage, Dockerfiles, compose, CI and vulnerabilities."""
    # NOTE: imported here, not at the top: every command pays for what the CLI imports.
    from stablebuild.audit import answer as remembered
    from stablebuild.audit import consulted
    from stablebuild.audit.ending import HistorySettings, Rendered, conclude, open_history
    from stablebuild.audit.runner import exit_code, options_from, run_audit

    stdout_format = output_format or AuditFormat.TABLE
    # Checked before any work: a typo in -o must not cost an audit.
    targets = parse_targets(output or [], AuditFormat, fallback=stdout_format)
    # NOTE: before anything is read: an answer is remembered only if nothing changed meanwhile
    before = remembered.prepare(directory, named=[manifest_path], outputs=[t.path for t in targets])
    manifest = _manifest(directory, manifest_path, profile)
    history_settings = HistorySettings.of(directory, manifest, history)
    session = open_history(history_settings)  # a bad --history: exit 2 now
    flags = config.Flags(
        fail_on=fail_on.value if fail_on is not None else None,
        rules=tuple(rule or ()),
        baseline=baseline,
        index_url=index_url,
        extra_index_urls=tuple(extra_index_url or ()),
        vuln_db=vuln_db,
        online_vulns=online_vulns,
        offline=offline,
        cache_dir=cache_dir,
        index_timeout=index_timeout,
        hadolint=hadolint,
        platforms=tuple(platform or ()),
        python_versions=tuple(python or ()),
    )
    settings = config.resolve(directory, flags, manifest)  # a bad value anywhere: exit 2 now
    options = options_from(settings, write_baseline=write_baseline)
    before = remembered.settle(
        before, manifest, session, cache_dir=options.cache_dir, baseline=options.baseline
    )
    with consulted.recording() as record:
        result = run_audit(directory, options, manifest)
    if write_baseline is not None:
        err.print(
            f"baseline written to {shown(write_baseline)} ({len(result.findings)} findings)",
            markup=False,
        )
    sources = _details(result, options)
    code = exit_code(result, settings.fail_on)
    rendered = Rendered(result)
    ended = conclude(rendered, stdout_format, targets, code, session, history_settings)
    why_not = remembered.remember(
        before,
        record,
        rendered,
        fmt=stdout_format,
        outputs=output or [],
        code=code,
        history=history_settings,
        details=sources,
        write_baseline=write_baseline is not None,
    )
    detail(f"answer not remembered: {why_not}" if why_not else "answer remembered")
    raise typer.Exit(ended)


def _details(result: AuditResult, options: AuditOptions) -> str:
    """What `-v` adds on stderr: where answers came from, and where the time went. The first
    line, which a remembered answer says again."""
    shown_urls = [
        urls.without_credentials(u) for u in (options.index_url, *options.extra_index_urls)
    ]
    source = "the cache only (--offline)" if options.offline else " + ".join(shown_urls)
    sources = f"package index: {source}; vulnerability database: {options.vuln_db or 'none'}"
    detail(sources)
    families = ", ".join(f"{name} {seconds:.2f} s" for name, seconds in result.timings.items())
    detail(f"{result.files_scanned} files audited in {result.seconds:.2f} s ({families})")
    return sources


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

"""`stablebuild base bootstrap`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from stablebuild.cli import values
from stablebuild.cli.root import base_app, note
from stablebuild.errors import UsageError


@base_app.command("bootstrap")
def bootstrap_cmd(
    tag: Annotated[
        str,
        typer.Option(
            callback=values.name, help="Image tag to create, e.g. stablebuild/airgap:bookworm"
        ),
    ],
    suite: Annotated[str, typer.Option(callback=values.name, help="Debian suite.")] = "bookworm",
    packages: Annotated[
        str, typer.Option(help="Comma-separated extra Debian packages to include.")
    ] = "",
    ca_bundle: Annotated[
        Path | None,
        typer.Option(
            callback=values.existing_file,
            help="PEM bundle to trust inside the image (re-signing proxies).",
        ),
    ] = None,
    mirror: Annotated[
        str, typer.Option(callback=values.url, help="Debian mirror.")
    ] = "http://deb.debian.org/debian",
    force: Annotated[bool, typer.Option(help="Rebuild even when the tag exists.")] = False,
) -> None:
    """Build a minimal Debian base image with debootstrap and import it; reused when present."""
    from stablebuild.base import BaseSpec, ensure_base
    from stablebuild.base.rootfs import spec_problem
    from stablebuild.engine import connect

    spec = BaseSpec(
        tag=tag,
        suite=suite,
        packages=tuple(p.strip() for p in packages.split(",") if p.strip()),
        ca_bundle=ca_bundle,
        mirror=mirror,
    )
    problem = spec_problem(spec)
    if problem is not None:  # before the engine: a value debootstrap would misread
        raise UsageError(f"base bootstrap: {problem}", "fix the value and run again")
    engine = connect()
    if not force:
        note(f"base {tag}: checking for a cached image")
    image = ensure_base(engine, spec, force=force)
    if image.built:
        typer.echo(f"built {image.tag} ({image.image_id[:19]}) in {image.seconds:.0f} s")
    else:
        typer.echo(f"reused {image.tag} ({image.image_id[:19]})")

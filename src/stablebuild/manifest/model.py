"""The stack manifest as frozen dataclasses: what `stablebuild.yml` means once validated.

Paths are absolute (resolved against the manifest's folder). Loading, validation with
line-numbered problems and profiles live in `stablebuild.manifest.load`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple


class FfmpegSpec(NamedTuple):
    encoders: tuple[str, ...] = ()  # must be compiled in
    smoke: tuple[str, ...] = ()  # must really encode a short generated clip


class GpuSpec(NamedTuple):
    nvenc: tuple[str, ...] = ()  # e.g. h264_nvenc, hevc_nvenc


class PackagesSpec(NamedTuple):
    forbid: tuple[str, ...] = ()  # Debian packages that must not be installed
    require: tuple[str, ...] = ()  # Debian packages that must be installed


class Budgets(NamedTuple):
    size_mb: float | None = None
    build_seconds: float | None = None


class RunSpec(NamedTuple):
    env: Mapping[str, str] = {}
    port: int | None = None
    health: str | None = None  # HTTP path answered with 2xx when healthy
    start_seconds: float = 60.0
    command: tuple[str, ...] = ()  # optional override of the image's CMD


class Placement(NamedTuple):
    """`placement:` pins an image to one engine, or to engines carrying every label."""

    engine: str | None = None
    labels: tuple[str, ...] = ()


class EngineSpec(NamedTuple):
    """One entry of `engines:`: a Docker context name, or a name with an endpoint."""

    name: str
    endpoint: str | None = None  # unix://, tcp://, ssh://; None: the context of that name
    labels: tuple[str, ...] = ()


class ImageSpec(NamedTuple):
    name: str
    dockerfile: Path
    context: Path
    target: str | None = None
    args: Mapping[str, str] = {}
    interpreter: str = "python3"  # an absolute path, or a name looked up on PATH
    imports: tuple[str, ...] = ()
    ffmpeg: FfmpegSpec | None = None
    gpu: GpuSpec | None = None
    user: str | None = None  # uid or name the image must run as; None: any non-root user
    packages: PackagesSpec = PackagesSpec()
    healthcheck: bool = False
    budgets: Budgets = Budgets()
    run: RunSpec | None = None
    files: tuple[str, ...] = ()  # absolute paths that must exist in the image
    # Build args whose values are masked (`***`), besides those whose names look secret.
    # NOTE: a sorted tuple, not a set: the spec is part of the results-cache key.
    secret_args: tuple[str, ...] = ()
    placement: Placement | None = None


class AuditSpec(NamedTuple):
    """The `audit:` section: how `stablebuild audit` treats this stack."""

    exclude: tuple[str, ...] = ()  # glob patterns, relative to the root, never audited
    exact_pins: bool = True  # requirements named by the manifest must be `==` pins
    platforms: tuple[str, ...] = ()  # wheel-coverage targets; empty: told from each base image
    python_versions: tuple[str, ...] = ()  # more targets besides `python`
    vuln_db: Path | None = None  # OSV folder or zip, or safety-db's insecure_full.json
    hadolint: bool = True  # run hadolint when installed
    hadolint_severity: str = "warning"  # the most severe a hadolint finding can be
    rules: tuple[tuple[str, str], ...] = ()  # (rule id, off | info | warning | error)
    fail_on: str | None = None  # error | warning | never; None: not set here
    baseline: Path | None = None  # known findings (may not exist yet: --write-baseline)
    index_url: str | None = None  # the package index; None: not set here
    extra_index_urls: tuple[str, ...] = ()


class PollSpec(NamedTuple):
    """`then_poll:` of an http smoke step: GET `path` until the JSON answer matches `until`."""

    path: str  # `{field}` is replaced by that field of the first answer's JSON, e.g. {id}
    until: Mapping[str, str]  # JSON field (dotted for nested) -> the value as written in YAML
    fail_when: Mapping[str, str] = {}  # stop early: a terminal failure
    timeout_seconds: float = 60.0
    interval_seconds: float = 1.0


class HttpStep(NamedTuple):
    """One HTTP request to a service of the stack, on the port compose published for it."""

    service: str
    path: str
    method: str = "GET"
    port: int | None = None  # the container port; None: the service's only one
    json_file: str | None = None  # as written, relative to the manifest
    json_body: str | None = None  # that file's text, read (and parsed) at load
    form: Mapping[str, str] = {}  # sent url-encoded
    expect_status: int = 200
    timeout_seconds: float = 30.0
    then_poll: PollSpec | None = None


class ExecStep(NamedTuple):
    """A command run in a service's running container; it passes when it exits 0."""

    service: str
    command: tuple[str, ...]
    timeout_seconds: float = 60.0


SmokeStep = HttpStep | ExecStep


class StackSpec(NamedTuple):
    """The `stack:` section: after the images pass, compose runs them together and smoke-tests."""

    compose: tuple[Path, ...]  # combined in this order, as `docker compose -f ... -f ...`
    services: Mapping[str, str]  # compose service -> the manifest image it runs
    profiles: tuple[str, ...] = ()  # compose profiles to enable
    build: tuple[str, ...] = ()  # supporting services compose builds for the run
    healthy: tuple[str, ...] = ()  # services waited on until healthy
    wait_seconds: float = 120.0
    smoke: tuple[SmokeStep, ...] = ()


class ReleaseSpec(NamedTuple):
    """`release:` how promoted images are tagged (docs/releases.md)."""

    tag: str = "{stack}/{image}:{channel}"  # fields: {stack} {image} {channel}
    keep: int = 5  # numbered older sets kept behind `{channel}-previous`


class Manifest(NamedTuple):
    path: Path  # the stablebuild.yml file
    root: Path  # its folder; relative paths resolve against it
    name: str
    python: str | None  # the version every image must match, e.g. "3.12.7"
    python_source: str  # where it came from: ".python-version" or "stablebuild.yml"
    python_match: str = "minor"  # "minor": 3.12 == 3.12.7; "patch": exact
    requirements: tuple[Path, ...] = ()
    images: Mapping[str, ImageSpec] = {}
    ca_bundle: Path | None = None  # extra CA trusted during builds
    audit: AuditSpec = AuditSpec()
    profile: str | None = None
    version: int = 1
    stack: StackSpec | None = None  # the stack phase of validate, when the manifest has one
    history: str | None = None  # where runs are recorded: a URL, sqlite:PATH or off
    engines: tuple[EngineSpec, ...] = ()  # empty: the current Docker context only
    release: ReleaseSpec = ReleaseSpec()  # promote / rollback tags

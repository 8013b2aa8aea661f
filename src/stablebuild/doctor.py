"""`stablebuild doctor`: what this machine can and cannot do for a validation run, one line each."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from enum import Enum
from pathlib import Path
from typing import Any

from stablebuild.engine.apiengine import ApiEngine
from stablebuild.engine.bases import needed_bases
from stablebuild.engine.client import Engine, connect
from stablebuild.engine.dockerpy import pull as pull_image
from stablebuild.engine.engines import manifest_engines
from stablebuild.engine.interface import EngineInterface
from stablebuild.errors import EngineError, EngineUnavailable
from stablebuild.manifest.model import EngineSpec, Manifest

__all__ = [
    "DoctorLine",
    "Status",
    "base_lines",
    "diagnose",
    "engine_lines",
    "manifest_engines",
    "stack_bases",
]

HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
PROBE_IMAGE = "hello-world:latest"


class Status(str, Enum):
    OK = "ok"
    PROBLEM = "problem"
    INFO = "info"


@dataclass(frozen=True)
class DoctorLine:
    topic: str
    status: Status
    detail: str
    hint: str = ""


def ca_bundle_in_use() -> Path | None:
    """The CA bundle TLS clients here will use: SSL_CERT_FILE, else the host bundle."""
    for var in ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE"):
        value = os.environ.get(var)
        if value:
            return Path(value)
    return HOST_CA_BUNDLE if HOST_CA_BUNDLE.exists() else None


def _ca_line() -> DoctorLine:
    bundle = ca_bundle_in_use()
    if bundle is None or not bundle.is_file():
        return DoctorLine(
            "ca-bundle",
            Status.PROBLEM,
            f"no CA bundle found ({bundle or HOST_CA_BUNDLE})",
            "install ca-certificates, or pass --ca-bundle FILE to builds",
        )
    count = bundle.read_text(errors="replace").count("BEGIN CERTIFICATE")
    return DoctorLine(
        "ca-bundle",
        Status.OK,
        f"{bundle} ({count} certificates)",
        "behind a re-signing proxy: --ca-bundle, or `ca_bundle:` in stablebuild.yml",
    )


def _engine_line(engine: Engine) -> DoctorLine:
    info = engine.info
    detail = (
        f"server {info.get('ServerVersion', '?')}, API {engine.api_version}, "
        f"storage {info.get('Driver', '?')}, {'rootless' if engine.rootless else 'rootful'}"
    )
    return DoctorLine("engine", Status.OK, detail)


def _nvidia_line(engine: Engine) -> DoctorLine:
    if engine.has_nvidia_runtime:
        return DoctorLine("nvidia-runtime", Status.OK, "registered with the engine")
    return DoctorLine(
        "nvidia-runtime",
        Status.INFO,
        f"not registered (runtimes: {', '.join(engine.runtimes) or 'none'}): "
        "NVENC encode checks will be skipped",
        "on a GPU host install nvidia-container-toolkit and run `nvidia-ctk runtime configure`",
    )


def _registry_line(timeout: float) -> DoctorLine:
    """Pull a tiny image with a short timeout: is the default registry reachable?"""
    outcome: dict[str, Any] = {}

    def pull() -> None:
        try:
            pull_image(PROBE_IMAGE, timeout)
            outcome["ok"] = True
        except EngineError as exc:
            outcome["error"] = exc.message[:160]

    thread = threading.Thread(target=pull, daemon=True)
    thread.start()
    thread.join(timeout)
    if outcome.get("ok"):
        return DoctorLine("registry", Status.OK, f"pulled {PROBE_IMAGE}")
    reason = outcome.get("error", f"no answer within {timeout:g} s")
    return DoctorLine(
        "registry",
        Status.PROBLEM,
        f"default registry unreachable: {reason}",
        "build from a local base: stablebuild base bootstrap --suite bookworm "
        "--tag stablebuild/airgap:bookworm",
    )


def _disk_line(engine: Engine, min_free_gb: float = 10.0) -> DoctorLine:
    root = str(engine.info.get("DockerRootDir") or "/var/lib/docker")
    if not os.path.isdir(root):
        return DoctorLine("disk", Status.INFO, f"{root} is not on this machine (remote engine)")
    free_gb = shutil.disk_usage(root).free / 1024**3
    if free_gb < min_free_gb:
        return DoctorLine(
            "disk",
            Status.PROBLEM,
            f"{free_gb:.1f} GiB free under {root}",
            "free space: docker system prune, or `stablebuild clean`",
        )
    return DoctorLine("disk", Status.OK, f"{free_gb:.1f} GiB free under {root}")


def _debootstrap_line() -> DoctorLine:
    path = shutil.which("debootstrap")
    if path:
        return DoctorLine("debootstrap", Status.OK, path)
    return DoctorLine(
        "debootstrap",
        Status.INFO,
        "not installed: `stablebuild base bootstrap` cannot build air-gapped bases",
        "apt-get install -y debootstrap",
    )


def _named(line: DoctorLine, name: str) -> DoctorLine:
    return replace(line, topic=f"{line.topic} {name}")


def stack_bases(manifest: Manifest) -> dict[str, list[str]]:
    """The images the stack's builds start FROM (args substituted), each with the stack's
    images that need it."""
    needed: dict[str, list[str]] = {}
    for spec in manifest.images.values():
        for base in needed_bases(spec.dockerfile, spec.args, spec.target):
            needed.setdefault(base, []).append(spec.name)
    return needed


def base_lines(
    engines: Sequence[EngineInterface], bases: Mapping[str, Sequence[str]]
) -> list[DoctorLine]:
    """For each engine, whether the stack's bases are there. One missing on an engine but on
    another is copied by `validate`; one on no engine must come from a registry."""
    if not bases:
        return []
    present: dict[str, set[str]] = {}
    lines = []
    for engine in engines:
        name = engine.capabilities.name
        try:
            present[name] = {base for base in bases if engine.image_exists(base)}
        except EngineError as exc:
            lines.append(DoctorLine(f"bases {name}", Status.PROBLEM, exc.message, exc.hint))
    anywhere = set().union(*present.values())
    for name in present:
        missing = [base for base in bases if base not in present[name]]
        if not missing:
            lines.append(DoctorLine(f"bases {name}", Status.OK, "all there: " + ", ".join(bases)))
            continue
        nowhere = [base for base in missing if base not in anywhere]
        detail = "missing: " + "; ".join(
            f"{base} (for {', '.join(bases[base])}"
            + (", on no engine)" if base in nowhere else ", copied from another engine)")
            for base in missing
        )
        lines.append(
            DoctorLine(
                f"bases {name}",
                Status.PROBLEM if nowhere else Status.INFO,
                detail,
                f"pull {nowhere[0]} there, or build a local base there: "
                f"`stablebuild base bootstrap --tag {nowhere[0]}`"
                if nowhere
                else "validate copies it (save/load) before the first build that needs it",
            )
        )
    return lines


def engine_lines(
    specs: Sequence[EngineSpec], bases: Mapping[str, Sequence[str]] | None = None
) -> tuple[list[DoctorLine], bool]:
    """For each engine: where it answered and what it is, its NVIDIA runtime, its disk; then
    whether `bases` (base -> images needing it) are on each engine that answered."""
    from stablebuild.engine.engines import connect_engine

    lines: list[DoctorLine] = []
    answered = False
    seams: list[EngineInterface] = []
    for spec in specs:
        try:
            seam = connect_engine(spec, timeout=30)
        except EngineUnavailable as exc:
            lines.append(DoctorLine(f"engine {spec.name}", Status.PROBLEM, exc.message, exc.hint))
            continue
        answered = True
        seams.append(seam)
        caps = seam.capabilities
        memory = f"{caps.memory_bytes / 1024**3:.1f} GiB" if caps.memory_bytes else "?"
        head = _engine_line(seam.engine)
        detail = (
            f"{caps.endpoint}: {head.detail}, {caps.os_arch}, {caps.cpus or '?'} CPUs, "
            f"{memory} memory" + (f", labels {', '.join(caps.labels)}" if caps.labels else "")
        )
        lines.append(DoctorLine(f"engine {caps.name}", Status.OK, detail))
        lines.append(_named(_nvidia_line(seam.engine), caps.name))
        lines.append(_named(_disk_line(seam.engine), caps.name))
    return [*lines, *base_lines(seams, bases or {})], answered


def diagnose(
    registry_timeout: float = 5.0,
    engines: Sequence[EngineSpec] | None = None,
    stack: Manifest | None = None,
) -> tuple[list[DoctorLine], bool]:
    """Every doctor line, and whether an engine answered (with `engines`: any of them); with
    `stack`, whether its bases are on each engine."""
    bases = stack_bases(stack) if stack is not None else {}
    if engines:
        lines, answered = engine_lines(engines, bases)
        common = [_debootstrap_line(), _ca_line()]
        if answered:
            common.insert(0, _registry_line(registry_timeout))
        return [*lines, *common], answered
    try:
        engine = connect(timeout=30)
    except EngineUnavailable as exc:
        lines = [DoctorLine("engine", Status.PROBLEM, exc.message, exc.hint)]
        return [*lines, _debootstrap_line(), _ca_line()], False
    lines = [
        _engine_line(engine),
        _nvidia_line(engine),
        _registry_line(registry_timeout),
        _disk_line(engine),
        *(replace(line, topic="bases") for line in base_lines([ApiEngine(engine)], bases)),
        _debootstrap_line(),
        _ca_line(),
    ]
    return lines, True

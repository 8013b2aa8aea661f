"""Build a minimal Debian image without any registry: debootstrap, then `docker import`.

This is how stablebuild builds where Docker Hub cannot be reached. The image is cached by tag:
it is rebuilt only when missing (or when asked to).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from stablebuild.engine.apiengine import find_image
from stablebuild.engine.client import Engine
from stablebuild.engine.dockerpy import import_rootfs
from stablebuild.errors import BootstrapError

DEFAULT_MIRROR = "http://deb.debian.org/debian"
CA_PATH = "/usr/local/share/stablebuild/ca-bundle.crt"
LABEL_BASE = "org.stablebuild.base"
# NOTE: the suite and packages are written into `docker import` changes (Dockerfile lines) and
# sources.list, the mirror into sources.list: each must be one plain word.
_SUITE = re.compile(r"[a-z][a-z0-9.-]*")
_PACKAGE = re.compile(r"[a-z0-9][a-z0-9+.-]+")
_MIRROR = re.compile(r"(?:https?|file)://[^\s\x00-\x1f\x7f]+")


def spec_problem(spec: BaseSpec) -> str | None:
    """Why `spec` cannot be bootstrapped as given (a value that is not one plain word), or None."""
    if not _SUITE.fullmatch(spec.suite):
        return f"suite {spec.suite!r} is not a Debian suite name (e.g. bookworm)"
    for package in spec.packages:
        if not _PACKAGE.fullmatch(package):
            return f"{package!r} is not a Debian package name"
    if not _MIRROR.fullmatch(spec.mirror):
        return f"mirror {spec.mirror!r} is not an http(s):// or file:// URL without spaces"
    return None


@dataclass(frozen=True)
class BaseSpec:
    """What to bootstrap: the Debian suite, extra packages and an optional CA bundle to trust."""

    tag: str
    suite: str = "bookworm"
    packages: Sequence[str] = field(default_factory=tuple)
    ca_bundle: Path | None = None
    mirror: str = DEFAULT_MIRROR


@dataclass(frozen=True)
class BaseImage:
    tag: str
    image_id: str
    built: bool  # False when the cached image was reused
    seconds: float


def _sources_list(suite: str, mirror: str) -> str:
    security = mirror.replace("/debian", "/debian-security")
    return (
        f"deb {mirror} {suite} main\n"
        f"deb {mirror} {suite}-updates main\n"
        f"deb {security} {suite}-security main\n"
    )


def _changes(spec: BaseSpec) -> list[str]:
    path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    changes = [
        f"ENV PATH={path}",
        "ENV LANG=C.UTF-8",
        'CMD ["bash"]',
        f"LABEL {LABEL_BASE}={spec.suite}",
    ]
    if spec.packages:
        changes.append(f"LABEL org.stablebuild.base.packages={','.join(spec.packages)}")
    if spec.ca_bundle is not None:
        # NOTE: not /etc/ssl/certs/ca-certificates.crt: apt's ca-certificates regenerates that
        # file, so a bundle put there is lost as soon as an image installs it.
        for var in ("SSL_CERT_FILE", "PIP_CERT", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
            changes.append(f"ENV {var}={CA_PATH}")
    return changes


def _find_image(engine: Engine, tag: str) -> str | None:
    return find_image(engine, tag)


def bootstrap(engine: Engine, spec: BaseSpec) -> BaseImage:
    """debootstrap `spec.suite` into a temporary folder and import it as `spec.tag`."""
    problem = spec_problem(spec)
    if problem is not None:
        raise BootstrapError(problem, "fix the value and run again")
    debootstrap = shutil.which("debootstrap")
    if debootstrap is None:
        raise BootstrapError(
            "debootstrap is not installed", "install it: apt-get install -y debootstrap"
        )
    if os.geteuid() != 0:
        raise BootstrapError(
            "debootstrap needs root to build a root file system",
            "run `stablebuild base bootstrap` as root (or with sudo)",
        )
    if spec.ca_bundle is not None and not spec.ca_bundle.is_file():
        raise BootstrapError(
            f"CA bundle {spec.ca_bundle} does not exist", "pass an existing PEM file to --ca-bundle"
        )
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="stablebuild-rootfs-") as tmp:
        root = Path(tmp) / "rootfs"
        cmd = [debootstrap, "--variant=minbase"]
        if spec.packages:
            cmd.append("--include=" + ",".join(spec.packages))
        cmd += [spec.suite, str(root), spec.mirror]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            last = (proc.stdout + proc.stderr).strip().splitlines()[-1:] or ["no output"]
            raise BootstrapError(
                f"debootstrap {spec.suite} failed: {last[0]}",
                f"check that {spec.mirror} answers and the suite and package names exist",
            )
        (root / "etc/apt/sources.list").write_text(_sources_list(spec.suite, spec.mirror))
        for cache in ("var/cache/apt/archives", "var/lib/apt/lists"):
            for item in (root / cache).glob("*"):
                if item.is_file():
                    item.unlink()
        if spec.ca_bundle is not None:
            target = root / CA_PATH.lstrip("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(spec.ca_bundle, target)
        tarball = Path(tmp) / "rootfs.tar"
        subprocess.run(
            ["tar", "--numeric-owner", "-C", str(root), "-cf", str(tarball), "."], check=True
        )
        import_rootfs(engine, tarball, spec.tag, _changes(spec))
    image_id = _find_image(engine, spec.tag)
    if image_id is None:
        raise BootstrapError(f"docker import did not produce {spec.tag}", "see the engine's log")
    return BaseImage(spec.tag, image_id, built=True, seconds=time.monotonic() - started)


def ensure_base(engine: Engine, spec: BaseSpec, force: bool = False) -> BaseImage:
    """Reuse the image tagged `spec.tag` when it exists; bootstrap it otherwise."""
    existing = None if force else _find_image(engine, spec.tag)
    if existing is not None:
        return BaseImage(spec.tag, existing, built=False, seconds=0.0)
    return bootstrap(engine, spec)

"""How an audit runs: what the user asked for on the command line (or the manifest)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

from stablebuild.audit.format.interface import AuditFormat as AuditFormat
from stablebuild.config import DEFAULT_INDEX_URL as DEFAULT_INDEX_URL
from stablebuild.config import default_cache_dir as default_cache_dir


class FailOn(str, Enum):
    """`stablebuild audit --fail-on`: the least severe finding that makes the exit code 1."""

    ERROR = "error"
    WARNING = "warning"
    NEVER = "never"


@dataclass(frozen=True)
class AuditOptions:
    offline: bool = False  # use only cached index answers; never touch the network
    index_url: str = DEFAULT_INDEX_URL  # simple API root (PEP 691 or 503); may hold credentials
    extra_index_urls: tuple[str, ...] = ()  # pip's extra-index-url: asked for every pin too
    cache_dir: Path = field(default_factory=default_cache_dir)
    index_timeout: float = 10.0
    vuln_db: Path | None = None  # OSV folder or zip, or safety-db's insecure_full.json
    online_vulns: bool = False  # fetch the PyPA advisory database when asked and reachable
    hadolint: bool = True  # merge hadolint's findings when the binary is installed
    python_targets: tuple[str, ...] = ()  # extra target Pythons from the command line
    # wheel platform tags (manylinux_2_28_aarch64) or Docker platforms (linux/arm64: the
    # architecture only); empty: the manifest's, else told from each image's base
    platforms: tuple[str, ...] = ()
    rules: tuple[tuple[str, str], ...] = ()  # (rule id, off | info | warning | error)
    baseline: Path | None = None  # known findings: reported as such, never failing
    write_baseline: Path | None = None  # record this run's findings there, then use them

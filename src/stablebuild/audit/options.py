"""How an audit runs: what the user asked for on the command line (or the manifest)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

DEFAULT_INDEX_URL = "https://pypi.org/simple"


class AuditFormat(str, Enum):
    """`stablebuild audit --format`."""

    TABLE = "table"
    JSON = "json"
    MARKDOWN = "markdown"
    SARIF = "sarif"
    CODEQUALITY = "codequality"  # GitLab Code Quality JSON
    GITHUB = "github"  # `file:line: severity rule message` lines, for problem matchers


class FailOn(str, Enum):
    """`stablebuild audit --fail-on`: the least severe finding that makes the exit code 1."""

    ERROR = "error"
    WARNING = "warning"
    NEVER = "never"


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "stablebuild"


@dataclass(frozen=True)
class AuditOptions:
    offline: bool = False  # use only cached index answers; never touch the network
    index_url: str = DEFAULT_INDEX_URL  # PEP 691 simple API root
    cache_dir: Path = field(default_factory=default_cache_dir)
    index_timeout: float = 10.0
    vuln_db: Path | None = None  # local database in safety's open format (insecure_full.json)
    online_vulns: bool = False  # fetch safety's public database when asked and reachable
    hadolint: bool = True  # merge hadolint's findings when the binary is installed
    python_targets: tuple[str, ...] = ()  # extra target Pythons from the command line
    # wheel platform tags (manylinux_2_28_aarch64) or Docker platforms (linux/arm64: the
    # architecture only); empty: the manifest's, else told from each image's base
    platforms: tuple[str, ...] = ()

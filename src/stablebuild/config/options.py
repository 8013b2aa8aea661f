"""Every option of an audit: where each can be written (`OPTIONS`), what the command line set
(`Flags`), and the values in force (`Settings`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stablebuild.paths import default_cache_dir as default_cache_dir

DEFAULT_INDEX_URL = "https://pypi.org/simple"
FAIL_ON = ("error", "warning", "never")
LEVELS = ("off", "info", "warning", "error")


@dataclass(frozen=True)
class Option:
    """One setting: where it can be written. `key` is under `audit:` in stablebuild.yml and
    under [tool.stablebuild.audit] in pyproject.toml; "" where only the machine running the
    audit should decide (a cache folder, going offline)."""

    name: str
    key: str
    env: str
    flag: str
    kind: str  # fail_on | rules | path | url | urls | bool | seconds | list
    help: str


OPTIONS: tuple[Option, ...] = (
    Option("fail_on", "fail_on", "STABLEBUILD_FAIL_ON", "--fail-on", "fail_on",
           "the least severe finding that makes the exit code 1: error, warning or never"),
    Option("rules", "rules", "STABLEBUILD_RULES", "--rule", "rules",
           "per rule id: off, info, warning or error (SB301=off,SB405=error)"),
    Option("baseline", "baseline", "STABLEBUILD_BASELINE", "--baseline", "path",
           "known findings (written by --write-baseline): reported, but only new ones fail"),
    Option("index_url", "index_url", "STABLEBUILD_INDEX_URL", "--index-url", "url",
           "the package index (simple API root); then PIP_INDEX_URL, pip.conf, PyPI"),
    Option("extra_index_urls", "extra_index_urls", "STABLEBUILD_EXTRA_INDEX_URL",
           "--extra-index-url", "urls",
           "more indexes, as pip's extra-index-url; then PIP_EXTRA_INDEX_URL, pip.conf"),
    Option("vuln_db", "vuln_db", "STABLEBUILD_VULN_DB", "--vuln-db", "path",
           "vulnerability database: an OSV folder or zip, or safety-db's insecure_full.json"),
    Option("online_vulns", "", "STABLEBUILD_ONLINE_VULNS", "--online-vulns", "bool",
           "fetch the PyPA advisory database (cached a day) when no database is named"),
    Option("offline", "", "STABLEBUILD_OFFLINE", "--offline", "bool",
           "no network: cached index answers and local databases only"),
    Option("cache_dir", "", "STABLEBUILD_CACHE_DIR", "--cache-dir", "path",
           "where index answers and the fetched advisory database are kept"),
    Option("index_timeout", "", "STABLEBUILD_INDEX_TIMEOUT", "--index-timeout", "seconds",
           "seconds to wait for the package index"),
    Option("hadolint", "hadolint", "STABLEBUILD_HADOLINT", "--hadolint/--no-hadolint", "bool",
           "merge hadolint's Dockerfile lint when it is installed"),
    Option("platforms", "platforms", "STABLEBUILD_PLATFORMS", "--platform", "list",
           "wheel platforms to cover (linux/arm64, manylinux_2_28_x86_64); default: each base's"),
    Option("python_versions", "python_versions", "STABLEBUILD_PYTHON", "--python", "list",
           "more target Pythons for wheel coverage, added to those the files name"),
)  # fmt: skip
BY_NAME = {option.name: option for option in OPTIONS}


@dataclass(frozen=True)
class Sourced:
    """One option's value from one place, and that place (for messages)."""

    value: Any
    source: str


Layer = dict[str, Sourced]  # option name -> its value from one place


@dataclass(frozen=True)
class Flags:
    """What the command line set; None (or empty) where it was silent."""

    fail_on: str | None = None
    rules: tuple[str, ...] = ()  # SB301=off, as typed
    baseline: Path | None = None
    index_url: str | None = None
    extra_index_urls: tuple[str, ...] = ()
    vuln_db: Path | None = None
    online_vulns: bool | None = None
    offline: bool | None = None
    cache_dir: Path | None = None
    index_timeout: float | None = None
    hadolint: bool | None = None
    platforms: tuple[str, ...] = ()
    python_versions: tuple[str, ...] = ()


@dataclass(frozen=True)
class Settings:
    """Every option's value in force, and where each came from (`sources`: option name ->
    `--fail-on`, `STABLEBUILD_FAIL_ON`, `stablebuild.yml`, `pyproject.toml:12`, `PIP_INDEX_URL`,
    a pip.conf path; absent: the default). Index URLs may hold credentials: never print them
    (`stablebuild.urls.without_credentials`)."""

    fail_on: str = "error"
    rules: tuple[tuple[str, str], ...] = ()  # (rule id, level), sorted
    baseline: Path | None = None
    index_url: str = DEFAULT_INDEX_URL
    extra_index_urls: tuple[str, ...] = ()
    vuln_db: Path | None = None
    online_vulns: bool = False
    offline: bool = False
    cache_dir: Path = field(default_factory=default_cache_dir)
    index_timeout: float = 10.0
    hadolint: bool = True
    platforms: tuple[str, ...] = ()
    python_versions: tuple[str, ...] = ()
    pyproject: Path | None = None  # the pyproject.toml read, if any
    sources: Mapping[str, str] = field(default_factory=dict)

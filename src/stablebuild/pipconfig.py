"""Which package indexes pip would use here: `PIP_INDEX_URL`, `PIP_EXTRA_INDEX_URL` and pip's
configuration files, read with the precedence `pip config list` shows.

Files, least to most important: global (`$XDG_CONFIG_DIRS/pip/pip.conf`, `/etc/pip.conf`), user
(`~/.pip/pip.conf`, `$XDG_CONFIG_HOME/pip/pip.conf`), site (`sys.prefix/pip.conf`), then the
file `PIP_CONFIG_FILE` names (`os.devnull` there: no file at all); then `PIP_*` variables. In
the end `[install]` overrides `[global]` (whichever file each is in); `index_url` and
`index-url` are the same key.
Nothing here is printed: the URLs may carry credentials.
"""

from __future__ import annotations

import configparser
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from stablebuild import textfile

SECTIONS = ("global", "install")  # later wins: `pip install` reads both, its own last
MAX_CONFIG_BYTES = 1024 * 1024


@dataclass(frozen=True)
class PipSetting:
    value: str = ""
    source: str = ""  # where it was set: `PIP_INDEX_URL`, or a file name


@dataclass(frozen=True)
class PipIndexes:
    """pip's index-url and extra-index-url here; an empty `value` when pip has none."""

    index_url: PipSetting = PipSetting()
    extra_index_urls: tuple[str, ...] = ()
    extra_source: str = ""


def config_files(env: Mapping[str, str], home: Path, prefix: Path) -> list[Path]:
    """pip's configuration files, least important first (existing or not)."""
    chosen = env.get("PIP_CONFIG_FILE")
    if chosen == os.devnull:
        return []
    dirs = env.get("XDG_CONFIG_DIRS") or "/etc/xdg"
    files = [Path(d) / "pip" / "pip.conf" for d in dirs.split(os.pathsep) if d]
    files.append(Path("/etc/pip.conf"))
    user_config = Path(env.get("XDG_CONFIG_HOME") or home / ".config")
    files += [home / ".pip" / "pip.conf", user_config / "pip" / "pip.conf"]
    files.append(prefix / "pip.conf")
    if chosen:
        files.append(Path(chosen))
    return files


def read_indexes(
    env: Mapping[str, str] | None = None,
    *,
    home: Path | None = None,
    prefix: Path | None = None,
) -> PipIndexes:
    """The index settings pip would use with this environment and these files."""
    env = os.environ if env is None else env
    # NOTE: as pip, a later file overrides a key of the same section only; then [install]
    # overrides [global] whichever file each came from, and PIP_* overrides both.
    by_section: dict[tuple[str, str], PipSetting] = {}
    for path in config_files(env, home or Path.home(), prefix or Path(sys.prefix)):
        for (section, key), value in _file_settings(path).items():
            by_section[section, key] = PipSetting(value, str(path))
    found: dict[str, PipSetting] = {}
    for section in SECTIONS:
        found |= {key: value for (where, key), value in by_section.items() if where == section}
    for key in ("index-url", "extra-index-url"):
        name = "PIP_" + key.upper().replace("-", "_")
        if env.get(name):
            found[key] = PipSetting(env[name], name)
    index = found.get("index-url", PipSetting())
    extra = found.get("extra-index-url", PipSetting())
    return PipIndexes(
        PipSetting(index.value.strip(), index.source),
        tuple(extra.value.split()),  # pip splits on any whitespace, newlines included
        extra.source,
    )


def _file_settings(path: Path) -> dict[tuple[str, str], str]:
    """(section, key) -> value for index-url and extra-index-url in one file; {} when absent
    or unreadable (pip warns and goes on, and so do we)."""
    text = textfile.read_text(path, limit=MAX_CONFIG_BYTES)
    if isinstance(text, textfile.Unreadable):
        return {}
    parser = configparser.RawConfigParser(strict=False)
    try:
        parser.read_string(text, source=str(path))
    except configparser.Error:
        return {}
    out: dict[tuple[str, str], str] = {}
    for section in SECTIONS:
        if not parser.has_section(section):
            continue
        for key, value in parser.items(section):
            name = key.replace("_", "-")
            if name in ("index-url", "extra-index-url"):
                out[section, name] = value
    return out


__all__ = ["PipIndexes", "PipSetting", "config_files", "read_indexes"]

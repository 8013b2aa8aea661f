"""Where runs are recorded: `--history`, then `STABLEBUILD_HISTORY`, then the manifest's
`history:`, then `.stablebuild/history.sqlite` beside the manifest.

A location is `off`, a `postgresql://` (or `postgres://`) URL, `sqlite:PATH`, or a plain PATH
(a SQLite file). A password in a URL is used but never printed: `where` masks it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

from stablebuild.errors import UsageError
from stablebuild.paths import name_problem

ENV = "STABLEBUILD_HISTORY"
FOLDER = ".stablebuild"
FILE = "history.sqlite"
OFF = "off"
POSTGRES_SCHEMES = ("postgresql://", "postgres://")
_PASSWORD = re.compile(r"^(postgres(?:ql)?://[^/@:]*):[^/@]*@")
_QUERY_PASSWORD = re.compile(r"(password=)[^&]*", re.IGNORECASE)


class Location(NamedTuple):  # NOTE: not a dataclass: a remembered answer loads it (events.py)
    """One history store location. `path` for SQLite, `url` for PostgreSQL, neither when off."""

    kind: str  # sqlite | postgresql | off
    path: Path | None = None
    url: str | None = None
    default: bool = False  # the SQLite file beside the manifest, nobody named it

    @property
    def where(self) -> str:
        if self.kind == "postgresql" and self.url is not None:
            return masked_url(self.url)
        return str(self.path) if self.path is not None else OFF


def masked_url(url: str) -> str:
    """`url` with any password replaced by `***`."""
    return _QUERY_PASSWORD.sub(r"\1***", _PASSWORD.sub(r"\1:***@", url))


def parse_location(text: str, base: Path, source: str) -> Location:
    """The location `text` names; a relative SQLite path is taken from `base`.

    `source` names where the text came from, for the one-line error (exit 2).
    """
    value = text.strip()
    if value == OFF:
        return Location(OFF)
    if value.startswith(POSTGRES_SCHEMES):
        return Location("postgresql", url=value)
    if "://" in value and not value.startswith("sqlite://"):
        raise UsageError(
            f"{source} {masked_url(value)!r}: not a history store",
            "write postgresql://USER@HOST:PORT/DB, sqlite:PATH, a PATH or off",
        )
    raw = value.removeprefix("sqlite:")
    if raw.startswith("///"):
        raw = raw[2:]  # sqlite:///abs/file: the path is /abs/file
    problem = name_problem(raw) if raw else "an empty path"
    if problem is not None:
        raise UsageError(f"{source} {value!r}: {problem}", "name a SQLite file, e.g. h.sqlite")
    path = Path(raw).expanduser()
    return Location("sqlite", path=path if path.is_absolute() else base / path)


def resolve_location(
    flag: str | None,
    env: Mapping[str, str],
    manifest_value: str | None,
    manifest_root: Path,
    *,
    manifest_file: str = "stablebuild.yml",
) -> Location:
    """The location in force: the flag, the environment, the manifest, the default."""
    if flag is not None:
        return parse_location(flag, Path.cwd(), "--history")
    if env.get(ENV):
        return parse_location(env[ENV], Path.cwd(), ENV)
    if manifest_value is not None:
        return parse_location(manifest_value, manifest_root, f"{manifest_file}: history:")
    return Location("sqlite", path=manifest_root / FOLDER / FILE, default=True)


__all__ = ["ENV", "FILE", "FOLDER", "Location", "masked_url", "parse_location", "resolve_location"]

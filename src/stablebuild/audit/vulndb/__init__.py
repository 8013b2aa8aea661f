"""Vulnerability databases, read offline: OSV (the PyPA advisory database, OSV exports; a
folder, a zip or one file) and safety-db's `insecure_full.json`. `open_database(path)` tells
which from the path itself; `update` fetches the PyPA advisory database when online."""

from __future__ import annotations

import stat
import zipfile
from pathlib import Path

from stablebuild.audit.vulndb.interface import (
    SEVERITIES,
    Advisory,
    AffectedRange,
    VulnDatabase,
    VulnDbError,
)
from stablebuild.audit.vulndb.osv import Folder, OsvDatabase, Zip
from stablebuild.audit.vulndb.safetydb import SafetyDatabase, looks_like, read_json

SAFETY_FILE = "insecure_full.json"


def open_database(path: Path) -> VulnDatabase:
    """The database at `path`: a folder (PyPA's `vulns/<package>/`, OSV files, or one holding
    safety-db's insecure_full.json), a zip of OSV files, or one JSON or YAML file."""
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        raise VulnDbError(
            f"cannot read vulnerability database {path}: {exc.strerror or exc}"
        ) from None
    if stat.S_ISDIR(mode):
        safety = path / SAFETY_FILE
        if safety.is_file() and not (path / "vulns").is_dir():
            return SafetyDatabase.load(safety)
        return OsvDatabase(Folder(path))
    if not stat.S_ISREG(mode):
        raise VulnDbError(f"vulnerability database {path} is not a file or folder")
    if zipfile.is_zipfile(path):
        return OsvDatabase(Zip(path))
    if path.suffix in (".yaml", ".yml"):
        return OsvDatabase(Folder(path.parent, [path.name]))
    data = read_json(path)
    if isinstance(data, dict) and looks_like(data):
        return SafetyDatabase(data, str(path))
    if isinstance(data, dict) and "affected" in data:
        return OsvDatabase(Folder(path.parent, [path.name]))
    raise VulnDbError(
        f"{path} is neither an OSV advisory nor safety-db's insecure_full.json",
    )


__all__ = [
    "SEVERITIES",
    "Advisory",
    "AffectedRange",
    "OsvDatabase",
    "SafetyDatabase",
    "VulnDatabase",
    "VulnDbError",
    "open_database",
]

"""`[tool.stablebuild]` in pyproject.toml: finding the file (walking up to the git work tree's
root) and reading its `audit` table, with the line of each key for messages."""

from __future__ import annotations

import importlib
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from stablebuild import textfile
from stablebuild.config.options import FAIL_ON, OPTIONS, Layer, Option, Sourced
from stablebuild.config.values import (
    committed_url_problem,
    item_problem,
    level_problem,
    path_problem,
    rule_problem,
    unknown,
)
from stablebuild.errors import UsageError

PYPROJECT = "pyproject.toml"
TABLE = "tool.stablebuild"
MAX_PYPROJECT_BYTES = 1024 * 1024


def find_pyproject(root: Path) -> Path | None:
    """The nearest pyproject.toml from `root` up to the git work tree's root (`root` alone
    outside a work tree): a monorepo's service folder takes its own, else the repository's."""
    start = Path(os.path.realpath(root))
    folders = [start, *start.parents]
    top = next((f for f in folders if (f / ".git").exists()), start)
    for folder in folders:
        candidate = folder / PYPROJECT
        if candidate.is_file():
            return candidate
        if folder == top:
            break
    return None


def from_pyproject(path: Path | None) -> Layer:
    """`[tool.stablebuild]` of one pyproject.toml; {} when there is none."""
    if path is None:
        return {}
    # NOTE: a symbolic link must not lead out of its folder (a pull request could point it at a
    # host file). A file that cannot be read gives no settings; the audit reports the file itself
    # (SB001, SB002, SB003), as it does for every file it cannot read.
    text = textfile.read_text(path, root=path.parent, limit=MAX_PYPROJECT_BYTES)
    if isinstance(text, textfile.Unreadable):
        return {}
    if TABLE not in text:
        return {}
    data = _toml(path, text)
    table = data.get("tool", {}).get("stablebuild")
    if table is None:
        return {}
    where = _Locator(path, text)
    if not isinstance(table, dict):
        raise where.error((), "must be a table ([tool.stablebuild])")
    for key in table:
        if key != "audit":
            raise where.error((key,), unknown(key, ["audit"]))
    audit = table.get("audit", {})
    if not isinstance(audit, dict):
        raise where.error(("audit",), "must be a table ([tool.stablebuild.audit])")
    keys = {o.key: o for o in OPTIONS if o.key}
    out: Layer = {}
    for key, value in audit.items():
        option = keys.get(key)
        if option is None:
            raise where.error(("audit", key), unknown(key, list(keys)))
        source = where.place(("audit", key))
        out[option.name] = Sourced(_from_toml(option, value, where, path.parent), source)
    return out


def _from_toml(option: Option, value: Any, where: _Locator, base: Path) -> Any:
    keys: tuple[str, ...] = ("audit", option.key)
    if option.kind == "rules":
        if not isinstance(value, dict):
            raise where.error(keys, 'must be a table of rule ids (SB301 = "off")')
        out: dict[str, str] = {}
        for rule, level in value.items():
            key = str(rule).upper()
            if not isinstance(level, str):
                raise where.error((*keys, rule), level_problem(repr(level)) or "")
            problem = rule_problem(key) or level_problem(level.lower())
            if problem is not None:
                raise where.error((*keys, rule), problem)
            out[key] = level.lower()
        return tuple(sorted(out.items()))
    if option.kind == "bool":
        if not isinstance(value, bool):
            raise where.error(keys, f"must be true or false, not {value!r}")
        return value
    if option.kind in ("list", "urls"):
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise where.error(keys, f'must be a list of strings (["{value}"])')
        if option.kind == "urls":
            for url in value:
                problem = committed_url_problem(url)
                if problem is not None:
                    raise where.error(keys, problem)
            return tuple(url.strip().rstrip("/") for url in value)
        for item in value:
            problem = item_problem(option, item)
            if problem is not None:
                raise where.error(keys, problem)
        return tuple(value)
    if not isinstance(value, str):
        raise where.error(keys, f"must be a string, not {value!r}")
    if option.kind == "fail_on":
        if value.lower() not in FAIL_ON:
            raise where.error(keys, f"must be one of {', '.join(FAIL_ON)}, not {value!r}")
        return value.lower()
    if option.kind == "url":
        problem = committed_url_problem(value)
        if problem is not None:
            raise where.error(keys, problem)
        return value.strip().rstrip("/")
    if option.kind == "path":
        named = Path(value).expanduser()
        path = named if named.is_absolute() else base / named
        problem = path_problem(option, path)
        if problem is not None:
            raise where.error(keys, f"{value!r}: {problem}")
        return path
    return value


def _toml_loads() -> Callable[[str], dict[str, Any]] | None:
    for name in ("tomllib", "tomli"):  # NOTE: tomllib is 3.11+; 3.10 needs the tomli backport
        try:
            loads: Callable[[str], dict[str, Any]] = importlib.import_module(name).loads
        except ImportError:
            continue
        return loads
    return None


def _toml(path: Path, text: str) -> dict[str, Any]:
    loads = _toml_loads()
    if loads is None:
        raise UsageError(
            f"{_shown(path)}: has [{TABLE}] but this Python has no TOML parser",
            "pip install tomli, or run stablebuild on Python 3.11+",
        )
    try:
        return loads(text)
    except Exception as exc:  # tomllib.TOMLDecodeError; the module is loaded dynamically
        found = re.search(r"line (\d+)", str(exc))
        where = f"{_shown(path)}:{found.group(1)}" if found else _shown(path)
        reason = str(exc).split(" (at ")[0]
        raise UsageError(f"{where}: not valid TOML: {reason}", "fix the file") from None


class _Locator:
    """The line of a key under [tool.stablebuild], for messages (tomllib keeps no lines)."""

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.lines = text.splitlines()

    def line(self, keys: tuple[str, ...]) -> int | None:
        header = re.compile(r"^\s*\[\s*tool\s*\.\s*stablebuild\b([^\]]*)\]")
        inside = False
        first: int | None = None
        want = keys[-1] if keys else ""
        key = re.compile(rf"""(^|[\s.{{,])["']?{re.escape(want)}["']?\s*=""")
        for number, text in enumerate(self.lines, start=1):
            if text.lstrip().startswith("["):
                inside = header.match(text) is not None
                first = first or (number if inside else None)
                if inside and want and text.rstrip().rstrip("]").endswith(want):
                    return number
                continue
            if inside and want and key.search(text.split("#", 1)[0]):
                return number
        return first

    def place(self, keys: tuple[str, ...]) -> str:
        line = self.line(keys)
        return f"{_shown(self.path)}:{line}" if line else _shown(self.path)

    def error(self, keys: tuple[str, ...], message: str) -> UsageError:
        dotted = ".".join((TABLE, *keys))
        return UsageError(
            f"{self.place(keys)}: [{dotted}]: {message}",
            "fix the value; docs/configuration.md lists every key",
        )


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)

"""Reading one option's value from text (a variable, a flag) and checking what it means: rule
ids, levels, URLs, seconds. Every problem is a one-line `UsageError` naming where it was."""

from __future__ import annotations

import importlib
import math
import re
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

from stablebuild import urls
from stablebuild.config.options import FAIL_ON, LEVELS, Option
from stablebuild.errors import UsageError
from stablebuild.suggest import closest

TRUE = ("1", "true", "yes", "on")
FALSE = ("0", "false", "no", "off")
MAX_SECONDS = 3600.0
_RULE_ID = re.compile(r"^SB\d{3}(:[A-Za-z0-9_-]+)?$")
_URL = re.compile(r"^(https?|file)://\S+$")


def rule_problem(rule: str) -> str | None:
    """Why `rule` is not a rule id a setting or suppression may name; None when it is."""
    if not _RULE_ID.match(rule):
        return f"{rule!r} is not a rule id (SB followed by three digits, e.g. SB301)"
    known = _catalogue()
    base = rule.split(":", 1)[0]
    if base not in known:
        close = closest(base, sorted(known))
        hint = f" (did you mean {close}?)" if close else ""
        return f"unknown rule id {base}{hint}; docs/rules.md lists them"
    return None


def _catalogue() -> Mapping[str, str]:
    # NOTE: the catalogue lives with the audit rules, a floor above this one; read only when a
    # rule id is named, so a run that names none never loads the audit.
    module: ModuleType = importlib.import_module("stablebuild.audit.format.catalog")
    rules: Mapping[str, str] = module.RULES
    return rules


def level_problem(level: str) -> str | None:
    if level in LEVELS:
        return None
    return f"must be one of {', '.join(LEVELS)}, not {level!r}"


def rules_from_text(text: str, where: str) -> tuple[tuple[str, str], ...]:
    """`SB301=off,SB405=error` (spaces also separate)."""
    out: dict[str, str] = {}
    for item in re.split(r"[,\s]+", text.strip()):
        if not item:
            continue
        rule, sep, level = item.partition("=")
        rule, level = rule.strip().upper(), level.strip().lower()
        if not sep or not level:
            raise UsageError(f"{where} {item!r}: write RULE=LEVEL", "e.g. SB301=off")
        problem = rule_problem(rule) or level_problem(level)
        if problem is not None:
            raise UsageError(f"{where} {item}: {problem}", f"e.g. {where} SB301=off")
        out[rule] = level
    return tuple(sorted(out.items()))


def from_text(option: Option, raw: str) -> Any:
    where = option.env
    if option.kind == "fail_on":
        value = raw.lower()
        if value not in FAIL_ON:
            raise UsageError(
                f"{where}={raw!r}: must be one of {', '.join(FAIL_ON)}",
                f"e.g. {where}=warning",
            )
        return value
    if option.kind == "rules":
        return rules_from_text(raw, where)
    if option.kind == "bool":
        value = raw.lower()
        if value not in TRUE + FALSE:
            raise UsageError(f"{where}={raw!r}: must be true or false", f"e.g. {where}=1")
        return value in TRUE
    if option.kind == "seconds":
        return _seconds(raw, where)
    if option.kind == "path":
        path = Path(raw).expanduser()
        problem = path_problem(option, path)
        if problem is not None:
            raise UsageError(f"{where}={raw!r}: {problem}", "name one that exists")
        return path
    if option.kind == "url":
        return url(raw, where)
    if option.kind == "urls":
        return tuple(url(u, where) for u in raw.split())
    items = tuple(p for p in re.split(r"[,\s]+", raw) if p)
    for item in items:
        problem = item_problem(option, item)
        if problem is not None:
            raise UsageError(f"{where}={raw!r}: {problem}", "separate several with commas")
    return items


def item_problem(option: Option, item: str) -> str | None:
    """What is wrong with one entry of a list option: a platform or a Python version that
    names none (a misspelt one would quietly cover nothing)."""
    from stablebuild.manifest import rules  # NOTE: only when such a list is set

    if option.name == "platforms":
        return rules.platform(item)
    if option.name == "python_versions":
        return rules.python_version(item)
    return None


def path_problem(option: Option, path: Path) -> str | None:
    """A database must exist (a misspelt path must not quietly skip the vulnerability gate);
    a baseline or a cache may be written later."""
    if option.name == "vuln_db" and not (path.is_file() or path.is_dir()):
        return "no such file or folder"
    return None


def committed_url_problem(value: str) -> str | None:
    """Why an index URL cannot stand in a committed file (stablebuild.yml, pyproject.toml):
    not a URL, or it holds credentials, which every clone would then hold."""
    text = value.strip()
    if not _URL.match(text):
        return f"{urls.masked(text)!r} is not a URL (write https://host/simple)"
    if urls.split(text)[1] is not None:
        return (
            f"{urls.masked(text)!r} holds credentials, which would be committed with the file; "
            "give them in ~/.netrc, PIP_INDEX_URL or STABLEBUILD_INDEX_URL instead"
        )
    return None


def url(value: str, where: str) -> str:
    """An http(s):// or file:// URL; the error shows it with its credentials masked."""
    text = value.strip()
    if not _URL.match(text):
        raise UsageError(
            f"{where}: {urls.masked(text)!r} is not a URL",
            "write http://, https:// or file:// followed by the rest, without spaces",
        )
    return text.rstrip("/")


def _seconds(raw: str, where: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or not 0 < value <= MAX_SECONDS:
        raise UsageError(
            f"{where}={raw!r}: must be a number of seconds above 0 and at most {MAX_SECONDS:.0f}",
            f"e.g. {where}=30",
        )
    return value


def unknown(key: str, known: list[str]) -> str:
    close = closest(key, known)
    if close:
        return f"unknown key {key!r} (did you mean {close!r}?)"
    return f"unknown key {key!r}; known keys: {', '.join(sorted(known))}"

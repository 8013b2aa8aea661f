"""Every audit rule, gathered from the family modules that declare them: the one rule registry.

Each family declares its rules next to its code (`stablebuild.audit.rule.Rule`); this module only
collects them, so SARIF, Markdown, the docs pages and `stablebuild audit --explain` read one list.
"""

from __future__ import annotations

import difflib
import importlib
import pkgutil
import re
from collections.abc import Mapping
from functools import cache
from types import MappingProxyType

from stablebuild.audit.rule import Rule

_ID = re.compile(r"(?:SB)?(\d{3})", re.IGNORECASE)


@cache
def rules() -> Mapping[str, Rule]:
    """Every rule by id, in id order: the `Rule` constants of every module of the audit
    package, so a new family module is in the catalogue by declaring its rules."""
    # NOTE: imported when first asked, not at the top: the runner, or anything it imports, can
    # then import the catalogue without an import cycle.
    import stablebuild.audit as package

    found: dict[str, Rule] = {}
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        if info.ispkg:  # `format` renders findings; it declares no rule
            continue
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        for value in vars(module).values():
            if isinstance(value, Rule) and found.setdefault(value.id, value) is not value:
                raise RuntimeError(f"audit rule {value.id} is declared twice")
    return MappingProxyType(dict(sorted(found.items())))


def get(rule: str) -> Rule | None:
    """The rule of an id as a finding carries it: `SB301`; `SB700:DL3008` is SB700's."""
    return rules().get(rule.split(":", 1)[0])


def find(text: str) -> Rule | None:
    """The rule a person means: its id in any case (`sb301`, `301`, `SB700:DL3008`) or its
    name (`NoWheelSourceBuild`)."""
    wanted = text.strip().split(":", 1)[0]
    if match := _ID.fullmatch(wanted):
        return rules().get(f"SB{match.group(1)}")
    return next((r for r in rules().values() if r.name.lower() == wanted.lower()), None)


def close_to(text: str) -> list[str]:
    """Rule ids a mistyped id or name probably meant, best first (at most three)."""
    wanted = text.strip().split(":", 1)[0]
    by_id = difflib.get_close_matches(wanted.upper(), list(rules()), n=3, cutoff=0.75)
    names = {r.name.lower(): r.id for r in rules().values()}
    by_name = difflib.get_close_matches(wanted.lower(), list(names), n=3, cutoff=0.7)
    return list(dict.fromkeys([*by_id, *(names[n] for n in by_name)]))[:3]


__all__ = ["Rule", "close_to", "find", "get", "rules"]

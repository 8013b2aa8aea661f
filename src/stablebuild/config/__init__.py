"""The settings of an audit, merged from five places; the first that sets a value wins:

    command line  >  STABLEBUILD_* variables  >  stablebuild.yml (`audit:`)
                  >  pyproject.toml ([tool.stablebuild.audit])  >  defaults

`pyproject.toml` is the nearest one walking up from the audited folder to the git work tree's
root. Rule levels (`audit.rules`) merge rule by rule, each from the most important place naming
it. The package index falls back on pip's own settings (`PIP_INDEX_URL`, `PIP_EXTRA_INDEX_URL`,
pip.conf: `stablebuild.pipconfig`) before PyPI. A bad value anywhere is a `UsageError` (exit 2)
naming the file and line, or the variable, and what to write instead; never a traceback.
`OPTIONS` is the one list of every option, its file key, variable and flag
(docs/configuration.md is checked against it).

This is the lowest floor: it reads files and the environment, and imports nothing above it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from stablebuild.config.merge import (
        from_env,
        from_flags,
        from_manifest,
        from_pip,
        merge,
        resolve,
    )
    from stablebuild.config.options import (
        BY_NAME,
        DEFAULT_INDEX_URL,
        FAIL_ON,
        LEVELS,
        OPTIONS,
        Flags,
        Option,
        Settings,
        default_cache_dir,
    )
    from stablebuild.config.pyproject import find_pyproject, from_pyproject
    from stablebuild.config.values import committed_url_problem, level_problem, rule_problem

# NOTE: each part is loaded when first named: a remembered `validate` answer needs only the
# cache folder (`options`), not the merging of five layers.
_MODULES = {
    "from_env": "merge",
    "from_flags": "merge",
    "from_manifest": "merge",
    "from_pip": "merge",
    "merge": "merge",
    "resolve": "merge",
    "BY_NAME": "options",
    "DEFAULT_INDEX_URL": "options",
    "FAIL_ON": "options",
    "LEVELS": "options",
    "OPTIONS": "options",
    "Flags": "options",
    "Option": "options",
    "Settings": "options",
    "default_cache_dir": "options",
    "find_pyproject": "pyproject",
    "from_pyproject": "pyproject",
    "committed_url_problem": "values",
    "level_problem": "values",
    "rule_problem": "values",
}


def __getattr__(name: str) -> Any:
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)


__all__ = [
    "BY_NAME",
    "DEFAULT_INDEX_URL",
    "FAIL_ON",
    "LEVELS",
    "OPTIONS",
    "Flags",
    "Option",
    "Settings",
    "committed_url_problem",
    "default_cache_dir",
    "find_pyproject",
    "from_env",
    "from_flags",
    "from_manifest",
    "from_pip",
    "from_pyproject",
    "level_problem",
    "merge",
    "resolve",
    "rule_problem",
]

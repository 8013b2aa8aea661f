"""Output formats of `stablebuild audit`: pick one with `formatter(AuditFormat.X)`."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from stablebuild.audit.format.interface import AuditFormat, AuditFormatter

if TYPE_CHECKING:
    from stablebuild.audit.format.codequality import CodeQualityFormat
    from stablebuild.audit.format.github import GithubFormat
    from stablebuild.audit.format.json import JsonFormat
    from stablebuild.audit.format.markdown import MarkdownFormat
    from stablebuild.audit.format.sarif import SarifFormat
    from stablebuild.audit.format.table import TableFormat

# NOTE: each format is loaded when first named: `-f json` must not load rich for the table.
_MODULES = {
    "CodeQualityFormat": "codequality",
    "GithubFormat": "github",
    "JsonFormat": "json",
    "MarkdownFormat": "markdown",
    "SarifFormat": "sarif",
    "TableFormat": "table",
}
_BY_KIND = {
    AuditFormat.TABLE: "TableFormat",
    AuditFormat.JSON: "JsonFormat",
    AuditFormat.MARKDOWN: "MarkdownFormat",
    AuditFormat.SARIF: "SarifFormat",
    AuditFormat.CODEQUALITY: "CodeQualityFormat",
    AuditFormat.GITHUB: "GithubFormat",
}


def __getattr__(name: str) -> Any:
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)


def formatter(kind: AuditFormat) -> AuditFormatter:
    formatter_class: type[AuditFormatter] = __getattr__(_BY_KIND[kind])
    return formatter_class()


__all__ = [
    "AuditFormat",
    "AuditFormatter",
    "CodeQualityFormat",
    "GithubFormat",
    "JsonFormat",
    "MarkdownFormat",
    "SarifFormat",
    "TableFormat",
    "formatter",
]

"""Output formats of `stablebuild audit`: pick one with `formatter(AuditFormat.X)`."""

from __future__ import annotations

from stablebuild.audit.format.codequality import CodeQualityFormat
from stablebuild.audit.format.github import GithubFormat
from stablebuild.audit.format.interface import AuditFormat, AuditFormatter
from stablebuild.audit.format.json import JsonFormat
from stablebuild.audit.format.markdown import MarkdownFormat
from stablebuild.audit.format.sarif import SarifFormat
from stablebuild.audit.format.table import TableFormat


def formatter(kind: AuditFormat) -> AuditFormatter:
    formats: dict[AuditFormat, type[AuditFormatter]] = {
        AuditFormat.TABLE: TableFormat,
        AuditFormat.JSON: JsonFormat,
        AuditFormat.MARKDOWN: MarkdownFormat,
        AuditFormat.SARIF: SarifFormat,
        AuditFormat.CODEQUALITY: CodeQualityFormat,
        AuditFormat.GITHUB: GithubFormat,
    }
    return formats[kind]()


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

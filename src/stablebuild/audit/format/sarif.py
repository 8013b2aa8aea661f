"""SARIF 2.1.0 output, for GitHub code scanning and other SARIF viewers."""

from __future__ import annotations

import json
from typing import Any

from stablebuild import __version__
from stablebuild.audit.finding import Severity
from stablebuild.audit.format.catalog import anchor, summary
from stablebuild.audit.format.interface import AuditFormatter
from stablebuild.audit.runner import AuditResult

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}


def _help_uri(rule: str) -> str | None:
    code = rule.split(":", 1)[1] if ":" in rule else ""
    if code.startswith("DL"):
        return f"https://github.com/hadolint/hadolint/wiki/{code}"
    if code.startswith("SC"):
        return f"https://www.shellcheck.net/wiki/{code}"
    return None


def as_dict(result: AuditResult) -> dict[str, Any]:
    rules: list[dict[str, Any]] = []
    index: dict[str, int] = {}
    results: list[dict[str, Any]] = []
    for finding in result.findings:
        if finding.rule not in index:
            index[finding.rule] = len(rules)
            rule: dict[str, Any] = {
                "id": finding.rule,
                "name": finding.rule.replace(":", "_"),
                "shortDescription": {"text": summary(finding.rule)},
                "help": {"text": f"{summary(finding.rule)}. See {anchor(finding.rule)}."},
                "defaultConfiguration": {"level": _LEVEL[finding.severity]},
            }
            if uri := _help_uri(finding.rule):
                rule["helpUri"] = uri
            rules.append(rule)
        text = finding.message + (f" Fix: {finding.hint}" if finding.hint else "")
        entry: dict[str, Any] = {
            "ruleId": finding.rule,
            "ruleIndex": index[finding.rule],
            "level": _LEVEL[finding.severity],
            "message": {"text": text},
        }
        if finding.file:
            location: dict[str, Any] = {
                "artifactLocation": {"uri": finding.file, "uriBaseId": "SRCROOT"}
            }
            if finding.line:
                location["region"] = {"startLine": finding.line}
            entry["locations"] = [{"physicalLocation": location}]
        results.append(entry)
    return {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "stablebuild",
                        "version": __version__,
                        "informationUri": "https://github.com/stablebuild/stablebuild",
                        "rules": rules,
                    }
                },
                "originalUriBaseIds": {"SRCROOT": {"uri": result.root.as_uri() + "/"}},
                "results": results,
            }
        ],
    }


class SarifFormat(AuditFormatter):
    def format(self, result: AuditResult) -> str:
        return json.dumps(as_dict(result), indent=2) + "\n"

"""SARIF 2.1.0 output, for GitHub code scanning and other SARIF viewers.

GitHub rejects a whole upload when one result lacks a location, so a finding about the run
itself (SB000, SB701: no file) is a `toolExecutionNotification`, never a result. Every result
is located relative to the git work tree root (`%SRCROOT%`), at line 1 when its rule has no line.

A suppressed finding stays a result with `suppressions: [{kind: inSource, justification}]`; a
baseline one with `kind: external` and `baselineState: unchanged` (the others `new`, when a
baseline is in use). Viewers then show only what counts, and the record stays complete.
"""

from __future__ import annotations

import json
from typing import Any

from stablebuild import __version__
from stablebuild.audit.finding import Finding, Severity, State
from stablebuild.audit.format import catalog
from stablebuild.audit.format.interface import AuditFormatter
from stablebuild.audit.format.places import located
from stablebuild.audit.result import AuditResult
from stablebuild.report.format.source import SRCROOT, root_uri, uri

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
FINGERPRINT = "stablebuild/v1"
LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}


def rule_object(rule: str, finding: Finding) -> dict[str, Any]:
    """A reportingDescriptor from the rule's declaration; a delegated rule's description is its
    own tool's message, its level the finding's."""
    short = catalog.summary(rule)
    if catalog.delegated_code(rule):
        short = f"hadolint {catalog.delegated_code(rule)}: {finding.message}"
    full = catalog.full_description(rule)
    fix = catalog.fix(rule)
    link = catalog.help_uri(rule)
    return {
        "id": rule,
        "name": catalog.name(rule),
        "shortDescription": {"text": _clip(short)},
        "fullDescription": {"text": _clip(full)},
        "help": {
            "text": f"{short}\n\n{full}\n\nFix: {fix}\n\nDocumentation: {link}",
            "markdown": f"**{rule}** — {short}\n\n{full}\n\n**Fix:** {fix}\n\n"
            f"[Documentation]({link})",
        },
        "helpUri": link,
        "defaultConfiguration": {
            "level": LEVEL[catalog.default_severity(rule) or finding.severity]
        },
        "properties": {"tags": ["stablebuild", catalog.base_rule(rule)]},
    }


def _clip(text: str, limit: int = 1000) -> str:
    """At most `limit` characters, cut after a sentence where one ends in time."""
    if len(text) <= limit:
        return text
    cut = text.rfind(". ", 0, limit - 1)
    return text[: cut + 1] if cut > limit // 2 else text[: limit - 1] + "…"


def as_dict(result: AuditResult) -> dict[str, Any]:
    tree, places = located(result)
    rules: list[dict[str, Any]] = []
    index: dict[str, int] = {}
    notices: list[dict[str, Any]] = []
    notice_index: dict[str, int] = {}
    notifications: list[dict[str, Any]] = []
    results: list[dict[str, Any]] = []
    for (finding, where), key in zip(places, result.fingerprints(), strict=True):
        text = finding.message + (f" Fix: {finding.hint}" if finding.hint else "")
        if where is None:
            if not finding.active:
                continue  # NOTE: a notification cannot be marked suppressed: left out
            if finding.rule not in notice_index:
                notice_index[finding.rule] = len(notices)
                notices.append(rule_object(finding.rule, finding))
            notifications.append(
                {
                    "level": LEVEL[finding.severity],
                    "message": {"text": text},
                    "descriptor": {"id": finding.rule, "index": notice_index[finding.rule]},
                }
            )
            continue
        if finding.rule not in index:
            index[finding.rule] = len(rules)
            rules.append(rule_object(finding.rule, finding))
        results.append(
            {
                **_state(finding, result.baseline is not None),
                "ruleId": finding.rule,
                "ruleIndex": index[finding.rule],
                "level": LEVEL[finding.severity],
                "message": {"text": text},
                "locations": [
                    {
                        "physicalLocation": {
                            "artifactLocation": {"uri": uri(where.path), "uriBaseId": SRCROOT},
                            "region": {"startLine": where.line},
                        }
                    }
                ],
                "partialFingerprints": {FINGERPRINT: key},
            }
        )
    driver: dict[str, Any] = {
        "name": "stablebuild",
        "version": __version__,
        "semanticVersion": __version__,
        "informationUri": catalog.REPOSITORY,
        "rules": rules,
    }
    if notices:
        driver["notifications"] = notices
    return {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {"driver": driver},
                "invocations": [
                    {
                        # An internal error (SB000) means some rule families did not run.
                        "executionSuccessful": not result.errors,
                        "toolExecutionNotifications": notifications,
                    }
                ],
                "originalUriBaseIds": {SRCROOT: {"uri": root_uri(tree)}},
                "columnKind": "unicodeCodePoints",
                "results": results,
            }
        ],
    }


def _state(finding: Finding, with_baseline: bool) -> dict[str, Any]:
    """`suppressions` and `baselineState` for a result."""
    out: dict[str, Any] = {}
    if finding.state is State.SUPPRESSED:
        why = {"justification": finding.justification} if finding.justification else {}
        out["suppressions"] = [{"kind": "inSource", **why}]
    elif finding.state is State.BASELINE:
        out["suppressions"] = [{"kind": "external", "justification": finding.justification}]
    if with_baseline:
        out["baselineState"] = "unchanged" if finding.state is State.BASELINE else "new"
    return out


class SarifFormat(AuditFormatter):
    def format(self, result: AuditResult) -> str:
        return json.dumps(as_dict(result), indent=2, ensure_ascii=False) + "\n"

"""SARIF 2.1.0 for `stablebuild validate`: each failed build and check as a code-scanning alert.

One rule per check family (`validate.imports`, `validate.packages`...), each result located at
the manifest entry, Dockerfile instruction or requirement line that caused it (see `failures`).
Passed and skipped checks are not results; an interrupted run is a notification.
"""

from __future__ import annotations

import json
from typing import Any

from stablebuild import __version__
from stablebuild.report.format.failures import Failure, failures
from stablebuild.report.format.interface import ReportFormatter
from stablebuild.report.format.source import REPOSITORY, SRCROOT, Fingerprints, root_uri, uri
from stablebuild.report.format.summary import verdict
from stablebuild.report.model import Report

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
FINGERPRINT = "stablebuild/v1"
DOCS = f"{REPOSITORY}/blob/main/docs/report-schema.md"

FAMILIES: dict[str, tuple[str, str]] = {
    "build": ("ImageBuildFailed", "The image did not build (an error, or over its timeout)"),
    "python": (
        "PythonInterpreter",
        "The image's Python is missing, does not run, or is not the manifest's version",
    ),
    "imports": (
        "ModuleImport",
        "A module the manifest lists does not import in the image, or "
        "pip check finds broken requirements",
    ),
    "pins": ("PinnedDistribution", "An installed distribution differs from its pin"),
    "ffmpeg": (
        "FfmpegEncoder",
        "ffmpeg lacks an encoder the manifest asks for, or an encode fails",
    ),
    "nvenc": ("NvencEncoder", "An NVENC encoder is missing or fails to encode on the GPU"),
    "user": ("ImageUser", "The image runs as root, or as another user than the manifest's"),
    "packages": (
        "DebianPackage",
        "A forbidden Debian package is installed, or a required one is missing",
    ),
    "healthcheck": (
        "Healthcheck",
        "The image has no HEALTHCHECK although the manifest asks for one",
    ),
    "size": ("SizeBudget", "The image is larger than its size budget"),
    "build_time": ("BuildTimeBudget", "The build took longer than its time budget"),
    "layers": ("ImageLayers", "The image's layers could not be read"),
    "runtime": ("TrialRun", "A trial container did not start, or did not become healthy"),
    "files": ("ImageFile", "A path the manifest names does not exist in the image"),
    "stack": (
        "StackPhase",
        "The stack did not come up, a service did not become healthy, a smoke step failed, "
        "or the teardown left something behind",
    ),
}


def rule_object(rule: str) -> dict[str, Any]:
    family = rule.split(".", 1)[1]
    name, short = FAMILIES.get(
        family,
        ("".join(p.title() for p in family.split("_")) or "Check", f"A {family} check failed"),
    )
    anchor = "#build-diagnosis" if family == "build" else "#check-ids"
    full = (
        f"{short}. stablebuild validate built the image and checked it from the inside; the "
        "message names the check, what was seen and what the manifest expects."
    )
    return {
        "id": rule,
        "name": name,
        "shortDescription": {"text": short},
        "fullDescription": {"text": full},
        "help": {
            "text": f"{full}\n\nCheck ids and their meaning: {DOCS}{anchor}",
            "markdown": f"**{rule}** — {short}\n\n{full}\n\n[Check ids]({DOCS}{anchor})",
        },
        "helpUri": f"{DOCS}{anchor}",
        "defaultConfiguration": {"level": "error"},
        "properties": {"tags": ["stablebuild", "validate"]},
    }


def _result(failure: Failure, index: int, fingerprint: Fingerprints) -> dict[str, Any]:
    key = fingerprint(f"{failure.rule}/{failure.image}/{failure.check}", failure.place, "")
    return {
        "ruleId": failure.rule,
        "ruleIndex": index,
        "level": "error",
        "message": {"text": f"{failure.title}: {failure.message}"},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": uri(failure.place.path), "uriBaseId": SRCROOT},
                    "region": {"startLine": failure.place.line},
                }
            }
        ],
        "partialFingerprints": {FINGERPRINT: key},
        "properties": {"image": failure.image, "check": failure.check, "status": failure.status},
    }


def as_dict(report: Report) -> dict[str, Any]:
    tree, found = failures(report)
    rules: list[dict[str, Any]] = []
    index: dict[str, int] = {}
    results: list[dict[str, Any]] = []
    fingerprint = Fingerprints()
    for failure in found:
        if failure.rule not in index:
            index[failure.rule] = len(rules)
            rules.append(rule_object(failure.rule))
        results.append(_result(failure, index[failure.rule], fingerprint))
    notifications: list[dict[str, Any]] = []
    if not report.complete:
        notifications.append({"level": "warning", "message": {"text": verdict(report)}})
    return {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "stablebuild",
                        "version": __version__,
                        "semanticVersion": __version__,
                        "informationUri": REPOSITORY,
                        "rules": rules,
                    }
                },
                "invocations": [
                    {
                        "executionSuccessful": report.complete,
                        "toolExecutionNotifications": notifications,
                        "properties": {"runId": report.run_id, "stack": report.stack},
                    }
                ],
                "originalUriBaseIds": {SRCROOT: {"uri": root_uri(tree)}},
                "columnKind": "unicodeCodePoints",
                "results": results,
            }
        ],
    }


class SarifFormat(ReportFormatter):
    def format(self, report: Report) -> str:
        return json.dumps(as_dict(report), indent=2, ensure_ascii=False) + "\n"

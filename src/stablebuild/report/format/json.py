"""The JSON report: a documented, versioned schema (docs/report-schema.md)."""

from __future__ import annotations

import json
from typing import Any

from stablebuild.report.format.interface import ReportFormatter
from stablebuild.report.format.summary import counts, log_tail, overall_status
from stablebuild.report.model import (
    SCHEMA_VERSION,
    BuildOutcome,
    CheckResult,
    ImageReport,
    Report,
    StackReport,
)

LOG_TAIL_LINES = 50


def check_dict(check: CheckResult) -> dict[str, Any]:
    return {
        "id": check.id,
        "family": check.family,
        "status": check.status.value,
        "message": check.message,
        "value": check.value,
        "expected": check.expected,
    }


def _stack(stack: StackReport | None) -> dict[str, Any] | None:
    if stack is None:
        return None
    return {
        "ok": stack.ok,
        "project": stack.project,
        "compose": stack.compose,
        "seconds": round(stack.seconds, 3),
        "from_cache": stack.from_cache,
        "checks": [check_dict(c) for c in stack.checks],
    }


class JsonFormat(ReportFormatter):
    """`include_log` adds every build's full log; by default only a failed build's last lines."""

    def __init__(self, *, include_facts: bool = True, include_log: bool = False) -> None:
        self.include_facts = include_facts
        self.include_log = include_log

    def format(self, report: Report) -> str:
        return json.dumps(self.document(report), indent=2, default=str) + "\n"

    def document(self, report: Report) -> dict[str, Any]:
        return {
            "schema": SCHEMA_VERSION,
            "stack": report.stack,
            "run_id": report.run_id,
            "status": overall_status(report),
            "complete": report.complete,
            "started_at": report.started_at,
            "finished_at": report.finished_at,
            "profile": report.profile,
            "engine": report.engine,
            "images": [self._image(image) for image in report.images],
            "stack_phase": _stack(report.stack_phase),
            "summary": counts(report),
        }

    def _image(self, image: ImageReport) -> dict[str, Any]:
        return {
            "name": image.name,
            "ok": image.ok,
            "build": self._build(image),
            "from_cache": image.from_cache,
            "engine": image.engine,
            "checks": [check_dict(c) for c in image.checks],
            "facts": image.facts if self.include_facts else None,
        }

    def _build(self, image: ImageReport) -> dict[str, Any]:
        build: BuildOutcome = image.build
        d = build.diagnosis
        out: dict[str, Any] = {
            "status": build.status.value,
            "seconds": round(build.seconds, 3),
            "tag": build.tag,
            "image_id": build.image_id,
            "size_bytes": build.size_bytes,
            "layers": build.layers,
            "error": build.error,
            "diagnosis": None
            if d is None
            else {"cause": d.cause, "summary": d.summary, "hint": d.hint, "evidence": d.evidence},
        }
        tail = log_tail(image, LOG_TAIL_LINES)
        if tail:
            out["log_tail"] = tail
        if self.include_log:
            out["log"] = [line.rstrip("\n") for line in build.log]
        return out

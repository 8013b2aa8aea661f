"""A Report as plain JSON data and back, losing nothing: for what is kept between runs.

Not a report format (those are for people and CI, and drop what they do not show): this is
the whole model, so a report read back renders byte for byte as the one written.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from stablebuild.report.model import (
    BuildOutcome,
    BuildStatus,
    CheckResult,
    CheckStatus,
    Diagnosis,
    ImageReport,
    Report,
    StackReport,
)


def to_data(report: Report) -> dict[str, Any]:
    """Plain JSON data (enums as their values)."""
    data = asdict(report)
    for image, raw in zip(report.images, data["images"], strict=True):
        raw["build"]["status"] = image.build.status.value
        _statuses(raw["checks"], image.checks)
    if report.stack_phase is not None:
        _statuses(data["stack_phase"]["checks"], report.stack_phase.checks)
    return data


def from_data(data: dict[str, Any]) -> Report:
    """The Report `to_data` gave; KeyError, TypeError or ValueError for anything else."""
    stack = data.get("stack_phase")
    return Report(
        stack=data["stack"],
        run_id=data["run_id"],
        started_at=data["started_at"],
        finished_at=data.get("finished_at"),
        complete=bool(data["complete"]),
        profile=data.get("profile"),
        images=[_image(raw) for raw in data["images"]],
        engine=dict(data.get("engine") or {}),
        manifest=data.get("manifest"),
        stack_phase=None
        if stack is None
        else StackReport(
            project=stack.get("project"),
            compose=stack.get("compose"),
            seconds=float(stack.get("seconds", 0.0)),
            checks=[_check(c) for c in stack["checks"]],
            from_cache=bool(stack.get("from_cache", False)),
        ),
    )


def _statuses(raw: list[dict[str, Any]], checks: list[CheckResult]) -> None:
    for entry, check in zip(raw, checks, strict=True):
        entry["status"] = check.status.value


def _check(raw: dict[str, Any]) -> CheckResult:
    return CheckResult(
        id=raw["id"],
        family=raw["family"],
        status=CheckStatus(raw["status"]),
        message=raw["message"],
        value=raw.get("value"),
        expected=raw.get("expected"),
    )


def _image(raw: dict[str, Any]) -> ImageReport:
    build = raw["build"]
    diagnosis = build.get("diagnosis")
    return ImageReport(
        name=raw["name"],
        build=BuildOutcome(
            status=BuildStatus(build["status"]),
            seconds=float(build.get("seconds", 0.0)),
            tag=build.get("tag"),
            image_id=build.get("image_id"),
            size_bytes=build.get("size_bytes"),
            layers=build.get("layers"),
            log=list(build.get("log") or []),
            error=build.get("error"),
            diagnosis=None if diagnosis is None else Diagnosis(**diagnosis),
        ),
        checks=[_check(c) for c in raw["checks"]],
        facts=raw.get("facts"),
        from_cache=bool(raw.get("from_cache", False)),
        engine=raw.get("engine"),
    )


__all__ = ["from_data", "to_data"]

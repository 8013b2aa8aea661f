"""A Report (and its checks and stack phase) as plain JSON data and back, losing nothing: for
what is kept between runs (the result cache, remembered verdicts and answers).

Not a report format (those are for people and CI, and drop what they do not show): this is
the whole model, so a report read back renders byte for byte as the one written.
"""

from __future__ import annotations

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


def _copied(value: Any) -> Any:
    """A deep copy: the data shares nothing with the report. `copy` loads here, not with the
    module: a remembered answer reads reports (`from_data`) and never writes one."""
    from copy import deepcopy

    return deepcopy(value)


def to_data(report: Report) -> dict[str, Any]:
    """Plain JSON data (enums as their values), every field in the model's order."""
    stack = report.stack_phase
    return {
        "stack": report.stack,
        "run_id": report.run_id,
        "started_at": report.started_at,
        "finished_at": report.finished_at,
        "complete": report.complete,
        "profile": report.profile,
        "images": [_image_to_data(image) for image in report.images],
        "engine": _copied(report.engine),
        "manifest": report.manifest,
        "stack_phase": None if stack is None else stack_to_data(stack),
    }


def _image_to_data(image: ImageReport) -> dict[str, Any]:
    build = image.build
    diagnosis = build.diagnosis
    return {
        "name": image.name,
        "build": {
            "status": build.status.value,
            "seconds": build.seconds,
            "tag": build.tag,
            "image_id": build.image_id,
            "size_bytes": build.size_bytes,
            "layers": build.layers,
            "log": list(build.log),
            "error": build.error,
            "diagnosis": None if diagnosis is None else diagnosis._asdict(),
        },
        "checks": [check_to_data(c) for c in image.checks],
        "facts": _copied(image.facts),
        "from_cache": image.from_cache,
        "engine": image.engine,
    }


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
        stack_phase=None if stack is None else stack_from_data(stack),
    )


def check_to_data(check: CheckResult) -> dict[str, Any]:
    data = check._asdict()
    data["status"] = check.status.value
    data["value"] = _copied(check.value)
    data["expected"] = _copied(check.expected)
    return data


def check_from_data(raw: dict[str, Any]) -> CheckResult:
    return CheckResult(
        id=raw["id"],
        family=raw["family"],
        status=CheckStatus(raw["status"]),
        message=raw["message"],
        value=raw.get("value"),
        expected=raw.get("expected"),
    )


def stack_to_data(stack: StackReport) -> dict[str, Any]:
    return {
        "project": stack.project,
        "compose": stack.compose,
        "seconds": stack.seconds,
        "checks": [check_to_data(c) for c in stack.checks],
        "from_cache": stack.from_cache,
    }


def stack_from_data(raw: dict[str, Any]) -> StackReport:
    return StackReport(
        project=raw.get("project"),
        compose=raw.get("compose"),
        seconds=float(raw.get("seconds", 0.0)),
        checks=[check_from_data(c) for c in raw["checks"]],
        from_cache=bool(raw.get("from_cache", False)),
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
        checks=[check_from_data(c) for c in raw["checks"]],
        facts=raw.get("facts"),
        from_cache=bool(raw.get("from_cache", False)),
        engine=raw.get("engine"),
    )


__all__ = [
    "check_from_data",
    "check_to_data",
    "from_data",
    "stack_from_data",
    "stack_to_data",
    "to_data",
]

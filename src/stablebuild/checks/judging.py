"""Every check for one built image: the families the spec asks for, judged in report order."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from stablebuild.checks.ffmpeg import check_ffmpeg
from stablebuild.checks.files import check_files
from stablebuild.checks.image import NO_FACTS, check_image
from stablebuild.checks.imports import check_imports
from stablebuild.checks.inputs import EngineFacts, ImageMeta, InterpreterFacts, RunOutcome
from stablebuild.checks.interpreter import check_interpreter, not_judged, skip_unfed
from stablebuild.checks.nvenc import check_nvenc
from stablebuild.checks.python import check_python
from stablebuild.checks.results import error
from stablebuild.checks.runtime import check_runtime
from stablebuild.manifest.model import ImageSpec
from stablebuild.report.model import CheckResult


def requested_families(spec: ImageSpec, pins: Mapping[str, str]) -> list[str]:
    """The probe-fed families this spec asks for, in report order."""
    wanted = {
        "python": True,
        "imports": bool(spec.imports or pins),
        "ffmpeg": spec.ffmpeg is not None,
        "nvenc": bool(spec.gpu and spec.gpu.nvenc),
        "packages": bool(spec.packages.forbid or spec.packages.require),
        "files": bool(spec.files),
    }
    return [family for family, asked in wanted.items() if asked]


def judge(
    spec: ImageSpec,
    facts: Mapping[str, Any] | None,
    meta: ImageMeta | None,
    *,
    python: str | None,
    python_match: str,
    pins: Mapping[str, str],
    engine: EngineFacts,
    require_gpu: bool = False,
    run: RunOutcome | None = None,
    interpreter: InterpreterFacts | None = None,
) -> list[CheckResult]:
    """Every check for one built image. `facts` is None when the probe could not run at all;
    `interpreter` is then what the image's files show of the interpreter, when gathered."""
    results: list[CheckResult] = []
    cause = check_interpreter(interpreter) if facts is None and interpreter else None
    if cause is not None:
        results += [cause, *not_judged(requested_families(spec, pins))]
    elif facts is None:
        # One ERROR per family the probe should have fed (packages: in check_image);
        # metadata checks (size, layers...) still judge below.
        for family in requested_families(spec, pins):
            if family != "packages":
                results.append(error(family, family, NO_FACTS))
    else:
        results += check_python(spec, facts, python=python, python_match=python_match)
        if spec.imports or pins:
            results += check_imports(spec.imports, facts, pins)
        if spec.ffmpeg is not None:
            results += check_ffmpeg(spec.ffmpeg, facts)
        if spec.gpu is not None and spec.gpu.nvenc:
            results += check_nvenc(spec.gpu, facts, engine=engine, require_gpu=require_gpu)
        if spec.files:
            results += check_files(spec.files, facts)
    image = check_image(spec, facts, meta)
    results += skip_unfed(image) if cause is not None else image
    if spec.run is not None:
        results += check_runtime(spec.run, run)
    return results


__all__ = ["judge", "requested_families"]

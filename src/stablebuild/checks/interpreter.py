"""Why the probe could not start: the interpreter judged from the image's files alone.

When the container cannot exec the interpreter there are no probe facts; the archive API still
shows the interpreter's link chain, the venv's pyvenv.cfg and where Python is. A defect found
there is ONE failed `python.interpreter` with its root cause; the checks the probe would have fed
are then skipped because of it, not reported as errors.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from stablebuild.checks.image import NO_FACTS
from stablebuild.checks.inputs import InterpreterFacts
from stablebuild.checks.python import FAMILY, IDS
from stablebuild.checks.results import error, failed, skipped
from stablebuild.report.model import CheckResult, CheckStatus

ID = "python.interpreter"
BECAUSE = f"not checked: the probe could not start ({ID} failed)"


def _chain(facts: InterpreterFacts) -> str:
    """ "/opt/venv/bin/python → /usr/bin/python3": the path and every link target, made absolute."""
    return " → ".join([str(facts.path), *(link.points_at for link in facts.links)])


def _elsewhere(facts: InterpreterFacts) -> str:
    if facts.pythons:
        return f"; Python in this image: {', '.join(facts.pythons)}"
    folders = " or ".join(facts.pythons_searched)
    return f"; the image has no python3 in {folders}" if folders else ""


def _use_other(facts: InterpreterFacts) -> str:
    """The end of a fix hint: point at a Python the image has, or install one."""
    if facts.pythons:
        return f", or set `interpreter:` in stablebuild.yml to {facts.pythons[0]}"
    return ""


def _missing(facts: InterpreterFacts) -> str:
    """Root cause and fix when the interpreter (or its link chain's end) is not in the image."""
    if facts.path is None:
        where = ", ".join(facts.searched)
        return (
            f"{facts.interpreter} is in no folder of the image's PATH ({where}){_elsewhere(facts)}"
            f"\nfix: install Python in the runtime stage{_use_other(facts)}"
        )
    if not facts.links:
        venv = f" (the venv at {facts.venv} lacks it)" if facts.venv else ""
        return (
            f"{facts.path} does not exist in this image{venv}{_elsewhere(facts)}"
            f"\nfix: install Python at {facts.path} in the runtime stage{_use_other(facts)}"
        )
    if facts.venv:
        home = facts.venv_home
        evidence = f"pyvenv.cfg home = {home}" if home else "its pyvenv.cfg names no home"
        return (
            f"{_chain(facts)}, which does not exist in this image: the venv was built on another "
            f"base ({evidence}){_elsewhere(facts)}"
            "\nfix: build the venv in a stage FROM the same base as the runtime stage (the same "
            f"Python at the same path) and copy it over, or install a Python at {facts.last} in "
            "the runtime stage"
        )
    return (
        f"{_chain(facts)}, which does not exist in this image: a dangling symlink"
        f"{_elsewhere(facts)}"
        f"\nfix: install a Python at {facts.last} in the runtime stage, or point the link at one "
        f"the image has{_use_other(facts)}"
    )


def _cause(facts: InterpreterFacts) -> str | None:
    """The root cause, with its fix on a second line; None when the files show nothing wrong."""
    if facts.end == "missing":
        return _missing(facts)
    if facts.end == "loop":
        return (
            f"{_chain(facts)} is a symlink loop: the links never reach a file"
            "\nfix: point the link at the real interpreter (`ls -l` each step of the chain)"
        )
    if facts.end == "too-long":
        return (
            f"{facts.path} passes through {len(facts.links)} links without reaching a file"
            "\nfix: point the link at the real interpreter"
        )
    if facts.end in ("directory", "other"):
        what = "a directory" if facts.end == "directory" else "not a regular file"
        return (
            f"{_chain(facts)} is {what}, not an interpreter"
            f"\nfix: set `interpreter:` in stablebuild.yml to the Python executable itself"
        )
    if facts.end == "file" and facts.mode is not None and not facts.mode & 0o111:
        return (
            f"{_chain(facts)} is not executable (mode {facts.mode:04o})"
            "\nfix: make it executable in the Dockerfile (chmod 0755)"
            f"{_use_other(facts)}"
        )
    return None


def check_interpreter(facts: InterpreterFacts) -> CheckResult | None:
    """The failed `python.interpreter` that explains why the probe could not start, or None
    when the image's files show nothing wrong with the interpreter (or could not be read)."""
    cause = _cause(facts)
    if cause is None:
        return None
    chain = [f"{link.path} -> {link.target}" for link in facts.links]
    return failed(ID, FAMILY, cause, value=chain or facts.path, expected=facts.interpreter)


def not_judged(families: Iterable[str]) -> list[CheckResult]:
    """The probe-fed checks, skipped because the interpreter failed ("packages": by check_image)."""
    results = [skipped(id, FAMILY, BECAUSE) for id in IDS if id != ID]
    results += [skipped(f, f, BECAUSE) for f in families if f not in (FAMILY, "packages")]
    return results


def skip_unfed(results: Sequence[CheckResult]) -> list[CheckResult]:
    """Metadata-family results that erred only for want of probe facts, skipped instead."""
    return [
        skipped(r.id, r.family, BECAUSE, r.value, r.expected)
        if r.status is CheckStatus.ERROR and r.message.startswith(NO_FACTS)
        else r
        for r in results
    ]


def probe_result(message: str, checks: Sequence[CheckResult]) -> CheckResult:
    """The probe's own row: an ERROR, or SKIPPED when a failed check already explains it."""
    if any(c.id == ID and c.status is CheckStatus.FAILED for c in checks):
        return skipped("probe", "probe", message)
    return error("probe", "probe", message)

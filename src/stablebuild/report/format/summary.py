"""What every format shows the same way: overall status, counts, the matrix cells, the verdict."""

from __future__ import annotations

from collections import Counter
from enum import Enum

from stablebuild.report.model import (
    BuildStatus,
    CheckResult,
    CheckStatus,
    ImageReport,
    Report,
    StackReport,
)

# Matrix columns after "build", and the check families each one sums up.
COLUMNS: tuple[tuple[str, frozenset[str]], ...] = (
    ("python", frozenset({"python"})),
    ("imports", frozenset({"imports", "pins", "pip"})),
    ("ffmpeg", frozenset({"ffmpeg"})),
    ("nvenc", frozenset({"nvenc"})),
    ("user", frozenset({"user"})),
    ("size", frozenset({"size"})),
    ("health", frozenset({"healthcheck", "runtime"})),
)
SHOWN = frozenset().union(*(families for _, families in COLUMNS))
# Families outside the named columns (packages, files, build_time, layers...) meet in "other".
OTHER = "other"


class Cell(str, Enum):
    """One matrix cell: the worst status of the checks it sums up."""

    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"  # something in it was not checked; never shown as passed
    ERROR = "error"
    NONE = "none"  # nothing asked for / nothing judged


SYMBOLS = {
    Cell.PASSED: "✔",
    Cell.FAILED: "✘",
    Cell.SKIPPED: "–",
    Cell.ERROR: "!",
    Cell.NONE: "",
}
LEGEND = "✔ passed · ✘ failed · – skipped (not fully checked) · ! error"


def overall_status(report: Report) -> str:
    """passed | failed | incomplete."""
    if not report.complete:
        return "incomplete"
    return "passed" if report.ok else "failed"


def build_ok(image: ImageReport) -> bool:
    return image.build.status in (BuildStatus.BUILT, BuildStatus.CACHED)


def build_reused(image: ImageReport) -> bool:
    """No build ran: the image came from the cache (its inputs were unchanged)."""
    return image.from_cache or image.build.status is BuildStatus.CACHED


def build_cell(image: ImageReport) -> Cell:
    if build_ok(image):
        return Cell.PASSED
    return Cell.SKIPPED if image.build.status is BuildStatus.SKIPPED else Cell.FAILED


def fold(checks: list[CheckResult]) -> Cell:
    statuses = {c.status for c in checks}
    if not statuses:
        return Cell.NONE
    for status, cell in (
        (CheckStatus.FAILED, Cell.FAILED),
        (CheckStatus.ERROR, Cell.ERROR),
        (CheckStatus.SKIPPED, Cell.SKIPPED),
    ):
        if status in statuses:
            return cell
    return Cell.PASSED


def column_names(report: Report) -> list[str]:
    """Matrix columns: build, the named ones, then "other" when any image has such checks."""
    names = ["build", *(name for name, _ in COLUMNS)]
    if any(c.family not in SHOWN for i in report.images for c in i.checks):
        names.append(OTHER)
    return names


def cells(image: ImageReport, columns: list[str]) -> list[Cell]:
    row: list[Cell] = []
    families = dict(COLUMNS)
    for column in columns:
        if column == "build":
            row.append(build_cell(image))
        elif column == OTHER:
            row.append(fold([c for c in image.checks if c.family not in SHOWN]))
        else:
            row.append(fold([c for c in image.checks if c.family in families[column]]))
    return row


def all_checks(report: Report) -> list[CheckResult]:
    """Every check of the run: each image's, then the stack phase's."""
    stack = report.stack_phase.checks if report.stack_phase is not None else []
    return [c for i in report.images for c in i.checks] + stack


def stack_status(report: Report) -> str | None:
    """passed | failed | skipped for the stack phase; None when the manifest has none."""
    stack = report.stack_phase
    if stack is None:
        return None
    if not stack.ok:
        return "failed"
    if not stack.checks or all(c.status is CheckStatus.SKIPPED for c in stack.checks):
        return "skipped"
    return "passed"


def counts(report: Report) -> dict[str, int]:
    """Checks by status (the stack phase's too), plus images and failed builds: the JSON
    `summary`."""
    by_status = Counter(c.status.value for c in all_checks(report))
    summary = {status.value: by_status.get(status.value, 0) for status in CheckStatus}
    summary["images"] = len(report.images)
    summary["builds_failed"] = sum(
        1 for i in report.images if i.build.status in (BuildStatus.FAILED, BuildStatus.TIMEOUT)
    )
    return summary


def not_passed(image: ImageReport) -> list[CheckResult]:
    """The checks worth reading: failed and errored first, then skipped."""
    order = {CheckStatus.FAILED: 0, CheckStatus.ERROR: 1, CheckStatus.SKIPPED: 2}
    bad = [c for c in image.checks if c.status is not CheckStatus.PASSED]
    return sorted(bad, key=lambda c: order[c.status])


def _count(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def verdict(report: Report) -> str:
    """One line: the outcome and the numbers behind it."""
    n = counts(report)
    images = _count(n["images"], "image")
    tally = (
        f"{_count(n['passed'], 'check')} passed, {n['failed']} failed, "
        f"{_count(n['error'], 'error')}, {n['skipped']} skipped"
    )
    if not report.complete:
        return f"INCOMPLETE: the run was interrupted; partial results for {images} ({tally})"
    if not report.images:
        return "FAILED: no image was validated"
    stack = stack_status(report)
    ran = f", stack phase {stack}" if stack is not None else ""
    if report.ok:
        return f"PASSED: {images} built and checked{ran} ({tally})"
    bad = sum(1 for i in report.images if not i.ok)
    if not bad and stack == "failed":
        return f"FAILED: {images} passed, the stack phase failed ({tally})"
    builds = f"{_count(n['builds_failed'], 'build')} failed, " if n["builds_failed"] else ""
    return f"FAILED: {bad} of {images} failed ({builds}{tally})"


def stack_heading(stack: StackReport) -> str:
    """One line on how the stack phase ran: project, compose, time."""
    parts = ["stack phase"]
    if stack.project:
        parts.append(f"compose project {stack.project}")
    if stack.compose:
        parts.append(stack.compose)
    if stack.seconds:
        parts.append(f"{stack.seconds:.1f} s")
    if stack.from_cache:
        parts.append("verdict from the cache: nothing it ran changed")
    return " · ".join(parts)


def log_tail(image: ImageReport, lines: int = 50) -> list[str]:
    """The end of a failed build's log (empty for a good build)."""
    if image.build.status not in (BuildStatus.FAILED, BuildStatus.TIMEOUT):
        return []
    return [line.rstrip("\n") for line in image.build.log[-lines:]]

"""File checks: every path the manifest names exists in the image."""

from __future__ import annotations

from collections.abc import Mapping

from stablebuild.checks.results import Facts, error, failed, not_reported, passed, section
from stablebuild.report.model import CheckResult


def check_files(paths: tuple[str, ...], facts: Facts) -> list[CheckResult]:
    info = section(facts, "files")
    if info is None:
        message = not_reported(facts, "files")
        return [error(f"files.{p}", "files", message) for p in paths]
    results: list[CheckResult] = []
    for path in paths:
        id = f"files.{path}"
        entry = info.get(path)
        if not isinstance(entry, Mapping):
            results.append(error(id, "files", f"probe did not report files.{path}"))
        elif entry.get("exists"):
            kind, mode = entry.get("type") or "file", entry.get("mode")
            results.append(passed(id, "files", f"{path} exists ({kind}, mode {mode})", kind))
        elif entry.get("type") == "link":
            results.append(failed(id, "files", f"{path} is a dangling symlink"))
        else:
            results.append(failed(id, "files", f"{path} does not exist in the image"))
    return results

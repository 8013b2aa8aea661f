"""How `audit` ends, whichever way its result was made: CI's workflow commands and step summary,
the report in every `-o` file and on stdout, the findings' counts recorded in the history, the
exit code.

The full command (`cli/audit.py`) and a remembered answer (`audit/answer.py`) both end here, so
they write the same bytes; neither Typer nor a rule family is imported.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from stablebuild.audit.format.interface import AuditFormat
from stablebuild.console import output_exit_code, write_outputs

if TYPE_CHECKING:
    from stablebuild.audit.result import AuditResult
    from stablebuild.history.session import HistorySession
    from stablebuild.manifest.model import Manifest
    from stablebuild.outputs import OutputTarget


class HistorySettings(NamedTuple):
    """Where an audit is recorded, as it was told: `--history`, else the environment, the
    manifest's `history:`, the default beside the manifest (or the audited folder)."""

    flag: str | None  # --history
    setting: str | None  # the manifest's `history:`
    manifest_file: str
    root: str  # the manifest's folder, else the audited one
    stack: str
    profile: str | None

    @classmethod
    def of(cls, directory: Path, manifest: Manifest | None, flag: str | None) -> HistorySettings:
        if manifest is None:
            root = directory.resolve()
            return cls(flag, None, "stablebuild.yml", str(root), root.name, None)
        return cls(
            flag,
            manifest.history,
            str(manifest.path),
            str(manifest.root),
            manifest.name,
            manifest.profile,
        )

    def to_data(self) -> dict[str, Any]:
        return dict(self._asdict())

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> HistorySettings:
        """From a memo; ValueError for values of another kind."""
        texts = [data[k] for k in ("flag", "setting", "profile")]
        fixed = [data[k] for k in ("manifest_file", "root", "stack")]
        if not all(t is None or isinstance(t, str) for t in texts) or not all(
            isinstance(t, str) for t in fixed
        ):
            raise ValueError("a history setting that is not text")
        return cls(**{k: data[k] for k in cls._fields})


def open_history(settings: HistorySettings) -> HistorySession | None:
    """The session the audit will be recorded in (None: off); a bad value is exit 2, now."""
    import os

    from stablebuild.history.location import resolve_location
    from stablebuild.history.session import HistorySession
    from stablebuild.verdict import printer

    root = Path(settings.root)
    where = resolve_location(
        settings.flag, os.environ, settings.setting, root, manifest_file=settings.manifest_file
    )
    return None if where.kind == "off" else HistorySession(where, root, warn=printer(False))


def record(
    session: HistorySession | None, settings: HistorySettings, result: AuditResult, code: int
) -> None:
    """The active findings' counts; a store that cannot be used is a warning only.

    NOTE: suppressed and baseline findings are known: only those that count are recorded.
    """
    if session is None:
        return
    started = datetime.now(timezone.utc) - timedelta(seconds=result.seconds)
    session.finish_audit(
        settings.stack,
        result.active,
        started_at=started.isoformat(timespec="seconds"),
        failed=code != 0,
        profile=settings.profile,
    )


class Rendered:
    """Each format's text, rendered once; `texts` starts with those already known (a
    remembered answer's) and ends with every text written."""

    def __init__(self, result: AuditResult, texts: Mapping[str, str] | None = None) -> None:
        self.result = result
        self.texts = dict(texts or {})

    def __call__(self, fmt: AuditFormat) -> str:
        if fmt.value not in self.texts:
            from stablebuild.audit.format import formatter

            self.texts[fmt.value] = formatter(fmt).format(self.result)
        return self.texts[fmt.value]


def conclude(
    rendered: Rendered,
    fmt: AuditFormat,
    targets: Sequence[OutputTarget[AuditFormat]],
    code: int,
    session: HistorySession | None,
    history: HistorySettings,
) -> int:
    """Announce, write every file and stdout, record: the exit code."""
    from stablebuild.report.ci_surfaces import announce_audit

    result = rendered.result
    announce_audit(result)  # workflow commands and step summary, when run in GitHub Actions
    written = write_outputs(targets, rendered)
    if fmt is AuditFormat.TABLE:
        from rich.console import Console

        from stablebuild.audit.format.table import renderable

        Console(highlight=False, soft_wrap=False, emoji=False).print(renderable(result))
    else:
        sys.stdout.write(rendered(fmt))
        sys.stdout.flush()
    record(session, history, result, code)
    return code if written else output_exit_code(code)


__all__ = ["HistorySettings", "Rendered", "conclude", "open_history", "record"]

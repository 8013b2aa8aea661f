"""The history's part in one validate or audit: judge regressions before the reports are
written, record the run after. A store that cannot be reached never costs the run: the caller
is told (a warning) and the exit code stays the checks' own, unless the store is required.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from stablebuild.errors import UsageError
from stablebuild.history.location import OFF, Location

if TYPE_CHECKING:
    from stablebuild.buildargs import Redactor
    from stablebuild.history.interface import GitInfo, HistoryError, HistoryStore, RunRecord
    from stablebuild.manifest.model import Manifest
    from stablebuild.report.model import Report

BASELINE_WINDOW = 200  # runs read to find the last passing ones
Warn = Callable[[str, str], None]  # (message, hint)


def run_redactor(manifest: Manifest | None, extra_args: Mapping[str, str] = {}) -> Redactor:
    """Every secret the run's texts could hold: secret build args (the manifest's and the
    command line's), passwords in their URLs, and secret-looking `run.env` values."""
    from stablebuild.buildargs import MIN_SECRET_LENGTH, Redactor, looks_secret, redactor_for

    values: set[str] = set()
    specs = list(manifest.images.values()) if manifest is not None else []
    for spec in specs:
        values |= redactor_for({**spec.args, **extra_args}, spec.secret_args).values
        if spec.run is not None:
            values |= {
                value
                for name, value in spec.run.env.items()
                if looks_secret(name) and len(value) >= MIN_SECRET_LENGTH
            }
    if not specs:
        values |= redactor_for(dict(extra_args)).values
    return Redactor(frozenset(values))


def _modules(location: Location) -> list[str]:
    """What recording will need (the store's modules, psycopg2 too): imported while the images
    build, so that the validate does not wait for them once they are built."""
    modules = ["stablebuild.history.record", "stablebuild.history.store"]
    if location.kind == "postgresql":
        return [*modules, "stablebuild.history.postgres", "psycopg2"]
    return [*modules, "stablebuild.history.sqlite"]


def _store_not_waiting(path: Path) -> Callable[[Location], HistoryStore]:
    def opener(_: Location) -> HistoryStore:
        from stablebuild.history.sqlite import SqliteStore

        return SqliteStore(path, create=False, waits=False)

    return opener


class HistorySession:
    """The store of one run, opened when first needed, closed by `finish`."""

    def __init__(
        self,
        location: Location,
        root: Path,
        *,
        warn: Warn,
        redactor: Redactor | None = None,  # None: no secrets to mask
        limits: Mapping[str, float] | None = None,
        baseline_ref: str | None = None,
        required: bool = False,
        opener: Callable[[Location], HistoryStore] | None = None,
        later: bool = False,
    ) -> None:
        """`later`: the run may be recorded in the background (`finish_later`,
        `background.py`); git is then asked only when it is recorded."""
        if location.kind == OFF and (limits or required):
            what = "--max-regression" if limits else "--history-required"
            raise UsageError(f"{what} needs a history, and it is off", "name one with --history")
        self.location = location
        self.root = root
        self.warn = warn
        self.redactor = redactor
        self.limits = dict(limits or {})
        self.baseline_ref = baseline_ref
        self.required = required
        self._opener = opener
        self._store: HistoryStore | None = None
        self._git: GitInfo | None = None
        self.problem: HistoryError | None = None  # why the store could not be used
        self.later = later and not self.off and not required and not self.limits
        # NOTE: git is asked, and the store's modules imported, in the background: during a
        # validate both are done while the images build, and git describes the sources as they
        # were when the run started. Only starting git's process and the thread is on the
        # validate's path (git is started here: a thread waits for the interpreter while the
        # run loads its own modules; the modules once the first build keeps the engine busy,
        # `preload`).
        self._git_asked: Callable[[], GitInfo] | None = None
        if not self.off and not self.later:
            from stablebuild import preload  # NOTE: neither is on a remembered answer's path
            from stablebuild.history import gitinfo

            self._git_asked = gitinfo.ask_git(root)
            preload.when_engine_busy(_modules(location), "stablebuild-history-modules")

    @property
    def off(self) -> bool:
        return self.location.kind == OFF

    @property
    def git(self) -> GitInfo:
        if self._git is None:
            if self._git_asked is None:
                from stablebuild.history.gitinfo import ask_git

                self._git_asked = ask_git(self.root)
            self._git = self._git_asked()
        return self._git

    def store(self) -> HistoryStore:
        """The open store; raises HistoryError (remembered in `problem`) when it cannot be."""
        from stablebuild.history.interface import HistoryError

        if self._store is None:
            try:
                if self._opener is not None:
                    self._store = self._opener(self.location)
                else:
                    from stablebuild.history.store import open_store

                    self._store = open_store(self.location)
            except HistoryError as exc:
                self.problem = exc
                raise
        return self._store

    def check_required(self) -> None:
        """With `required`, reach the store now: exit 3 before any build, not after.

        NOTE: closed again at once: a connection held through a long build would outlive a
        server restart, and a SQLite file could be replaced under it; `finish` opens anew.
        """
        if self.required and not self.off:
            self.store()
            self.close()

    # --- regressions --------------------------------------------------------------------

    def _baseline(self, report: Report) -> tuple[list[RunRecord], str]:
        from stablebuild.history.gitinfo import resolve_commit
        from stablebuild.history.interface import RunQuery

        commit = None
        if self.baseline_ref is not None:
            commit = resolve_commit(self.root, self.baseline_ref) or self.baseline_ref
            where = f"at {self.baseline_ref}"
            if commit != self.baseline_ref:
                where += f" ({commit[:12]})"
            branch = None
        else:
            branch = self.git.branch
            where = f"on branch {branch}" if branch else "of this stack"
        query = RunQuery(
            stack=report.stack,
            last=BASELINE_WINDOW,
            branch=branch,
            profile=report.profile,
            commit=commit,
        )
        return self.store().runs(query), where

    def judge(self, report: Report) -> None:
        """Add the regression checks to every image the run built (before reports are made)."""
        if not self.limits or self.off:
            return
        from stablebuild.history.interface import HistoryError
        from stablebuild.history.record import report_record
        from stablebuild.history.regression import judge_image, not_compared

        current = report_record(report, self.git)
        try:
            runs, where = self._baseline(report)
        except HistoryError as exc:
            why = f"not compared: the history could not be read ({exc.message})"
            for image, record in zip(report.images, current.images, strict=True):
                if record.built:
                    image.checks.extend(not_compared(why, self.limits))
            return
        for image, record in zip(report.images, current.images, strict=True):
            image.checks.extend(judge_image(record, runs, self.limits, where))

    # --- recording ----------------------------------------------------------------------

    def _record(self, run: RunRecord) -> bool:
        from stablebuild.history.interface import HistoryError, RunKind

        try:
            self.store().record(run)
        except HistoryError as exc:
            self.problem = exc
            what = "audit" if run.kind is RunKind.AUDIT else "run"
            self.warn(
                f"this {what} was not recorded in the history: {exc.message}",
                exc.hint or "the report above is complete; only the history lacks this run",
            )
            return False
        finally:
            self.close()
        return True

    def finish(self, report: Report) -> bool:
        """Record the validate run; False (after a warning) when it could not be."""
        if self.off:  # NOTE: before the record is made: it would ask git for nothing
            return True
        from stablebuild.buildargs import NO_SECRETS
        from stablebuild.history.record import report_record

        redactor = NO_SECRETS if self.redactor is None else self.redactor
        return self._record(report_record(report, self.git, redactor))

    def finish_later(self, report: Report) -> bool:
        """Have a process of its own record the validate run while the caller ends without
        waiting for it (`background.py`); False: it cannot be, and `finish` is the caller's."""
        if not self.later:
            return False
        from stablebuild.history.background import record_later

        return record_later(self, report)

    def recorder(self) -> HistorySession:
        """The session a background record writes with (`background.py`): the same store, its
        SQLite file opened without waiting for the lock the recorder itself holds."""
        opener = self._opener
        path = self.location.path
        if self.location.kind == "sqlite" and path is not None:
            opener = _store_not_waiting(path)
        return HistorySession(
            self.location, self.root, warn=self.warn, redactor=self.redactor, opener=opener
        )

    def finish_audit(
        self,
        stack: str,
        findings: Iterable[object],
        *,
        started_at: str,
        failed: bool,
        profile: str | None = None,
    ) -> bool:
        """Record an audit's findings, counted by rule and severity."""
        if self.off:
            return True
        from stablebuild.history.record import audit_record

        run = audit_record(
            stack, findings, started_at=started_at, failed=failed, git=self.git, profile=profile
        )
        return self._record(run)

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None


__all__ = ["HistorySession", "run_redactor"]

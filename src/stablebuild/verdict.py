"""How `validate` ends, whichever way its report was made, and the remembered answer's replay.

One ending for both: the history's regression checks, the report in every `-o` file and on
stdout (with CI's workflow commands and step summary), the run recorded, the exit code. The full
command (`cli/validate.py`) calls `conclude` after a run; `answer()` calls it with a remembered
report (`answer.py`) when nothing that report depends on changed, having imported neither
Typer, docker-py, requests, pydantic nor the manifest loader.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, NoReturn

from stablebuild.console import (
    EXIT_ENGINE,
    EXIT_FAILED,
    EXIT_OK,
    Verbosity,
    err,
    guarded,
    note,
    output_exit_code,
    report_error,
    write_outputs,
)
from stablebuild.errors import UsageError
from stablebuild.events import Event, Observer
from stablebuild.report.format.interface import ReportFormat

if TYPE_CHECKING:
    from stablebuild.answer import Memo
    from stablebuild.buildargs import Redactor
    from stablebuild.history.interface import HistoryError
    from stablebuild.history.session import HistorySession
    from stablebuild.manifest.model import Manifest
    from stablebuild.outputs import OutputTarget
    from stablebuild.report.model import Report
    from stablebuild.validate import ValidateOptions, Validation

# The command line of this process, when it is the program (set by `__main__`): what a memo is
# keyed by. Tests invoking the app in-process leave it unset, and nothing is remembered.
invocation: list[str] | None = None


# --- the ending -------------------------------------------------------------------------------


class HistorySettings(NamedTuple):  # NOTE: not a dataclass: a remembered answer's (events.py)
    """What `validate` was told about its history: the manifest's `history:` (`setting`) and
    file, and the command line's. Kept in a remembered answer as it is."""

    setting: str | None
    manifest_file: str
    location: str | None
    required: bool
    max_regression: str | None
    baseline_ref: str | None

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> HistorySettings:
        """From a memo; ValueError for values of another kind."""
        texts = [data[k] for k in ("setting", "location", "max_regression", "baseline_ref")]
        if not all(t is None or isinstance(t, str) for t in texts):
            raise ValueError("a history setting that is not text")
        return cls(
            setting=data["setting"],
            manifest_file=str(data["manifest_file"]),
            location=data["location"],
            required=bool(data["required"]),
            max_regression=data["max_regression"],
            baseline_ref=data["baseline_ref"],
        )


def open_history(
    settings: HistorySettings, root: Path, redactor: Redactor | None, *, later: bool = False
) -> HistorySession:
    """The history of this validate, checked before any build: a bad value is exit 2, and a
    required store that cannot be reached is exit 3 at once. `later`: the run may be recorded
    after the command ends (`history/background.py`), as a remembered answer's is."""
    # NOTE: nothing more is imported here than making the session needs: this is on the
    # validate's path before its first build (the store's modules load in the background).
    from stablebuild.history import background
    from stablebuild.history.location import resolve_location
    from stablebuild.history.session import HistorySession

    limits = None
    if settings.max_regression is not None:
        from stablebuild.history.regression import parse_limits

        limits = parse_limits(settings.max_regression)
    if settings.baseline_ref is not None and limits is None:
        raise UsageError("--baseline-ref needs --max-regression", "e.g. --max-regression size=10%")
    where = resolve_location(
        settings.location,
        os.environ,
        settings.setting,
        root,
        manifest_file=settings.manifest_file,
    )
    warn = printer(settings.required)
    told = background.told_unrecorded(where, warn)  # NOTE: then this run is recorded at once
    session = HistorySession(
        where,
        root,
        warn=warn,
        redactor=redactor,
        limits=limits,
        baseline_ref=settings.baseline_ref,
        required=settings.required,
        later=later and not told and background.possible(where, os.environ),
    )
    if settings.required:  # NOTE: only then: the store's modules load in the background otherwise
        from stablebuild.history.interface import HistoryError

        try:
            session.check_required()
        except HistoryError as exc:
            fail_required(exc)
    return session


def printer(required: bool) -> Any:
    """How the history warns: `warning:` lines, or `error:` when it is required."""

    def warn(message: str, hint: str) -> None:
        err.print(f"{'error' if required else 'warning'}: {message}", markup=False)
        if hint:
            err.print(f"hint: {hint}", markup=False)

    return warn


def fail_required(exc: HistoryError) -> NoReturn:
    report_error(exc)
    err.print("hint: --history-required: nothing is built without the history", markup=False)
    raise SystemExit(EXIT_ENGINE)


def finish_validate(session: HistorySession, report: Report, code: int) -> int:
    """Record the finished (or partial) run, or have it recorded after the command ends; the
    exit code, 3 when a required store failed."""
    if session.finish_later(report):
        return code
    recorded = session.finish(report)
    if not recorded and session.required and code in (0, 1):
        return EXIT_ENGINE
    return code


def emit(report: Report, fmt: ReportFormat, outputs: list[OutputTarget[ReportFormat]]) -> bool:
    """Every file first, then stdout; False when a file could not be written (named on stderr)."""
    from stablebuild.report.ci_surfaces import announce_validate
    from stablebuild.report.write import render

    announce_validate(report)  # partial reports too: workflow commands and step summary
    written = write_outputs(outputs, lambda out_fmt: render(report, out_fmt))
    if fmt is ReportFormat.TERMINAL:
        from rich.console import Console

        from stablebuild.report.format.terminal import TerminalFormat

        TerminalFormat().print(report, Console(highlight=False, emoji=False))
    else:
        sys.stdout.write(render(report, fmt))
    return written


def conclude(
    report: Report,
    session: HistorySession,
    fmt: ReportFormat,
    outputs: list[OutputTarget[ReportFormat]],
    *,
    changed: bool,
) -> int:
    """Judge regressions, write the report everywhere, record the run: the exit code."""
    if changed and not report.images:
        note("nothing changed since the last passing run: nothing to validate")
        return EXIT_OK
    session.judge(report)  # regression checks, in every report format
    written = emit(report, fmt, outputs)
    code = finish_validate(session, report, EXIT_OK if report.ok else EXIT_FAILED)
    return code if written else output_exit_code(code)


# --- remembering an answer --------------------------------------------------------------------


class EventLog:
    """Passes every event on, and keeps it for the memo."""

    def __init__(self, observer: Observer) -> None:
        self.observer = observer
        self.events: list[list[Any]] = []

    def __call__(self, event: Event) -> None:
        self.events.append([event.image, event.kind, event.message, event.step, event.total])
        self.observer(event)


def remember(
    validation: Validation | None,
    report: Report,
    events: EventLog,
    params: dict[str, Any],
    *,
    named_paths: Sequence[Path],
    output_paths: Sequence[Path],
    extra_args: Mapping[str, str],
) -> str | None:
    """Leave a memo of this run when it answered entirely from the cache; why not, else."""
    from stablebuild import answer
    from stablebuild.engine.inputs import base_refs
    from stablebuild.engine.unixapi import EngineSocket, Unanswered
    from stablebuild.history.session import run_redactor
    from stablebuild.report.codec import to_data

    argv = invocation
    if argv is None or validation is None:
        return "not run as the program"
    manifest, options = validation.manifest, validation.options
    why = _not_rememberable(validation, report, options) or _password_in(params["history"])
    if why is not None:
        return why
    socket = EngineSocket.from_env()
    if socket is None:
        return "the engine is not reached on a unix socket"
    data = to_data(report)
    if run_redactor(manifest, extra_args).data(data) != data:
        return "the report holds a secret value"
    images = {i.build.image_id: i.build.image_id for i in report.images if i.build.image_id}
    builds: list[tuple[Path, Mapping[str, str]]] = [
        (spec.dockerfile, {**spec.args, **options.extra_args})
        for spec in (manifest.images[i.name] for i in report.images)
    ]
    stack_used = validation.stack_inputs
    if report.stack_phase is not None and report.stack_phase.from_cache:
        if stack_used is None:
            return "the stack phase's inputs are unknown"
        images |= stack_used.images
        builds += stack_used.builds
    for dockerfile, args in builds:  # NOTE: a base image pulled again is a new answer
        try:
            text = dockerfile.read_text(encoding="utf-8")
        except OSError:
            return f"{dockerfile} cannot be read"
        refs = base_refs(text, args)
        if refs is None:
            return f"the base images of {dockerfile} cannot be told"
        images |= dict.fromkeys(refs, "")
    root = str(manifest.root)
    skip = [".stablebuild", *(os.path.relpath(p, root) for p in output_paths)]
    if not _sends_git(manifest):
        skip.append(".git")
    tree = answer.tree(root, skip)
    if tree is None:
        return f"more than {answer.MAX_ENTRIES} files under {root}"
    try:
        engine, ids = answer.EngineQuestions(socket.path, images).answers()
    except Unanswered as exc:
        return f"the engine did not answer: {exc}"
    images = {ref: ids[ref] or "" for ref in images}
    if engine is None or not all(images.values()):
        return "the engine's answers are incomplete"
    paths = answer.outside_files([str(p) for p in named_paths], root, os.environ)
    names = stack_used.environment if stack_used is not None else ()
    memo = answer.Memo(
        key=answer.memo_key(argv, os.getcwd(), os.environ),
        params=params,
        report=data,
        events=events.events,
        root=root,
        skip=skip,
        tree=tree,
        files={p: answer.signature(p) for p in paths},
        environment=answer.environment(names, os.environ),
        socket=socket.path,
        engine=engine,
        images=images,
        folders={},
        resolved={},
    )
    answer.write(memo, options.cache_dir)
    return None


def _not_rememberable(
    validation: Validation, report: Report, options: ValidateOptions
) -> str | None:
    from stablebuild.report.model import BuildStatus, CheckStatus

    if len(validation.engines) > 1:
        return "several engines"
    if not options.use_cache or options.nocache or options.keep_images:
        return "the cache was not used, or the run tags images"
    if not report.complete:
        return "the run did not finish"
    if any(i.build.status is not BuildStatus.CACHED or not i.from_cache for i in report.images):
        return "an image was built or checked in this run"
    stack = report.stack_phase
    ran = stack is not None and any(c.status is not CheckStatus.SKIPPED for c in stack.checks)
    if stack is not None and not stack.from_cache and ran:
        return "the stack phase ran"
    return None


def _password_in(history: Mapping[str, Any]) -> str | None:
    """Why the history's settings may not be kept in a memo: a store URL with a password (the
    command line's or the manifest's: a memo is a file in the user's cache)."""
    from stablebuild.history.location import masked_url

    for key in ("location", "setting"):
        text = history.get(key)
        if isinstance(text, str) and masked_url(text) != text:
            return "the history's URL holds a password"
    return None


def _sends_git(manifest: Manifest) -> bool:
    """Whether a build context sends the manifest folder's `.git` (then it counts)."""
    from stablebuild.engine.inputs import context_files

    git = (manifest.root / ".git").resolve()
    for spec in manifest.images.values():
        context = spec.context.resolve()
        if not (git == context or context in git.parents):
            continue
        inside = git.relative_to(context).as_posix()
        files = context_files(spec.context, spec.dockerfile)
        if any(f == inside or f.startswith(inside + "/") for f in files):
            return True
    return False


# --- answering from a memo --------------------------------------------------------------------


def answer(argv: list[str]) -> int | None:
    """The exit code of `stablebuild ARGV` from its remembered answer; None: run the command."""
    from stablebuild.answer import recall

    recalled = recall(argv, "validate")
    return None if recalled is None else answered(*recalled)


def answered(memo: Memo, pending: Callable[[], str | None]) -> int | None:
    """The exit code of the command line `memo` remembers, when `pending` (its checks,
    `answer.recall`) says nothing changed; None: run the command."""
    try:
        found = _remembered(memo, pending)
    except Exception:
        # NOTE: this path only ever answers; anything odd (a folder gone, a damaged or
        # foreign memo) is the full command's to meet and report.
        return None
    if found is None:
        return None
    return guarded(lambda: _replay(memo, *found))  # NOTE: ends as the full command would


def _remembered(memo: Memo, pending: Callable[[], str | None]) -> tuple[Report, Replay] | None:
    """The memo's report and parameters, when it still answers."""
    from stablebuild.report.codec import from_data

    params = memo.params
    replay = Replay(
        fmt=ReportFormat(params["format"]),
        outputs=[str(o) for o in params["outputs"]],
        changed=bool(params["changed"]),
        verbosity=None if params["verbosity"] is None else Verbosity(params["verbosity"]),
        history=HistorySettings.from_data(params["history"]),
        events=[Event(str(i), str(k), str(m), int(s), int(t)) for i, k, m, s, t in memo.events],
    )
    report = from_data(memo.report)
    # NOTE: last: the engine answered while the above was loaded and read
    return None if pending() is not None else (report, replay)


class Replay(NamedTuple):
    """A memo's parameters, checked: what the command's ending needs."""

    fmt: ReportFormat
    outputs: list[str]
    changed: bool
    verbosity: Verbosity | None
    history: HistorySettings
    events: list[Event]


def _replay(memo: Memo, report: Report, replay: Replay) -> int:
    from stablebuild import console
    from stablebuild.progress import observer_for_run
    from stablebuild.runid import new_run_id, now

    console.reset()
    if replay.verbosity is not None:
        console.choose(replay.verbosity)
    outputs = []
    if replay.outputs:  # NOTE: only then: the file-writing machinery is not free to load
        from stablebuild.outputs import parse_targets

        outputs = parse_targets(replay.outputs, ReportFormat)
    # NOTE: no secrets to mask: a report holding a secret is never remembered
    session = open_history(replay.history, Path(memo.root), None, later=True)
    report.run_id, report.started_at = new_run_id(), now()
    console.detail("remembered answer: nothing it depends on changed since it was given")
    observer, bars = observer_for_run()
    with bars or contextlib.nullcontext():
        for event in replay.events:
            observer(event)
    report.finished_at = now()
    return conclude(report, session, replay.fmt, outputs, changed=replay.changed)


__all__ = [
    "EventLog",
    "HistorySettings",
    "answer",
    "answered",
    "conclude",
    "emit",
    "fail_required",
    "finish_validate",
    "open_history",
    "printer",
    "remember",
]

"""The remembered answer of `stablebuild audit`: a tree audited again, with nothing it depends on
changed, is answered from its memo (`stablebuild.answer`) before Typer, the configuration
layer, the manifest loader or any rule family is loaded.

The full command takes down the tree and the files around it before the audit reads them
(`prepare`), runs the audit while recording what it consulted besides (`consulted`), ends
(`ending.conclude`), and leaves a memo when the answer can be given again (`remember`): the
tree and those files are as they were, and every cached index page it used is still fresh.
Never remembered: an answer from the network (an index asked, `--online-vulns`), a cached
page that failed to refresh, a rule family that failed, hadolint failing on a file (a timeout
need not repeat), `--write-baseline` (it writes a file), a manifest outside the audited
folder, and a run whose report would not come out byte for byte the same again.

`answer(argv)` (from `__main__`) checks a memo and replays it through the same ending: a text
that does not depend on the run's duration is the full command's own bytes, any other is
rendered again from the remembered result (`codec`) by the same formatter, with this run's
duration. The exit code is the answer's, 1 for findings at the threshold included.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from stablebuild import answer as memos
from stablebuild.audit.format.interface import AuditFormat
from stablebuild.console import Verbosity, detail, guarded
from stablebuild.paths import is_inside

if TYPE_CHECKING:
    from stablebuild.audit.consulted import Consulted
    from stablebuild.audit.ending import HistorySettings, Rendered
    from stablebuild.audit.result import AuditResult
    from stablebuild.history.session import HistorySession
    from stablebuild.manifest.model import Manifest

KIND = "audit"
# Folders, wherever they are under the root, that count by themselves, not by what they hold:
# git's. Whether there is one says where the work tree's root is; of what it holds only the
# root's `.git/info/exclude` is read (taken down as a file of its own). NOTE: a COPY source
# or a CI path filter naming what is inside `.git` would be judged on what is there: not
# counted (every git command changes it, and a memo that never answers helps nobody).
SHALLOW = [".git"]
SKIP = [".stablebuild"]  # stablebuild's own folder: the history, nothing audited
# Seconds before a cached index page stops being fresh that its answer stops being given.
MARGIN = 1.0
# A duration no run takes: a text the same with it is the same whatever the duration.
_OTHER_SECONDS = 1000.0

# The command line of this process, when it is the program (set by `__main__`): what a memo is
# keyed by. Tests invoking the app in-process leave it unset, and nothing is remembered.
invocation: list[str] | None = None


# --- remembering an answer --------------------------------------------------------------------


class Prepared(NamedTuple):
    """The tree and the files around it as they were before the audit read them, or why its
    answer will not be remembered."""

    root: str = ""
    skip: tuple[str, ...] = ()
    tree: dict[str, list[int]] | None = None
    files: Mapping[str, list[int] | None] = {}
    resolved: Mapping[str, str] = {}
    why_not: str | None = None


def prepare(directory: Path, *, named: Sequence[Path | None], outputs: Sequence[Path]) -> Prepared:
    """Take down what the audit of `directory` is about to read: called first of all, before
    the manifest and the settings are read. `named`: files the command line names."""
    if invocation is None:
        return Prepared(why_not="not run as the program")
    root = os.path.realpath(directory)
    skip = list(SKIP)
    for path in outputs:  # NOTE: the command's own -o files change on every run
        real = os.path.realpath(path)
        if _inside(real, root):
            skip.append(os.path.relpath(real, root))
    tree = memos.tree(root, skip, SHALLOW)
    if tree is None:
        return Prepared(why_not=f"more than {memos.MAX_ENTRIES} files under {root}")
    paths = memos.outside_files(
        [str(p) for p in named if p is not None],
        root,
        os.environ,
        above=("pyproject.toml", ".git"),
        docker=False,
    )
    paths.append(os.path.join(root, ".git", "info", "exclude"))  # read by the .gitignore rules
    return Prepared(
        root=root,
        skip=tuple(skip),
        tree=tree,
        files={p: memos.signature(p) for p in paths},
        resolved={os.path.abspath(directory): root},
    )


def settle(
    prepared: Prepared,
    manifest: Manifest | None,
    session: HistorySession | None,
    *,
    cache_dir: Path,
    baseline: Path | None,
) -> Prepared:
    """`prepared` once the manifest and the settings are known: the baseline file they name
    taken down too, or why the answer will not be remembered."""
    if prepared.why_not is not None:
        return prepared
    why = _not_rememberable(prepared.root, manifest, session, cache_dir)
    if why is not None:
        return Prepared(why_not=why)
    if baseline is None:
        return prepared
    path = os.path.abspath(baseline)
    return prepared._replace(files={**prepared.files, path: memos.signature(path)})


def _not_rememberable(
    root: str, manifest: Manifest | None, session: HistorySession | None, cache_dir: Path
) -> str | None:
    from stablebuild.history.location import masked_url

    if manifest is not None and not _inside(os.path.realpath(manifest.root), root):
        return "the manifest is outside the audited folder"
    for folder in (memos.memo_folder(), cache_dir):
        # NOTE: the audit would count the files written there, and each run writes some
        if _inside(os.path.realpath(folder), root):
            return f"the cache folder {folder} is inside the audited folder"
    if session is None:
        return None
    where = session.location
    if where.url is not None and masked_url(where.url) != where.url:
        return "the history's URL holds a password"
    own = os.path.join(root, SKIP[0])
    if where.path is not None:
        real = os.path.realpath(where.path)
        if _inside(real, root) and not _inside(real, own):
            return f"the history file {where.path} is inside the audited folder"
    return None


def remember(
    before: Prepared,
    record: Consulted,
    rendered: Rendered,
    *,
    fmt: AuditFormat,
    outputs: Sequence[str],
    code: int,
    history: HistorySettings,
    details: str,
    write_baseline: bool,
) -> str | None:
    """Leave a memo of this answer when it can be given again; why not, else."""
    from stablebuild.console import verbosity

    if before.why_not is not None:
        return before.why_not
    result = rendered.result
    why = _unrepeatable(record, result, write_baseline)
    if why is not None:
        return why
    assert before.tree is not None
    why = _changed_since(before, record)
    if why is not None:
        return f"{why} while the audit ran"
    replayable = _replayable(rendered, fmt)
    if isinstance(replayable, str):
        return replayable
    data, texts = replayable
    memo = memos.Memo(
        key=memos.memo_key(invocation or [], os.getcwd(), os.environ),
        params={
            "format": fmt.value,
            "outputs": list(outputs),
            "verbosity": int(verbosity()),
            "code": code,
            "history": history.to_data(),
            "details": details,
            "texts": texts,
        },
        report=data,
        events=[],
        root=before.root,
        skip=list(before.skip),
        tree=before.tree,
        files={**before.files, **record.files},
        environment={},
        engine={},
        images={},
        kind=KIND,
        shallow=tuple(SHALLOW),
        folders={k: v for k, v in record.folders.items() if v is not None},
        resolved=dict(before.resolved),
        expires=None if record.expires is None else record.expires - MARGIN,
    )
    memos.write(memo)
    return None


def _unrepeatable(record: Consulted, result: AuditResult, write_baseline: bool) -> str | None:
    if write_baseline:
        return "--write-baseline writes a file"
    if record.unrepeatable:
        return record.unrepeatable[0]
    if result.errors:
        return "a rule family failed"
    for folder, entries in record.folders.items():
        if entries is None:
            return f"more than {memos.MAX_ENTRIES} files under {folder}"
    return None


def _changed_since(before: Prepared, record: Consulted) -> str | None:
    """What changed since it was taken down (the audit may have read either version)."""
    if memos.tree(before.root, before.skip, SHALLOW) != before.tree:
        return f"a file under {before.root} changed"
    for path, sig in [*before.files.items(), *record.files.items()]:
        if memos.signature(path) != sig:
            return f"{path} changed"
    for folder, entries in record.folders.items():
        if memos.tree(folder, ()) != entries:
            return f"a file under {folder} changed"
    return None


def _replayable(
    rendered: Rendered, fmt: AuditFormat
) -> tuple[dict[str, Any], dict[str, str]] | str:
    """The result's data, and the texts a replay writes as they are (those the duration does
    not change), when the data renders every text written byte for byte again; else why not."""
    import json

    from stablebuild.audit import codec
    from stablebuild.audit.format import formatter

    result = rendered.result
    data = codec.to_data(result)
    data = json.loads(json.dumps(data))  # NOTE: what reading the memo will give
    again = codec.from_data(data, result.seconds)
    later = codec.from_data(data, result.seconds + _OTHER_SECONDS)
    kinds = [AuditFormat(v) for v in rendered.texts]
    if fmt is AuditFormat.TABLE:
        kinds.append(fmt)  # NOTE: on a terminal; checked as the plain text of `-o table:`
    texts: dict[str, str] = {}
    for kind in kinds:
        text = rendered.texts.get(kind.value) or formatter(kind).format(result)
        if formatter(kind).format(again) != text:
            return f"the {kind.value} report would not be the same again"
        if kind.value in rendered.texts and formatter(kind).format(later) == text:
            texts[kind.value] = text  # the same whatever the duration: the answer itself
    return data, texts


def _inside(path: str, folder: str) -> bool:
    """Whether the real path `path` is the real path `folder` or below it."""
    return is_inside(Path(path), Path(folder))


# --- answering from a memo --------------------------------------------------------------------


class Replay(NamedTuple):
    """A memo's parameters, checked: what the command's ending needs."""

    fmt: AuditFormat
    outputs: list[str]
    verbosity: Verbosity
    code: int
    history: HistorySettings
    details: str
    texts: dict[str, str]


def answer(argv: list[str]) -> int | None:
    """The exit code of `stablebuild ARGV` from its remembered answer; None: run the command."""
    started = time.perf_counter()
    try:
        found = _remembered(argv, started)
    except Exception:
        # NOTE: this path only ever answers; anything odd (a folder gone, a damaged or
        # foreign memo) is the full command's to meet and report.
        return None
    if found is None:
        return None
    return guarded(lambda: _replay(*found))  # NOTE: ends as the full command would


def _remembered(argv: list[str], started: float) -> tuple[AuditResult, Replay] | None:
    """The remembered result (with this run's duration) and parameters, when it still answers."""
    from stablebuild.audit import codec
    from stablebuild.audit.ending import HistorySettings

    recalled = memos.recall(argv, KIND)
    if recalled is None or recalled[1]() is not None:
        return None
    memo = recalled[0]
    params = memo.params
    texts = params["texts"]
    if not isinstance(texts, dict) or not all(isinstance(t, str) for t in texts.values()):
        raise ValueError("texts that are not text")
    replay = Replay(
        fmt=AuditFormat(params["format"]),
        outputs=[str(o) for o in params["outputs"]],
        verbosity=Verbosity(params["verbosity"]),
        code=int(params["code"]),
        history=HistorySettings.from_data(params["history"]),
        details=str(params["details"]),
        texts={AuditFormat(k).value: v for k, v in texts.items()},
    )
    return codec.from_data(memo.report, time.perf_counter() - started), replay


def _replay(result: AuditResult, replay: Replay) -> int:
    from stablebuild import console
    from stablebuild.audit.ending import Rendered, conclude, open_history

    console.reset()
    console.choose(replay.verbosity)
    targets = []
    if replay.outputs:  # NOTE: only then: the file-writing machinery is not free to load
        from stablebuild.outputs import parse_targets

        targets = parse_targets(replay.outputs, AuditFormat, fallback=replay.fmt)
    session = open_history(replay.history)
    detail(replay.details)
    detail(
        f"{result.files_scanned} files audited in {result.seconds:.2f} s (remembered answer: "
        "nothing it depends on changed since it was given)"
    )
    rendered = Rendered(result, replay.texts)
    return conclude(rendered, replay.fmt, targets, replay.code, session, replay.history)


__all__ = ["Prepared", "answer", "invocation", "prepare", "remember", "settle"]

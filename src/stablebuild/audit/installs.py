"""Which requirements files and lockfiles each Dockerfile installs, and from which indexes.

Read from `stages.parse`'s instructions, stage by stage: `pip install -r X`/`-c X` (also
`python -m pip`, `uv pip install`, `uv pip sync`), `COPY X`, and `RUN --mount=type=bind,source=X,
target=Y` (X is installed by that RUN; `-r Y` there means X). Image paths are mapped back to the
repository through each stage's `COPY`/`WORKDIR`; a stage built `FROM` an earlier one starts
where that one ended. The index options of each install (`--index-url`, `--extra-index-url`,
uv's `--index`, and `PIP_INDEX_URL`/`PIP_EXTRA_INDEX_URL`/`UV_*` set by ENV or ARG) come along.
"""

from __future__ import annotations

import fnmatch
import json
import posixpath
import re
from dataclasses import dataclass, field
from pathlib import Path

from stablebuild import shellwords
from stablebuild.audit import lockfiles
from stablebuild.audit.dockerfiles import parsed
from stablebuild.audit.project import Project
from stablebuild.audit.sources import per_project
from stablebuild.stages import parse_assignments

REQUIREMENTS_GLOBS = (
    "*requirements*.txt",
    "*constraints*.txt",
    "requirements/*.txt",
    "*/requirements/*.txt",
    "requirements*.lock",
)
_INSTALL_FLAGS = {"-r": "-r", "--requirement": "-r", "-c": "-c", "--constraint": "-c"}
_INDEX_FLAGS = {"-i": "index", "--index-url": "index", "--extra-index-url": "extra"}
_INDEX_FLAGS |= {"--index": "extra", "--default-index": "index"}  # uv's own spellings
# pip's and uv's environment: ENV/ARG in the Dockerfile set them for every later RUN
_INDEX_ENV = {"PIP_INDEX_URL": "index", "PIP_EXTRA_INDEX_URL": "extra"}
_INDEX_ENV |= {"UV_INDEX_URL": "index", "UV_DEFAULT_INDEX": "index"}
_INDEX_ENV |= {"UV_EXTRA_INDEX_URL": "extra", "UV_INDEX": "extra"}
_SEPARATORS = {"&&", "||", ";", "|"}
_RUN_FLAG = re.compile(r"\s*(--[a-z-]+(?:=(?:\"[^\"]*\"|'[^']*'|\S)*)?)")


@dataclass(frozen=True)
class Install:
    """A Dockerfile instruction that puts a requirements file into the image."""

    dockerfile: str
    line: int
    target: str  # the requirements file, relative posix in the repo
    how: str  # "-r", "-c", "COPY" or "mount" (RUN --mount=type=bind)
    index_url: str | None = None  # pip's --index-url (or PIP_INDEX_URL) for this install
    extra_index_urls: tuple[str, ...] = ()  # --extra-index-url and friends


def dockerfile_installs(project: Project, rel: Path) -> list[Install]:
    """Requirements files a Dockerfile installs, mapped from image paths back to the repo.

    Each stage starts from its parent stage's WORKDIR, copies and ENV (an external base: `/`,
    nothing); a `RUN --mount=type=bind` adds its files for that one RUN.
    """
    file = rel.as_posix()
    df = parsed(project, rel)
    if df is None:
        return []
    context = posixpath.dirname(file)
    known = known_files(project)
    found: list[Install] = []
    states: dict[int, _StageState] = {}
    for stage in df.stages:
        parent = df.parent(stage)
        inherited = states.get(parent.index) if parent is not None else None
        state = inherited.copy() if inherited is not None else _StageState()
        for ins in stage.instructions:
            if ins.keyword == "WORKDIR":
                state.workdir = posixpath.join(state.workdir, ins.value.strip().strip("\"'"))
            elif ins.keyword in ("ENV", "ARG"):
                for name, value in parse_assignments(ins.value, ins.keyword == "ENV"):
                    if name in _INDEX_ENV and value:
                        state.env[name] = value
            elif ins.keyword in ("COPY", "ADD"):
                found += _copy(ins.value, ins.line, file, context, known, state)
            elif ins.keyword == "RUN":
                found += _run(ins.value, ins.line, file, context, known, state)
        states[stage.index] = state
    return found


@dataclass
class _StageState:
    """What a stage has set up so far: where it is, what it copied in, pip's environment."""

    workdir: str = "/"
    copies: list[tuple[str, str]] = field(default_factory=list)  # (image path, repo path)
    env: dict[str, str] = field(default_factory=dict)

    def copy(self) -> _StageState:
        return _StageState(self.workdir, list(self.copies), dict(self.env))


def known_files(project: Project) -> set[str]:
    return per_project(project, "known-files", lambda: {f.as_posix() for f in project.files})


def _copy(
    value: str, line: int, file: str, context: str, known: set[str], state: _StageState
) -> list[Install]:
    words = _words(value)
    if any(w.startswith("--from") for w in words):
        return []
    args = [w for w in words if not w.startswith("--")]
    if len(args) < 2:
        return []
    found = []
    dest = posixpath.join(state.workdir, args[-1])
    for source in args[:-1]:
        for repo_path in _sources(source, context, known):
            into = dest
            if args[-1].endswith("/") or len(args) > 2 or repo_path != source:
                into = posixpath.join(dest, posixpath.basename(repo_path))
            state.copies.append((posixpath.normpath(into), repo_path))
            if is_requirements(repo_path):
                found.append(Install(file, line, repo_path, "COPY"))
        if source in (".", "./") or source.endswith("/"):
            base = posixpath.normpath(posixpath.join(context, source))
            state.copies.append((posixpath.normpath(dest), "" if base == "." else base))
    return found


def _run(
    value: str, line: int, file: str, context: str, known: set[str], state: _StageState
) -> list[Install]:
    flags, command = _run_flags(value)
    found: list[Install] = []
    mounts: list[tuple[str, str]] = []
    for flag in flags:
        name, _, spec = flag.partition("=")
        if name != "--mount":
            continue
        for source, target in _bind_mount(spec):
            into = posixpath.normpath(posixpath.join(state.workdir, target))
            for repo_path in _sources(source, context, known):
                mounts.append((into, repo_path))
                if is_requirements(repo_path):
                    found.append(Install(file, line, repo_path, "mount"))
            base = posixpath.normpath(posixpath.join(context, source))
            if base == "." or any(k.startswith(base + "/") for k in known):
                mounts.append((into, "" if base == "." else base))
    targets, index_url, extra = _pip_command(command)
    tool = "UV_" if "uv" in _words(command) else "PIP_"  # each reads only its own variables
    for name, env_value in state.env.items():
        if not name.startswith(tool):
            continue
        if _INDEX_ENV[name] == "index":
            index_url = index_url or env_value
        else:
            extra += env_value.split()
    for how, target in targets:
        image_path = posixpath.normpath(posixpath.join(state.workdir, target))
        resolved = _resolve(image_path, target, state.copies + mounts, known, context)
        if resolved is not None:
            found.append(Install(file, line, resolved, how, index_url, tuple(extra)))
    return found


def _run_flags(value: str) -> tuple[list[str], str]:
    """`--mount=... --network=none pip install ...` -> (the flags, the command)."""
    flags = []
    position = 0
    while (match := _RUN_FLAG.match(value, position)) is not None:
        flags.append(match.group(1))
        position = match.end()
    return flags, value[position:]


def _bind_mount(spec: str) -> list[tuple[str, str]]:
    """(source, target) of a `type=bind` mount (bind is BuildKit's default type); none for a
    mount from another stage or image, a cache, a secret."""
    fields: dict[str, str] = {}
    for part in spec.strip("\"'").split(","):
        key, _, value = part.partition("=")
        fields[key.strip().lower()] = value.strip()
    if fields.get("type", "bind") != "bind" or "from" in fields:
        return []
    source = fields.get("source") or fields.get("src") or "."
    target = fields.get("target") or fields.get("dst") or fields.get("destination")
    return [(source, target)] if target else []


def _words(value: str) -> list[str]:
    if value.lstrip().startswith("["):
        try:
            parsed = json.loads(value)
            return [str(w) for w in parsed] if isinstance(parsed, list) else []
        except json.JSONDecodeError:
            pass
    try:
        return shellwords.split(value)
    except ValueError:
        return value.split()


def _sources(source: str, context: str, known: set[str]) -> list[str]:
    """Repo files a COPY source names (globs allowed), relative to the Dockerfile's folder."""
    results: list[str] = []
    for base in dict.fromkeys((context, "")):
        pattern = posixpath.normpath(posixpath.join(base, source))
        if any(c in pattern for c in "*?["):
            results += sorted(k for k in known if fnmatch.fnmatchcase(k, pattern))
        elif pattern in known:
            results.append(pattern)
        if results:
            break
    return results


_REQUIREMENTS = re.compile("|".join(fnmatch.translate(g) for g in REQUIREMENTS_GLOBS))


def is_requirements(path: str) -> bool:
    """A requirements file or a lockfile, by name or path (`Project.matching`'s rule, at once)."""
    if lockfiles.is_lockfile(path):
        return True
    return bool(_REQUIREMENTS.match(path) or _REQUIREMENTS.match(posixpath.basename(path)))


def _pip_command(command: str) -> tuple[list[tuple[str, str]], str | None, list[str]]:
    """(-r|-c, path) for each pip/uv requirements option in one RUN instruction's command, and
    the index options given with them (--index-url, --extra-index-url, uv's --index)."""
    targets: list[tuple[str, str]] = []
    index_url: str | None = None
    extra: list[str] = []
    in_pip = False
    words = _words(command)
    for i, word in enumerate(words):
        flag, eq, inline = word.partition("=")
        if word in _SEPARATORS:
            in_pip = False
        elif "pip" in posixpath.basename(word) or word == "uv":
            in_pip = True
        elif not in_pip:
            continue
        elif word in _INSTALL_FLAGS and i + 1 < len(words):
            targets.append((_INSTALL_FLAGS[word], words[i + 1]))
        elif eq and flag in _INSTALL_FLAGS:
            targets.append((_INSTALL_FLAGS[flag], inline))
        elif flag in _INDEX_FLAGS and (eq or i + 1 < len(words)):
            url = _index_url(inline if eq else words[i + 1])
            if _INDEX_FLAGS[flag] == "index":
                index_url = index_url or url
            else:
                extra.append(url)
        elif re.fullmatch(r"-[rc]\S+\.(txt|in|lock)", word):
            targets.append((word[:2], word[2:]))
        elif words[i - 1] == "sync" and word.endswith((".txt", ".lock")):
            targets.append(("-r", word))
    return targets, index_url, extra


def _index_url(value: str) -> str:
    """uv's `--index name=URL` names the index; pip's values are the URL itself."""
    name, eq, url = value.partition("=")
    return url if eq and "://" in url and "://" not in name else value


def _resolve(
    image_path: str, written: str, copies: list[tuple[str, str]], known: set[str], context: str
) -> str | None:
    for into, repo_path in reversed(copies):
        if into == image_path and repo_path in known:
            return repo_path
        if image_path.startswith(into.rstrip("/") + "/"):
            candidate = posixpath.normpath(
                posixpath.join(repo_path, image_path[len(into) :].lstrip("/"))
            )
            if candidate in known:
                return candidate
    for base in dict.fromkeys((context, "")):  # not copied in a way we can follow: guess
        candidate = posixpath.normpath(posixpath.join(base, written.lstrip("/")))
        if candidate in known:
            return candidate
    name = posixpath.basename(image_path)
    same_name = [k for k in known if posixpath.basename(k) == name and is_requirements(k)]
    return same_name[0] if len(same_name) == 1 else None

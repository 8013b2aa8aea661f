"""SB2xx: pin drift between requirements files, and which requirements files images install.

Also builds the requirements inventory the wheel and vulnerability rules share: every
requirements file parsed once, their include closures, and the files Dockerfiles install
(`pip install -r X`, `-c X`, `COPY X`), read from dockerfile-parse's instructions.
"""

from __future__ import annotations

import fnmatch
import json
import posixpath
import re
import shlex
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from stablebuild.audit.finding import Finding, Severity
from stablebuild.audit.options import AuditOptions
from stablebuild.audit.project import Project
from stablebuild.audit.python_version import dockerfile_instructions, dockerfiles, per_project
from stablebuild.audit.requirements import Pin, RequirementsFile, RequirementsReader
from stablebuild.audit.requirements import project_reader as _reader

REQUIREMENTS_GLOBS = (
    "*requirements*.txt",
    "*constraints*.txt",
    "requirements/*.txt",
    "*/requirements/*.txt",
    "requirements*.lock",
)
PIN_WORDS = ("stable", "lock", "pinned")
_INSTALL_FLAGS = {"-r": "-r", "--requirement": "-r", "-c": "-c", "--constraint": "-c"}
_SEPARATORS = {"&&", "||", ";", "|"}


@dataclass(frozen=True)
class Install:
    """A Dockerfile instruction that puts a requirements file into the image."""

    dockerfile: str
    line: int
    target: str  # the requirements file, relative posix in the repo
    how: str  # "-r", "-c" or "COPY"


@dataclass(frozen=True)
class Inventory:
    files: dict[str, RequirementsFile]  # every parsed file, includes too
    closures: dict[str, tuple[str, ...]]  # file -> itself and everything it includes
    installs: tuple[Install, ...]
    pin_files: tuple[str, ...]  # files that must hold exact pins
    exact_demanded: bool  # the manifest asks for exact pins (errors, not warnings)
    named: tuple[str, ...]  # files the manifest names
    problems: tuple[Finding, ...]  # parse and include problems, each once

    def installed(self) -> set[str]:
        """Files some Dockerfile installs or copies in, with everything they include."""
        return {f for i in self.installs for f in self.closures.get(i.target, (i.target,))}

    def wheel_files(self) -> list[str]:
        """Whose pins must have wheels: installed or manifest-named, else pin files, else all."""
        chosen = self.installed() | {f for n in self.named for f in self.closures.get(n, (n,))}
        if not chosen:
            chosen = {f for p in self.pin_files for f in self.closures.get(p, (p,))}
        if not chosen:
            chosen = set(self.files)
        return sorted(f for f in chosen if f in self.files)


def inventory(project: Project) -> Inventory:
    return per_project(project, "requirements-inventory", lambda: _build(project))


def run(project: Project, options: AuditOptions) -> list[Finding]:
    inv = inventory(project)
    findings = list(inv.problems)
    findings += _unpinned(inv)
    findings += _conflicts_and_duplicates(inv)
    findings += _not_installed(inv)
    return findings


def _build(project: Project) -> Inventory:
    reader = RequirementsReader(_reader(project))
    installs = [i for rel in dockerfiles(project) for i in _installs(project, rel)]
    manifest = project.manifest
    named: list[str] = []
    if manifest is not None:
        for req_path in manifest.requirements:
            try:
                named.append(req_path.resolve().relative_to(project.root).as_posix())
            except ValueError:
                continue
    roots = {f.as_posix() for f in project.matching(*REQUIREMENTS_GLOBS)}
    roots |= {i.target for i in installs if i.how != "COPY"} | set(named)
    files: dict[str, RequirementsFile] = {}
    closures: dict[str, tuple[str, ...]] = {}
    problems: dict[tuple[str, int | None, str], Finding] = {}
    for root in sorted(roots):
        members, include_problems = reader.closure(root)
        closures[root] = tuple(m.path for m in members)
        for member in members:
            files[member.path] = member
            for f in (*member.findings, *include_problems):
                problems.setdefault((f.file, f.line, f.message), f)
    for path in list(files):  # included files get their own closure too
        if path not in closures:
            closures[path] = tuple(m.path for m in reader.closure(path)[0])
    if named:
        pin_files = tuple(n for n in named if n in files)
    else:
        pin_files = tuple(p for p in files if any(w in Path(p).name.lower() for w in PIN_WORDS))
    demanded = manifest is not None and manifest.audit.exact_pins
    return Inventory(
        files=files,
        closures=closures,
        installs=tuple(installs),
        pin_files=pin_files,
        exact_demanded=demanded,
        named=tuple(named),
        problems=tuple(problems.values()),
    )


def _unpinned(inv: Inventory) -> list[Finding]:
    findings: list[Finding] = []
    seen: set[str] = set()
    severity = Severity.ERROR if inv.exact_demanded else Severity.WARNING
    for pin_file in inv.pin_files:
        for path in inv.closures.get(pin_file, (pin_file,)):
            if path in seen or path not in inv.files:
                continue
            seen.add(path)
            for pin in inv.files[path].entries:
                if pin.exact_version is not None or pin.url is not None:
                    continue
                why = "has no version" if not str(pin.specifier) else "is a range"
                findings.append(
                    Finding(
                        "SB201",
                        severity,
                        pin.file,
                        pin.line,
                        f"{pin.raw} {why}; {pin_file} must pin every package exactly",
                        f"pin the version that was tested: {pin.name}==<version> "
                        "(pip freeze or pip-compile gives it)",
                    )
                )
    return findings


def _key(pin: Pin) -> tuple[str, str | None]:
    return pin.name, pin.marker


def _conflicts_and_duplicates(inv: Inventory) -> list[Finding]:
    findings: list[Finding] = []
    for rf in inv.files.values():
        first: dict[tuple[str, str | None], Pin] = {}
        for pin in rf.entries:
            earlier = first.setdefault(_key(pin), pin)
            if earlier is not pin and str(earlier.specifier) == str(pin.specifier):
                findings.append(
                    Finding(
                        "SB204",
                        Severity.WARNING,
                        pin.file,
                        pin.line,
                        f"{pin.name} is listed twice in {pin.file} (first at line {earlier.line})",
                        "delete one of the two entries",
                    )
                )
    conflicted: set[tuple[str, int]] = set()
    for closure in inv.closures.values():
        chosen: dict[tuple[str, str | None], Pin] = {}
        for path in reversed(closure):  # includes first: the including file's pin is flagged
            for pin in inv.files[path].entries if path in inv.files else ():
                if pin.exact_version is None:
                    continue
                earlier = chosen.setdefault(_key(pin), pin)
                if earlier.exact_version != pin.exact_version and (
                    (pin.file, pin.line) not in conflicted
                ):
                    conflicted.add((pin.file, pin.line))
                    findings.append(
                        Finding(
                            "SB203",
                            Severity.ERROR,
                            pin.file,
                            pin.line,
                            f"{pin.name}=={pin.exact_version} conflicts with "
                            f"{pin.name}=={earlier.exact_version} at {earlier.file}:{earlier.line}"
                            ", installed together: pip stops with ResolutionImpossible",
                            "keep one version for the package in the files installed together",
                        )
                    )
    by_name: dict[tuple[str, str | None], dict[str, Pin]] = defaultdict(dict)
    preferred = set(inv.pin_files) | inv.installed()
    for path in sorted(inv.files, key=lambda p: (p not in preferred, p)):
        for pin in inv.files[path].entries:
            if pin.exact_version is not None:
                by_name[_key(pin)].setdefault(pin.exact_version, pin)
    for versions in by_name.values():
        if len(versions) < 2:
            continue
        reference, *others = versions.values()
        for pin in others:
            if (pin.file, pin.line) in conflicted:
                continue
            findings.append(
                Finding(
                    "SB202",
                    Severity.WARNING,
                    pin.file,
                    pin.line,
                    f"{pin.name} is pinned to {pin.exact_version} here but to "
                    f"{reference.exact_version} in {reference.file}:{reference.line}",
                    "pin one version everywhere, or generate the looser file from the pins",
                )
            )
    return findings


def _not_installed(inv: Inventory) -> list[Finding]:
    if not inv.installs:
        return []
    installed = inv.installed()
    used = sorted(
        {i for i in inv.installs if i.how != "COPY"}, key=lambda i: (i.dockerfile, i.line)
    )
    findings = []
    for pin_file in inv.pin_files:
        if pin_file in installed or not used:
            continue
        other = next((i for i in used if i.target != pin_file), None)
        if other is None:
            continue
        findings.append(
            Finding(
                "SB205",
                Severity.WARNING,
                pin_file,
                None,
                f"{pin_file} holds the pins, but no Dockerfile installs it: "
                f"{other.dockerfile}:{other.line} installs {other.target} instead",
                f"install the pins (pip install -r {pin_file}) or add `-c {pin_file}` "
                f"to {other.target}",
            )
        )
    return findings


def _installs(project: Project, rel: Path) -> list[Install]:
    """Requirements files a Dockerfile installs, mapped from image paths back to the repo."""
    file = rel.as_posix()
    context = posixpath.dirname(file)
    known = {f.as_posix() for f in project.files}
    workdir = "/"
    copies: list[tuple[str, str]] = []  # (image path, repo path), file or folder
    found: list[Install] = []
    for ins in dockerfile_instructions(project, rel):
        line = int(ins["startline"]) + 1
        value = str(ins["value"])
        kind = ins["instruction"]
        if kind == "WORKDIR":
            workdir = posixpath.join(workdir, value.strip().strip("\"'"))
        elif kind in ("COPY", "ADD"):
            words = _words(value)
            if any(w.startswith("--from") for w in words):
                continue
            args = [w for w in words if not w.startswith("--")]
            if len(args) < 2:
                continue
            dest = posixpath.join(workdir, args[-1])
            for source in args[:-1]:
                for repo_path in _sources(source, context, known):
                    into = dest
                    if args[-1].endswith("/") or len(args) > 2 or repo_path != source:
                        into = posixpath.join(dest, posixpath.basename(repo_path))
                    copies.append((posixpath.normpath(into), repo_path))
                    if _is_requirements(repo_path):
                        found.append(Install(file, line, repo_path, "COPY"))
                if source in (".", "./") or source.endswith("/"):
                    base = posixpath.normpath(posixpath.join(context, source))
                    copies.append((posixpath.normpath(dest), "" if base == "." else base))
        elif kind == "RUN":
            for how, target in _pip_targets(value):
                image_path = posixpath.normpath(posixpath.join(workdir, target))
                resolved = _resolve(image_path, target, copies, known, context)
                if resolved is not None:
                    found.append(Install(file, line, resolved, how))
    return found


def _words(value: str) -> list[str]:
    if value.lstrip().startswith("["):
        try:
            parsed = json.loads(value)
            return [str(w) for w in parsed] if isinstance(parsed, list) else []
        except json.JSONDecodeError:
            pass
    try:
        return shlex.split(value, comments=False)
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


def _is_requirements(path: str) -> bool:
    name = posixpath.basename(path)
    return any(fnmatch.fnmatch(path, g) or fnmatch.fnmatch(name, g) for g in REQUIREMENTS_GLOBS)


def _pip_targets(command: str) -> list[tuple[str, str]]:
    """(-r|-c, path) for each pip/uv requirements option in one RUN instruction's command."""
    targets: list[tuple[str, str]] = []
    in_pip = False
    words = _words(command)
    for i, word in enumerate(words):
        if word in _SEPARATORS:
            in_pip = False
        elif "pip" in posixpath.basename(word) or word == "uv":
            in_pip = True
        elif not in_pip:
            continue
        elif word in _INSTALL_FLAGS and i + 1 < len(words):
            targets.append((_INSTALL_FLAGS[word], words[i + 1]))
        elif "=" in word and word.split("=", 1)[0] in _INSTALL_FLAGS:
            flag, path = word.split("=", 1)
            targets.append((_INSTALL_FLAGS[flag], path))
        elif re.fullmatch(r"-[rc]\S+\.(txt|in|lock)", word):
            targets.append((word[:2], word[2:]))
        elif words[i - 1] == "sync" and word.endswith((".txt", ".lock")):
            targets.append(("-r", word))
    return targets


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
    same_name = [k for k in known if posixpath.basename(k) == name and _is_requirements(k)]
    return same_name[0] if len(same_name) == 1 else None

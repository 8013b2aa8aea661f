"""SB2xx: pin drift between requirements files, and which requirements files images install.

Also builds the requirements inventory the wheel and vulnerability rules share: every
requirements file parsed once, their include closures, the lockfiles (uv.lock, poetry.lock,
Pipfile.lock, pdm.lock) read as pins, the files Dockerfiles install (`installs.py`), and the
package indexes pip asks for each file's pins.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from stablebuild.audit import lockfiles
from stablebuild.audit.dockerfiles import dockerfile_paths
from stablebuild.audit.finding import Finding, Severity
from stablebuild.audit.installs import (
    Install,
    dockerfile_installs,
    is_requirements,
    known_files,
)
from stablebuild.audit.options import AuditOptions
from stablebuild.audit.project import Project
from stablebuild.audit.releases import DistFile
from stablebuild.audit.requirements import Pin, RequirementsFile, RequirementsReader
from stablebuild.audit.requirements import project_reader as _reader
from stablebuild.audit.rule import Rule
from stablebuild.audit.sources import per_project

SB201 = Rule(
    "SB201",
    "RequirementNotPinned",
    Severity.WARNING,
    "Requirement not pinned exactly where exact pins are demanded",
    "A range or a bare name in a pin file, or in a file it includes (`httpx>=0.27` in "
    "`requirements-stable.txt`): the image installs whatever is newest on build day. An "
    "**error** when the manifest demands exact pins.",
    "pin the version that was tested: `httpx==0.27.0` (pip freeze or pip-compile gives it)",
)
SB202 = Rule(
    "SB202",
    "PinDrift",
    Severity.WARNING,
    "Same package pinned to different versions in two files",
    "The same package is pinned to different versions in two files not installed together "
    "(`psycopg2-binary==2.9.9` in `requirements.txt`, `==2.9.10` in `requirements-stable.txt`); "
    "a lockfile counts, but two versions inside one lock are forks per Python or platform, not "
    "drift.",
    "pin one version everywhere, or generate the looser file from the pins",
)
SB203 = Rule(
    "SB203",
    "ConflictingPins",
    Severity.ERROR,
    "Conflicting pins inside one install closure",
    "Conflicting exact pins in files installed together: a file and its `-r`/`-c` includes "
    "(`-r base.txt` pins `anyio==4.3.0`, the file pins `anyio==4.4.0`). pip stops with "
    "ResolutionImpossible.",
    "keep one version for the package in the files installed together",
)
SB204 = Rule(
    "SB204",
    "DuplicateRequirement",
    Severity.WARNING,
    "Duplicate entry in a requirements file",
    "The same requirement twice in one file (`redis==5.0.1` on two lines).",
    "delete one of the two entries",
)
SB205 = Rule(
    "SB205",
    "PinsFileNotInstalled",
    Severity.WARNING,
    "Pins file that no Dockerfile installs",
    "A pin file no Dockerfile installs (by `-r`, `-c`, `COPY` or a bind mount) while another "
    "requirements file is installed: `requirements-stable.txt` holds the pins, the Dockerfile "
    "runs `pip install -r requirements.txt`, so the tested versions never reach the image.",
    "install the pins (`pip install -r requirements-stable.txt`), or add "
    "`-c requirements-stable.txt` to the file that is installed",
)

PIN_WORDS = ("stable", "lock", "pinned")


@dataclass(frozen=True)
class Indexes:
    """The package indexes pip asks for a file's pins: `index_url` None means the default."""

    index_url: str | None = None
    extra: tuple[str, ...] = ()

    def merged(self, other: Indexes) -> Indexes:
        extra = tuple(dict.fromkeys((*self.extra, *other.extra)))
        return Indexes(self.index_url or other.index_url, extra)


class Closures(Mapping[str, tuple[str, ...]]):
    """File -> itself and everything it includes.

    Iterating gives only the closures walked from the top (files nothing walked before
    includes, and those installed or named): every other closure is inside one of them. An
    included file's own closure is walked when asked for: walking each of a chain of n
    includes up front would take n * n steps.
    """

    def __init__(self, reader: RequirementsReader) -> None:
        self._reader = reader
        self._walked: dict[str, tuple[str, ...]] = {}
        self._asked: dict[str, tuple[str, ...]] = {}

    def walked(self, root: str, members: tuple[str, ...]) -> None:
        self._walked[root] = members

    def __getitem__(self, path: str) -> tuple[str, ...]:
        if path in self._walked:
            return self._walked[path]
        if path not in self._asked:
            if not self._reader.known(path):
                raise KeyError(path)
            self._asked[path] = tuple(m.path for m in self._reader.closure(path)[0])
        return self._asked[path]

    def __iter__(self) -> Iterator[str]:
        return iter(self._walked)

    def __len__(self) -> int:
        return len(self._walked)


@dataclass(frozen=True)
class Inventory:
    files: dict[str, RequirementsFile]  # every parsed file, includes too
    closures: Mapping[str, tuple[str, ...]]  # file -> itself and everything it includes
    installs: tuple[Install, ...]
    pin_files: tuple[str, ...]  # files that must hold exact pins
    exact_demanded: bool  # the manifest asks for exact pins (errors, not warnings)
    named: tuple[str, ...]  # files the manifest names
    problems: tuple[Finding, ...]  # parse and include problems, each once
    lockfiles: frozenset[str] = frozenset()  # which of `files` are lockfiles
    recorded: Mapping[tuple[str, int], tuple[DistFile, ...]] = field(default_factory=dict)
    dev_only: frozenset[tuple[str, int]] = frozenset()  # lockfile pins only dev groups need
    indexes: Mapping[str, Indexes] = field(default_factory=dict)  # file -> where pip looks
    pin_indexes: Mapping[tuple[str, int], str] = field(default_factory=dict)  # a lock's own

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


def indexes_for(inv: Inventory, pin: Pin) -> Indexes:
    """Where pip looks for this pin: the options of every install and file that brings it in."""
    found = inv.indexes.get(pin.file, Indexes())
    own = inv.pin_indexes.get((pin.file, pin.line))
    return Indexes(own, found.extra) if own else found


def run(project: Project, options: AuditOptions) -> list[Finding]:
    inv = inventory(project)
    findings = list(inv.problems)
    findings += _unpinned(inv)
    findings += _conflicts_and_duplicates(inv)
    findings += _not_installed(inv)
    return findings


def _build(project: Project) -> Inventory:
    reader = RequirementsReader(_reader(project))
    installs = [i for rel in dockerfile_paths(project) for i in dockerfile_installs(project, rel)]
    manifest = project.manifest
    named: list[str] = []
    if manifest is not None:
        for req_path in manifest.requirements:
            try:
                named.append(req_path.resolve().relative_to(project.root).as_posix())
            except ValueError:
                continue
    locks = {f.as_posix() for f in project.files if f.name in lockfiles.LOCKFILE_NAMES}
    locks |= {n for n in named if lockfiles.is_lockfile(n)}
    roots = {f for f in known_files(project) if is_requirements(f) and not lockfiles.is_lockfile(f)}
    roots |= {i.target for i in installs if i.how not in ("COPY", "mount")} | set(named)
    roots -= locks
    files: dict[str, RequirementsFile] = {}
    closures = Closures(reader)
    problems: dict[tuple[str, int | None, str], Finding] = {}
    asked = {i.target for i in installs} | set(named)
    for root in sorted(roots):
        if root in files and root not in asked:
            continue  # included by a file walked before: that walk holds its whole closure
        members, include_problems = reader.closure(root)
        closures.walked(root, tuple(m.path for m in members))
        for member in members:
            files[member.path] = member
            for f in (*member.findings, *include_problems):
                problems.setdefault((f.file, f.line, f.message), f)
    recorded: dict[tuple[str, int], tuple[DistFile, ...]] = {}
    dev_only: set[tuple[str, int]] = set()
    pin_indexes: dict[tuple[str, int], str] = {}
    for lock_path in sorted(locks):
        lock = lockfiles.read(project, Path(lock_path))
        files[lock_path] = lock.requirements
        closures.walked(lock_path, (lock_path,))
        for f in lock.requirements.findings:
            problems.setdefault((f.file, f.line, f.message), f)
        recorded.update(lock.recorded)
        dev_only |= lock.dev_only
        pin_indexes.update(lock.indexes)
    if named:
        pin_files = tuple(n for n in named if n in files)
    else:
        pin_files = tuple(
            p for p in files if p not in locks and any(w in Path(p).name.lower() for w in PIN_WORDS)
        )
    demanded = manifest is not None and manifest.audit.exact_pins
    return Inventory(
        files=files,
        closures=closures,
        installs=tuple(installs),
        pin_files=pin_files,
        exact_demanded=demanded,
        named=tuple(named),
        problems=tuple(problems.values()),
        lockfiles=frozenset(locks & set(files)),
        recorded=recorded,
        dev_only=frozenset(dev_only),
        indexes=_indexes(files, closures, installs),
        pin_indexes=pin_indexes,
    )


def _indexes(
    files: Mapping[str, RequirementsFile],
    closures: Mapping[str, tuple[str, ...]],
    installs: list[Install],
) -> dict[str, Indexes]:
    """pip's index options apply to a whole invocation: every file installed with another."""
    out: dict[str, Indexes] = {}

    def add(members: Iterable[str], found: Indexes) -> None:
        if found.index_url or found.extra:
            for member in members:
                out[member] = out.get(member, Indexes()).merged(found)

    for members in closures.values():
        index_url, extra = None, []
        for member in members:
            for option in files[member].options if member in files else ():
                if option.name == "--index-url" and option.value:
                    index_url = index_url or option.value
                elif option.name == "--extra-index-url" and option.value:
                    extra.append(option.value)
        add(members, Indexes(index_url, tuple(extra)))
    for install in installs:
        members = closures.get(install.target, (install.target,))
        add(members, Indexes(install.index_url, install.extra_index_urls))
    return out


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
                    SB201.finding(
                        pin.file,
                        pin.line,
                        f"{pin.raw} {why}; {pin_file} must pin every package exactly",
                        f"pin the version that was tested: {pin.name}==<version> "
                        "(pip freeze or pip-compile gives it)",
                        severity,
                    )
                )
    return findings


def _key(pin: Pin) -> tuple[str, str | None]:
    return pin.name, pin.marker


def _conflicts_and_duplicates(inv: Inventory) -> list[Finding]:
    findings: list[Finding] = []
    for rf in inv.files.values():
        if rf.path in inv.lockfiles:
            continue  # NOTE: a resolver wrote it; forked versions (with markers) are not twins
        first: dict[tuple[str, str | None], Pin] = {}
        for pin in rf.entries:
            earlier = first.setdefault(_key(pin), pin)
            if earlier is not pin and str(earlier.specifier) == str(pin.specifier):
                findings.append(
                    SB204.finding(
                        pin.file,
                        pin.line,
                        f"{pin.name} is listed twice in {pin.file} (first at line {earlier.line})",
                    )
                )
    conflicted: set[tuple[str, int]] = set()
    for root, closure in inv.closures.items():
        if root in inv.lockfiles:
            continue
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
                        SB203.finding(
                            pin.file,
                            pin.line,
                            f"{pin.name}=={pin.exact_version} conflicts with "
                            f"{pin.name}=={earlier.exact_version} at {earlier.file}:{earlier.line}"
                            ", installed together: pip stops with ResolutionImpossible",
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
            if pin.file == reference.file and pin.file in inv.lockfiles:
                continue  # one lock, two versions: a fork per Python or platform
            findings.append(
                SB202.finding(
                    pin.file,
                    pin.line,
                    f"{pin.name} is pinned to {pin.exact_version} here but to "
                    f"{reference.exact_version} in {reference.file}:{reference.line}",
                )
            )
    return findings


def _not_installed(inv: Inventory) -> list[Finding]:
    if not inv.installs:
        return []
    installed = inv.installed()
    used = sorted(
        {i for i in inv.installs if i.how not in ("COPY", "mount")},
        key=lambda i: (i.dockerfile, i.line),
    )
    findings = []
    for pin_file in inv.pin_files:
        if pin_file in installed or not used:
            continue
        other = next((i for i in used if i.target != pin_file), None)
        if other is None:
            continue
        findings.append(
            SB205.finding(
                pin_file,
                None,
                f"{pin_file} holds the pins, but no Dockerfile installs it: "
                f"{other.dockerfile}:{other.line} installs {other.target} instead",
                f"install the pins (pip install -r {pin_file}) or add `-c {pin_file}` "
                f"to {other.target}",
            )
        )
    return findings

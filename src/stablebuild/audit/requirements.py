"""Parse pip requirements files the way pip reads them, keeping every entry's file and line.

Built on `packaging`: comments, blank lines, `\\` continuations, `-r`/`-c` includes (relative to
the including file, cycles detected), `--hash` and other pip options. A malformed line becomes a
Finding, never an exception. Nothing here knows about rules: `stablebuild validate` reuses it to
learn the versions an image must honour.
"""

from __future__ import annotations

import os
import posixpath
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

from stablebuild import shellwords
from stablebuild.audit.finding import Finding, Severity
from stablebuild.audit.project import Project
from stablebuild.audit.rule import Rule
from stablebuild.textfile import Unreadable, Why

SB200 = Rule(
    "SB200",
    "MalformedRequirement",
    Severity.ERROR,
    "Malformed or unknown line in a requirements file",
    "A line pip cannot parse (`this is not a requirement`). A **warning** for an unknown pip "
    "option, which pip may reject.",
    "write the requirement as PEP 508 (`name[extras]==version ; marker`)",
)
SB206 = Rule(
    "SB206",
    "IncludeMissing",
    Severity.ERROR,
    "Include (-r/-c) outside the audited folder or missing",
    "An include pip cannot open (`-r missing.txt`). **info** when it leads outside the audited "
    "folder (an absolute path, `../`, a URL, or a symlink leading out): it is not followed.",
    "fix the path; includes are relative to the including file",
)
SB207 = Rule(
    "SB207",
    "IncludeCycle",
    Severity.ERROR,
    "Include cycle between requirements files",
    "An include cycle (`a.txt: -r b.txt`, `b.txt: -r a.txt`), said once per cycle.",
    "remove one of the includes; pip follows -r/-c without cycle detection",
)

# relative posix path -> text, or why it was not read (None: it does not exist)
ReadText = Callable[[str], "str | Unreadable | None"]

# pip's `(^|\s+)#.*$` backtracks over every run of spaces (quadratic on a 1 MB line); a `#`
# that starts the line or follows a space is the same comment, found in linear time.
_COMMENT = re.compile(r"(?:^|(?<=\s))#.*$")
_EGG = re.compile(r"#egg=([A-Za-z0-9][A-Za-z0-9._-]*)")
_INCLUDE = {"-r": "requirement", "--requirement": "requirement"}
_INCLUDE |= {"-c": "constraint", "--constraint": "constraint"}
_VALUED = {
    "-i": "--index-url",
    "--index-url": "--index-url",
    "--extra-index-url": "--extra-index-url",
    "-f": "--find-links",
    "--find-links": "--find-links",
    "--trusted-host": "--trusted-host",
    "--no-binary": "--no-binary",
    "--only-binary": "--only-binary",
    "--use-feature": "--use-feature",
    "-e": "--editable",
    "--editable": "--editable",
}
_FLAGS = {"--no-index", "--pre", "--prefer-binary", "--require-hashes", "-Z"}


@dataclass(frozen=True)
class Pin:
    """One named requirement: `name` is canonical; `exact_version` is set for `==`/`===` pins."""

    name: str
    specifier: SpecifierSet
    exact_version: str | None
    extras: frozenset[str]
    marker: str | None
    file: str
    line: int
    raw: str
    url: str | None = None
    hashes: tuple[str, ...] = ()
    editable: bool = False
    constraint: bool = False  # read from a `-c` file: limits versions, installs nothing


@dataclass(frozen=True)
class Include:
    kind: str  # "requirement" (-r) or "constraint" (-c)
    target: str  # relative posix path as resolved against the including file
    file: str
    line: int


@dataclass(frozen=True)
class PipOption:
    name: str  # long form, e.g. "--index-url", "--no-binary", "--editable"
    value: str | None
    file: str
    line: int


@dataclass(frozen=True)
class RequirementsFile:
    path: str  # relative posix
    entries: tuple[Pin, ...] = ()
    includes: tuple[Include, ...] = ()
    options: tuple[PipOption, ...] = ()
    findings: tuple[Finding, ...] = ()
    readable: bool = True
    unreadable: Unreadable | None = None  # why it was not read, when it exists

    @property
    def pins(self) -> dict[str, str]:
        return pins_of([self])


class RequirementsReader:
    """Parses each file once; `closure` follows includes with cycle detection."""

    def __init__(self, read: ReadText) -> None:
        self._read = read
        self._files: dict[str, RequirementsFile] = {}
        self._cycles: set[frozenset[str]] = set()  # each cycle reported once, from any root

    def file(self, path: str, *, constraint: bool = False) -> RequirementsFile:
        key = posixpath.normpath(path)
        if key not in self._files:
            text = self._read(key)
            if text is None or isinstance(text, Unreadable):
                self._files[key] = RequirementsFile(key, readable=False, unreadable=text)
            else:
                self._files[key] = parse_text(text, key, constraint=constraint)
        return self._files[key]

    def known(self, path: str) -> bool:
        """Whether `path` was parsed already (as a walked file or one of its includes)."""
        return posixpath.normpath(path) in self._files

    def closure(self, path: str) -> tuple[list[RequirementsFile], list[Finding]]:
        """The file and every file it includes, depth first, each once; include problems.

        NOTE: walked with an explicit stack: a chain of 2,000 `-r` includes is as deep as
        Python's recursion limit."""
        seen: dict[str, RequirementsFile] = {}
        problems: list[Finding] = []
        start = posixpath.normpath(path)
        seen[start] = self.file(start)
        # Each frame: the file, whether it is read as constraints, and its next include.
        frames: list[tuple[str, bool, int]] = [(start, False, 0)]
        open_paths = {start}
        while frames:
            current, constraint, index = frames[-1]
            includes = seen[current].includes
            if index >= len(includes):
                frames.pop()
                open_paths.discard(current)
                continue
            frames[-1] = (current, constraint, index + 1)
            inc = includes[index]
            if inc.target in open_paths:
                self._cycle(inc, [frame[0] for frame in frames], problems)
                continue
            if inc.target in seen:
                continue
            if _outside(inc.target):
                where = f"include {inc.target} lies outside the audited folder; not followed"
                problems.append(_outside_finding(inc, where))
                continue
            as_constraint = constraint or inc.kind == "constraint"
            target = self.file(inc.target, constraint=as_constraint)
            seen[inc.target] = target
            if not target.readable:
                problems.append(_unreadable_finding(inc, target.unreadable))
                continue
            frames.append((inc.target, as_constraint, 0))
            open_paths.add(inc.target)
        return list(seen.values()), problems

    def _cycle(self, inc: Include, open_paths: list[str], problems: list[Finding]) -> None:
        """An include back to a file still being walked: one SB207 per cycle, from any root."""
        path = open_paths[-1]
        if inc.target == path:
            cycle = f"{path} -> {path}"
        else:
            cycle = " -> ".join([*open_paths[open_paths.index(inc.target) :], inc.target])
        members = frozenset(cycle.split(" -> "))
        if members in self._cycles:
            return
        self._cycles.add(members)
        message = f"include cycle: {cycle}"
        problems.append(_finding(SB207, inc, message))


def _outside(target: str) -> bool:
    """An include the audit must not follow: absolute, above the root, or a URL."""
    return target.startswith("/") or target == ".." or target.startswith("../") or "://" in target


def _outside_finding(inc: Include, message: str) -> Finding:
    hint = "audit from a folder that holds every requirements file"
    return _finding(SB206, inc, message, hint, Severity.INFO)


def _unreadable_finding(inc: Include, why: Unreadable | None) -> Finding:
    if why is not None and why.why is Why.OUTSIDE:  # a symlink inside the root leading out
        reason = why.reason.removesuffix("; not read")
        return _outside_finding(inc, f"include {inc.target}: {reason}; not followed")
    flag = "-c" if inc.kind == "constraint" else "-r"
    reason = "pip cannot open this requirements file" if why is None else why.reason
    return _finding(SB206, inc, f"{flag} {inc.target}: {reason}")


def parse_requirements(project: Project, rel_path: str | Path) -> RequirementsFile:
    """One requirements file of the project (includes are listed, not followed)."""
    return RequirementsReader(project_reader(project)).file(Path(rel_path).as_posix())


def project_reader(project: Project) -> ReadText:
    def read(rel: str) -> str | Unreadable | None:
        path = Path(rel)
        if not os.path.lexists(project.root / path):
            return None
        return project.read(path)

    return read


def pins_of(files: Iterable[RequirementsFile]) -> dict[str, str]:
    """Canonical name -> exact version, over every `==` pin that installs something.

    Later files win, as pip's resolver would reject a conflict anyway; marker-guarded pins count.
    """
    result: dict[str, str] = {}
    for f in files:
        for pin in f.entries:
            if pin.exact_version is not None and not pin.constraint:
                result[pin.name] = pin.exact_version
    return result


def logical_lines(text: str) -> Iterator[tuple[int, str]]:
    """(first line number, line) after joining `\\` continuations and dropping comments."""
    start = 0
    parts: list[str] = []
    for number, physical in enumerate(text.splitlines(), start=1):
        if not parts:
            start = number
        if physical.endswith("\\") and not physical.lstrip().startswith("#"):
            parts.append(physical[:-1])
            continue
        parts.append(physical)
        line = _COMMENT.sub("", " ".join(p.strip() for p in parts)).strip()
        parts = []
        if line:
            yield start, line
    if parts:
        line = _COMMENT.sub("", " ".join(p.strip() for p in parts)).strip()
        if line:
            yield start, line


def parse_text(text: str, path: str, *, constraint: bool = False) -> RequirementsFile:
    """Parse one file's text; `path` is its relative posix path, used for includes and places."""
    entries: list[Pin] = []
    includes: list[Include] = []
    options: list[PipOption] = []
    findings: list[Finding] = []
    here = posixpath.dirname(path)
    for number, line in logical_lines(text):
        if line.startswith("-"):
            _option_line(line, path, number, here, includes, options, entries, findings)
            continue
        pin = _requirement(line, path, number, findings, constraint=constraint)
        if pin is not None:
            entries.append(pin)
    return RequirementsFile(path, tuple(entries), tuple(includes), tuple(options), tuple(findings))


def _option_line(
    line: str,
    path: str,
    number: int,
    here: str,
    includes: list[Include],
    options: list[PipOption],
    entries: list[Pin],
    findings: list[Finding],
) -> None:
    try:
        tokens = shellwords.split(line)
    except ValueError as exc:
        findings.append(_malformed(path, number, line, str(exc)))
        return
    name, _, value = tokens[0].partition("=")
    if not value and name.startswith("-") and not name.startswith("--") and len(name) > 2:
        name, value = name[:2], name[2:]  # -rbase.txt
    if not value and len(tokens) > 1:
        value = tokens[1]
    if name in _INCLUDE:
        if not value:
            findings.append(_malformed(path, number, line, f"{name} needs a file name"))
            return
        target = value if "://" in value else posixpath.normpath(posixpath.join(here, value))
        includes.append(Include(_INCLUDE[name], target, path, number))
    elif name in _VALUED:
        if not value:
            findings.append(_malformed(path, number, line, f"{name} needs a value"))
            return
        options.append(PipOption(_VALUED[name], value, path, number))
        if _VALUED[name] == "--editable":
            pin = _direct_reference(value, path, number, line, editable=True)
            if pin is not None:
                entries.append(pin)
    elif name in _FLAGS:
        options.append(PipOption(name, None, path, number))
    else:
        findings.append(
            SB200.finding(
                path,
                number,
                f"unknown pip option {name!r}; pip may reject this file",
                "remove the option or move it to the pip command line",
                Severity.WARNING,
            )
        )


def _requirement(
    line: str, path: str, number: int, findings: list[Finding], *, constraint: bool
) -> Pin | None:
    spec, hashes = _split_entry_options(line)
    if _looks_like_path_or_url(spec):
        return _direct_reference(spec, path, number, line, editable=False)
    try:
        req = Requirement(spec)
    except InvalidRequirement as exc:
        findings.append(_malformed(path, number, line, str(exc).splitlines()[0]))
        return None
    exact = None
    specs = list(req.specifier)
    if len(specs) == 1 and specs[0].operator in ("==", "===") and "*" not in specs[0].version:
        exact = specs[0].version
    return Pin(
        name=canonicalize_name(req.name),
        specifier=req.specifier,
        exact_version=exact,
        extras=frozenset(canonicalize_name(e) for e in req.extras),
        marker=str(req.marker) if req.marker else None,
        file=path,
        line=number,
        raw=line,
        url=req.url,
        hashes=hashes,
        constraint=constraint,
    )


def _split_entry_options(line: str) -> tuple[str, tuple[str, ...]]:
    """`pkg==1 --hash=sha256:..` -> ("pkg==1", hashes); pip splits on the first `-` token."""
    tokens = line.split(" ")
    for i, token in enumerate(tokens):
        if i > 0 and token.startswith("-"):
            rest = tokens[i:]
            hashes = [t.split("=", 1)[1] for t in rest if t.startswith("--hash=")]
            hashes += [rest[j + 1] for j, t in enumerate(rest[:-1]) if t == "--hash"]
            return " ".join(tokens[:i]).strip(), tuple(hashes)
    return line, ()


def _looks_like_path_or_url(spec: str) -> bool:
    if "://" in spec.split("@", 1)[0] or spec.startswith(("git+", "hg+", "svn+", "bzr+")):
        return True
    return spec.startswith((".", "/")) or spec.endswith((".whl", ".tar.gz", ".zip"))


def _direct_reference(spec: str, path: str, number: int, raw: str, *, editable: bool) -> Pin | None:
    """A path or URL requirement: named from `#egg=` or the wheel file name, when possible."""
    egg = _EGG.search(spec)
    name: str | None = egg.group(1) if egg else None
    version: str | None = None
    base = spec.rsplit("/", 1)[-1].split("#", 1)[0]
    if name is None and base.endswith(".whl") and base.count("-") >= 4:
        name, version = base.split("-")[:2]
    if name is None:
        return None  # a local project (`-e .`): nothing to pin or look up
    return Pin(
        name=canonicalize_name(name),
        specifier=SpecifierSet(f"=={version}" if version else ""),
        exact_version=None,
        extras=frozenset(),
        marker=None,
        file=path,
        line=number,
        raw=raw,
        url=spec,
        editable=editable,
    )


def _malformed(path: str, number: int, line: str, why: str) -> Finding:
    return SB200.finding(
        path,
        number,
        f"pip cannot parse this line ({why}): {line[:80]}",
        "write the requirement as PEP 508 (name[extras]==version ; marker)",
    )


def _finding(
    rule: Rule,
    inc: Include,
    message: str,
    hint: str | None = None,
    severity: Severity | None = None,
) -> Finding:
    return rule.finding(inc.file, inc.line, message, hint, severity)

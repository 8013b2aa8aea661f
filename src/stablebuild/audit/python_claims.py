"""Where a repository names a Python version: the claims the SB1xx rules judge.

Read, never run: `.python-version` (pyenv's first line), Heroku's `runtime.txt`, Dockerfile
`ARG PYTHON_VERSION=` defaults and `FROM` images (stages parsed, so `FROM python` naming an
earlier stage is that stage), the Python of non-`python:` bases where the Dockerfile tells it
(`image_python`), compose services, CI jobs (GitHub Actions, GitLab; a matrix is one group) and
pyproject `requires-python`. Each claim carries the folder it belongs to, so the SB1xx rules can
find the project that owns it.
"""

from __future__ import annotations

import importlib
import posixpath
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import yaml
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import Version

from stablebuild import shellwords
from stablebuild.audit import image_python, yamlnode
from stablebuild.audit.finding import Finding, Severity
from stablebuild.audit.project import Project
from stablebuild.audit.rule import Rule
from stablebuild.audit.sources import read_text
from stablebuild.stages import ParsedDockerfile, parse, parse_assignments, substitute

SB104 = Rule(
    "SB104",
    "PythonVersionUndetermined",
    Severity.WARNING,
    "Python version cannot be determined (floating tag or variable)",
    "A Python version that cannot be determined and floats, so it can change under you: "
    "`FROM python:latest`, `FROM python:3-slim`, a `.python-version` that says `system`.",
    "name an exact version such as 3.12.7 (or at least 3.12)",
)
SB105 = Rule(
    "SB105",
    "PyprojectUnparsable",
    Severity.WARNING,
    "pyproject.toml (or a version source) does not parse",
    "`pyproject.toml` does not parse (the finding has the TOML parser's line), or its "
    '`requires-python` is not a valid specifier (`requires-python = "3.12+"`): pip cannot '
    "build the project either.",
    "fix the TOML syntax; write requires-python as PEP 440 specifiers, e.g. '>=3.12,<3.14'",
)
SB106 = Rule(
    "SB106",
    "RequiresPythonUnchecked",
    Severity.INFO,
    "requires-python not checked (no TOML parser)",
    "`requires-python` was not checked: stablebuild runs on Python 3.10 without `tomli`, so it "
    "has no TOML parser.",
    "pip install tomli, or run stablebuild on Python 3.11+",
)

WORKFLOW_GLOBS = (".github/workflows/*.yml", ".github/workflows/*.yaml", ".gitlab-ci.yml")
VERSION_KEYS = {"python-version", "python_version", "PYTHON_VERSION", "PY_VERSION"}
IMAGE_KEYS = {"image", "container", "name"}
ARG_NAMES = {"PYTHON_VERSION", "PY_VERSION", "PYTHON"}

_VERSION = re.compile(r"^(?:cpython-|python-?)?(\d+)\.(\d+)(?:\.(\d+))?(?![\d.])")
_REQUIRES_LINE = re.compile(r"^\s*requires-python\s*=")


@dataclass(frozen=True)
class VersionClaim:
    """One place naming a Python version; `version` is None where it floats (python:3, latest)."""

    source: (
        str  # ".python-version", "runtime.txt", "manifest", "Dockerfile ARG", "compose", "CI"...
    )
    file: str
    line: int | None
    raw: str
    version: Version | None
    group: str | None = None  # a CI matrix: it agrees when any member agrees
    folder: str = "."  # where the place lives, for finding its owning project
    how: str = ""  # how a Dockerfile tells it without a python: base ("RUN installs python3.11")
    inferred: bool = False  # not written anywhere: the distribution's python3 (a weaker claim)

    @property
    def minor(self) -> tuple[int, int] | None:
        return None if self.version is None else (self.version.major, self.version.minor)

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file


@dataclass(frozen=True)
class RequiresPython:
    file: str
    line: int | None
    raw: str
    specifier: SpecifierSet

    def admits(self, version: Version) -> bool:
        """Whether some release of `version`'s minor (or that exact patch) satisfies it."""
        candidates = [version, Version(f"{version.major}.{version.minor}.99")]
        if len(version.release) < 3:
            candidates.append(Version(f"{version.major}.{version.minor}"))
        return any(self.specifier.contains(v, prereleases=True) for v in candidates)


@dataclass(frozen=True)
class UnknownPython:
    """A Dockerfile that runs Python on a base that does not say which."""

    file: str
    line: int
    base: str


def parse_version(raw: str) -> Version | None:
    match = _VERSION.match(raw.strip())
    if match is None:
        return None
    return Version(".".join(g for g in match.groups() if g is not None))


def python_image_tag(ref: str) -> tuple[bool, str | None]:
    """(is the official python image, its tag or None for latest) for `[registry/]python:tag`."""
    ref = ref.split("@", 1)[0]
    name, tag = ref, None
    if ":" in ref.rsplit("/", 1)[-1]:
        name, tag = ref.rsplit(":", 1)
    return name.rsplit("/", 1)[-1] == "python", tag


def folder_of(rel: Path) -> str:
    return rel.parent.as_posix()


def _floating(file: str, line: int | None, what: str) -> Finding:
    return SB104.finding(
        file,
        line,
        f"{what}: the Python version cannot be determined, so it can change under you",
    )


def python_version_file(
    project: Project, rel: Path, findings: list[Finding]
) -> Iterator[VersionClaim]:
    text = read_text(project, rel)
    if text is None:
        return
    for number, line in enumerate(text.splitlines(), start=1):
        raw = line.split("#", 1)[0].strip()
        if not raw:
            continue
        version = parse_version(raw)
        if version is None:
            findings.append(_floating(rel.as_posix(), number, f".python-version says {raw!r}"))
        else:
            yield VersionClaim(
                ".python-version", rel.as_posix(), number, raw, version, None, folder_of(rel)
            )
        return  # pyenv uses the first version named


def runtime_txt(project: Project, rel: Path) -> Iterator[VersionClaim]:
    """Heroku-style `python-3.12.7`; a runtime.txt saying anything else is someone else's."""
    text = read_text(project, rel)
    first = (text or "").strip().splitlines()[:1]
    if first and first[0].strip().startswith("python-"):
        raw = first[0].strip()
        version = parse_version(raw)
        if version is not None:
            yield VersionClaim("runtime.txt", rel.as_posix(), 1, raw, version, None, folder_of(rel))


def dockerfile_claims(
    project: Project,
    rel: Path,
    folder: str,
    findings: list[Finding],
    unknown: list[UnknownPython],
) -> Iterator[VersionClaim]:
    text = read_text(project, rel)
    if text is None:
        return
    file = rel.as_posix()
    df = parse(text)
    found: list[VersionClaim] = []

    def claim(
        source: str, line: int, raw: str, version: Version, how: str = "", inferred: bool = False
    ) -> None:
        found.append(VersionClaim(source, file, line, raw, version, None, folder, how, inferred))

    arg_lines = [(a.name, a.default, a.line) for a in df.global_args]
    arg_lines += [
        (name, default, ins.line)
        for stage in df.stages
        for ins in stage.instructions
        if ins.keyword == "ARG"
        for name, default in parse_assignments(ins.value, False)
    ]
    for name, default, line in arg_lines:
        if name not in ARG_NAMES or not default or "$" in default:
            continue
        if name == "PYTHON" and not default[:1].isdigit():
            continue  # `ARG PYTHON=python3`: an interpreter's name, not a version
        version = parse_version(default)
        if version is None:
            findings.append(_floating(file, line, f"ARG {name}={default}"))
        else:
            claim("Dockerfile ARG", line, default, version)
    python_base = False
    for stage in df.stages:
        image = substitute(stage.image, df.global_defaults())
        if image and df.resolve_stage_ref(image, stage.index) is not None:
            continue  # `FROM builder`, `FROM python` naming an earlier stage: that stage's Python
        official, tag = python_image_tag(image or "")
        if image and official:
            python_base = True
            version = parse_version(tag or "")
            if "$" not in stage.image:
                if version is None:
                    findings.append(_floating(file, stage.line, f"FROM {image}"))
                else:
                    claim("Dockerfile FROM", stage.line, tag or "", version)
            elif version is not None and not any(c.source == "Dockerfile ARG" for c in found):
                claim("Dockerfile FROM", stage.line, tag or "", version)
    for stage in df.stages:
        root = df.root(stage)  # not df.chain(stage)[0]: a walk per stage is quadratic
        base = df.base_image(stage)
        if base is not None and python_image_tag(base)[0]:
            continue
        for item in image_python.stage_pythons(base, root.line, list(stage.instructions)):
            version = parse_version(item.version)
            if version is not None:
                claim("Dockerfile", item.line, item.version, version, item.how, not item.explicit)
    if not found and not python_base and df.stages and _runs_python(df):
        first = df.stages[0]
        base = substitute(first.image, df.global_defaults()) or first.image
        unknown.append(UnknownPython(file, first.line, base))
    yield from found


def _runs_python(df: ParsedDockerfile) -> bool:
    return image_python.uses_python([i for s in df.stages for i in s.instructions])


def compose_claims(
    project: Project, rel: Path, contexts: dict[tuple[str, str], str]
) -> Iterator[VersionClaim]:
    root = _yaml(project, rel)
    file = rel.as_posix()
    for service, _, node in yamlnode.items(yamlnode.value(root, "services")):
        folder = contexts.get((file, service), folder_of(rel))
        yield from _node_claims(node, file, "compose", folder)


def ci_claims(project: Project, rel: Path) -> Iterator[VersionClaim]:
    root = _yaml(project, rel)
    file = rel.as_posix()
    github = rel.name != ".gitlab-ci.yml"
    repo = rel.parent.parent.parent if github else rel.parent
    default_wd = _github_wd(yamlnode.value(root, "defaults")) if github else None
    for key, _, node in yamlnode.items(root):
        folder = repo.as_posix()
        if github and key == "jobs":
            for _, _, job in yamlnode.items(node):
                wd = _github_wd(yamlnode.value(job, "defaults")) or default_wd
                yield from _node_claims(job, file, "CI", _join(repo, wd))
            continue
        if not github and isinstance(node, yaml.MappingNode):
            folder = _join(repo, _gitlab_cd(node))
        yield from _node_claims(node, file, "CI", folder)


def _yaml(project: Project, rel: Path) -> yaml.Node | None:
    text = project.text(rel)
    try:
        return yamlnode.compose(text) if text is not None else None
    except yamlnode.YamlProblem:
        return None  # NOTE: the compose/CI rule family reports YAML that does not parse


def _github_wd(defaults: yaml.Node | None) -> str | None:
    return yamlnode.scalar(yamlnode.value(yamlnode.value(defaults, "run"), "working-directory"))


def _gitlab_cd(job: yaml.Node) -> str | None:
    """The folder a GitLab job's first script command changes into (`cd services/api`)."""
    for key in ("before_script", "script"):
        for command, _ in yamlnode.strings(yamlnode.value(job, key))[:1]:
            try:
                words = shellwords.split(command.split("&&")[0])
            except ValueError:
                return None
            return words[1] if len(words) == 2 and words[0] == "cd" else None
    return None


def _join(repo: Path, wd: str | None) -> str:
    if not wd or any(c in wd for c in "$`{~"):
        return repo.as_posix()
    joined = posixpath.normpath(posixpath.join(repo.as_posix(), wd))
    return "." if joined.startswith("..") or joined.startswith("/") else joined


def _node_claims(
    node: yaml.Node | None, file: str, source: str, folder: str
) -> Iterator[VersionClaim]:
    """Version claims anywhere under one YAML node; a CI matrix is one group."""
    stack = [node] if node is not None else []
    while stack:
        current = stack.pop()
        if isinstance(current, yaml.SequenceNode):
            stack.extend(current.value)
        if not isinstance(current, yaml.MappingNode):
            continue
        for key_node, value_node in current.value:
            key = str(key_node.value) if isinstance(key_node, yaml.ScalarNode) else ""
            if key == "matrix" and isinstance(value_node, (yaml.MappingNode, yaml.SequenceNode)):
                yield from _matrix(value_node, file, source, folder)
                continue
            if key in VERSION_KEYS:
                yield from _version_node(value_node, file, source, folder)
            elif key in IMAGE_KEYS and isinstance(value_node, yaml.ScalarNode):
                official, tag = python_image_tag(str(value_node.value))
                version = parse_version(tag or "")
                if official and version is not None:
                    line = yamlnode.line(value_node)
                    yield VersionClaim(source, file, line, tag or "", version, None, folder)
            elif key == "args" and isinstance(value_node, yaml.SequenceNode):
                for raw_item, item in yamlnode.strings(value_node):
                    name, _, raw = raw_item.partition("=")
                    version = parse_version(raw)
                    if name in VERSION_KEYS and version is not None:
                        yield VersionClaim(
                            source, file, yamlnode.line(item), raw, version, None, folder
                        )
            stack.append(value_node)


def _matrix(node: yaml.Node, file: str, source: str, folder: str) -> Iterator[VersionClaim]:
    """Every version a CI matrix runs: its own lists and what `include:` adds (never `exclude:`);
    GitHub's `strategy.matrix` and GitLab's `parallel.matrix` list."""
    group = f"{file}:{yamlnode.line(node)}"
    for entry in yamlnode.sequence(node):
        for key, _, value in yamlnode.items(entry):
            if key in VERSION_KEYS:
                yield from _version_node(value, file, source, folder, group)
            elif key == "include":
                for item in yamlnode.sequence(value):
                    for name, _, member in yamlnode.items(item):
                        if name in VERSION_KEYS:
                            yield from _version_node(member, file, source, folder, group)


def _version_node(
    node: yaml.Node, file: str, source: str, folder: str, group: str | None = None
) -> Iterator[VersionClaim]:
    if isinstance(node, yaml.ScalarNode):
        version = parse_version(str(node.value))
        if version is not None:
            yield VersionClaim(
                source, file, yamlnode.line(node), str(node.value), version, group, folder
            )
    elif isinstance(node, yaml.SequenceNode):
        group = group or f"{file}:{yamlnode.line(node)}"
        for raw, item in yamlnode.strings(node):
            if (version := parse_version(raw)) is not None:
                yield VersionClaim(source, file, yamlnode.line(item), raw, version, group, folder)


def _toml() -> ModuleType | None:
    for name in ("tomllib", "tomli"):
        try:
            return importlib.import_module(name)
        except ModuleNotFoundError:
            continue
    return None


def requires_python(
    project: Project, rel: Path, findings: list[Finding]
) -> Iterator[RequiresPython]:
    text = read_text(project, rel)
    if text is None:
        return
    file = rel.as_posix()
    toml = _toml()
    if toml is None:
        findings.append(
            SB106.finding(
                file,
                None,
                "requires-python not checked: no TOML parser on this Python (3.10 without tomli)",
            )
        )
        return
    try:
        data = toml.loads(text)
    except Exception as exc:  # tomllib.TOMLDecodeError; the module is loaded dynamically
        match = re.search(r"line (\d+)", str(exc))
        findings.append(
            SB105.finding(
                file,
                int(match.group(1)) if match else None,
                f"pyproject.toml does not parse: {exc}",
                "fix the TOML syntax; pip cannot build this project either",
            )
        )
        return
    raw = data.get("project", {}).get("requires-python") if isinstance(data, dict) else None
    if not isinstance(raw, str):
        return
    line = next(
        (n for n, t in enumerate(text.splitlines(), start=1) if _REQUIRES_LINE.match(t)), None
    )
    try:
        yield RequiresPython(file, line, raw, SpecifierSet(raw))
    except InvalidSpecifier:
        findings.append(
            SB105.finding(
                file,
                line,
                f"requires-python {raw!r} is not a valid version specifier",
                "write it as PEP 440 specifiers, e.g. '>=3.12,<3.14'",
            )
        )


__all__ = [
    "ARG_NAMES",
    "IMAGE_KEYS",
    "VERSION_KEYS",
    "WORKFLOW_GLOBS",
    "RequiresPython",
    "UnknownPython",
    "VersionClaim",
    "ci_claims",
    "compose_claims",
    "dockerfile_claims",
    "folder_of",
    "parse_version",
    "python_image_tag",
    "python_version_file",
    "requires_python",
    "runtime_txt",
]

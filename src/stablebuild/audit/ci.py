"""SB5xx CI rules: workflow path filters and commands that name files the repository lacks.

GitHub Actions (`.github/workflows/*.yml`) and GitLab CI (`.gitlab-ci.yml`). Only confident cases
are judged: `docker build -f`, `docker compose -f`, `pip install -r/-c`, `python X.py`,
`bash|sh X.sh`, `./X.sh`; anything with a variable, an expression or a wildcard is left alone.
"""

from __future__ import annotations

import os
import posixpath
import re
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path

import yaml

from stablebuild import shellwords
from stablebuild.audit import yamlnode
from stablebuild.audit.compose import yaml_finding
from stablebuild.audit.finding import Finding, Severity
from stablebuild.audit.options import AuditOptions
from stablebuild.audit.project import Project
from stablebuild.audit.rule import Rule

SB510 = Rule(
    "SB510",
    "CiPathFilterMatchesNothing",
    Severity.WARNING,
    "CI path filter matches no file",
    "A CI path filter matches no file, so the trigger never fires: GitHub Actions "
    "`on.<event>.paths` (GitHub glob syntax; `!` negations skipped), GitLab `rules:changes` and "
    "`only/except:changes`.",
    "fix the pattern or remove it; paths are relative to the repository root",
)
SB511 = Rule(
    "SB511",
    "CiCommandFileMissing",
    Severity.ERROR,
    "CI command names a file that does not exist",
    "A CI command names a file that does not exist. Only confident forms are read: "
    "`docker build -f PATH`, `docker compose -f PATH`, `pip install -r/-c PATH` (also "
    "`python -m pip`, `uv pip`), `python PATH.py`, `bash|sh PATH.sh`, `./PATH.sh`; relative to "
    "the step's `working-directory`. Anything with a variable, `${{ }}` expression or wildcard "
    "is left alone, except the checkout root (`${{ github.workspace }}`, `$GITHUB_WORKSPACE`, "
    '`$CI_PROJECT_DIR`). CI builds are read too (see "CI builds" below): a workflow building '
    "`Dockerfile.new` that does not exist is an error at the workflow's `file:` line.",
    "fix the path, or create the file; paths are relative to the working directory",
)
SB512 = Rule(
    "SB512",
    "GitlabIncludeMissing",
    Severity.ERROR,
    "GitLab CI local include does not exist",
    "A GitLab CI `include: local:` file does not exist.",
    "fix the include path (relative to the repository root)",
)

WORKFLOW_PATTERNS = (".github/workflows/*.yml", ".github/workflows/*.yaml")
_GITLAB_RESERVED = {
    "stages",
    "variables",
    "default",
    "include",
    "workflow",
    "image",
    "services",
    "cache",
    "types",
    "before_script",
    "after_script",
}
_SCRIPT_KEYS = ("before_script", "script", "after_script")
_SEPARATOR = re.compile(r"&&|\|\||;|\|")
_UNSAFE = ("$", "`", "*", "?", "~", "{{", "<", ">")
_PY = re.compile(r"^python(\d(\.\d+)?)?$")
# `docker build` flags that take no value; any other flag is read as taking one.
_BUILD_SWITCHES = frozenset(
    [
        "--no-cache",
        "--pull",
        "--push",
        "--load",
        "-q",
        "--quiet",
        "--rm",
        "--force-rm",
        "--squash",
        "--compress",
        "--disable-content-trust",
        "--check",
    ]
)
# The checkout's root, as CI variables name it.
_WORKSPACE = (
    ("${{ github.workspace }}", "."),
    ("${{github.workspace}}", "."),
    ("${GITHUB_WORKSPACE}", "."),
    ("$GITHUB_WORKSPACE", "."),
    ("${CI_PROJECT_DIR}", "."),
    ("$CI_PROJECT_DIR", "."),
)


def run(project: Project, options: AuditOptions) -> list[Finding]:
    findings: list[Finding] = []
    files = [(rel, _github) for rel in project.matching(*WORKFLOW_PATTERNS)]
    files += [(rel, _gitlab) for rel in project.files if rel.name == ".gitlab-ci.yml"]
    for rel, judge in files:
        text = project.text(rel)
        if text is None:
            continue
        try:
            root = yamlnode.compose(text)
        except yamlnode.YamlProblem as problem:
            findings.append(yaml_finding(rel.as_posix(), problem))
            continue
        findings += judge(project, rel, root)
    return findings


# GitHub Actions ---------------------------------------------------------------------------
def _github(project: Project, rel: Path, root: yaml.Node | None) -> list[Finding]:
    out: list[Finding] = []
    for event, _, trigger in yamlnode.items(yamlnode.value(root, "on")):
        for pattern, node in yamlnode.strings(yamlnode.value(trigger, "paths")):
            if not pattern.startswith("!") and not glob_exists(project, pattern, "github"):
                msg = f"on.{event}.paths '{pattern}' matches no file: the trigger never fires"
                out.append(_f(SB510, rel, yamlnode.line(node), msg))
    default_wd = _working_dir(yamlnode.value(root, "defaults"))
    for _, _, job in yamlnode.items(yamlnode.value(root, "jobs")):
        job_wd = _working_dir(yamlnode.value(job, "defaults")) or default_wd
        steps = yamlnode.sequence(yamlnode.value(job, "steps"))
        if not any(_elsewhere(step) for step in steps):
            out += [f for step in steps for f in _build_action(project, rel, step)]
        for step in steps:
            script = yamlnode.value(step, "run")
            wd_node = yamlnode.value(step, "working-directory")
            wd = yamlnode.scalar(wd_node) if wd_node is not None else job_wd
            if script is not None and (wd is None or not any(u in wd for u in _UNSAFE)):
                out += _script(project, rel, script, wd or "")
    return out


def _working_dir(defaults: yaml.Node | None) -> str | None:
    return yamlnode.scalar(yamlnode.value(yamlnode.value(defaults, "run"), "working-directory"))


def _elsewhere(step: yaml.Node) -> bool:
    """A checkout into a subfolder, or of another repository: workspace paths are not ours."""
    uses = yamlnode.scalar(yamlnode.value(step, "uses")) or ""
    options = yamlnode.value(step, "with")
    return uses.startswith("actions/checkout") and (
        yamlnode.value(options, "path") is not None
        or yamlnode.value(options, "repository") is not None
    )


def _build_action(project: Project, rel: Path, step: yaml.Node) -> list[Finding]:
    """`docker/build-push-action`: `with.context` and `with.file` (default `{context}/Dockerfile`),
    both relative to the workspace, must exist."""
    uses = yamlnode.scalar(yamlnode.value(step, "uses")) or ""
    if not uses.startswith("docker/build-push-action@"):
        return []
    options = yamlnode.value(step, "with")
    context_node = yamlnode.value(options, "context")
    file_node = yamlnode.value(options, "file")
    context = yamlnode.scalar(context_node) or "."
    context = context.removeprefix("{{defaultContext}}:") if context_node is not None else "."
    if _unsure(context):
        return []
    where = yamlnode.line(context_node) if context_node is not None else yamlnode.line(step)
    if not (project.root / context).is_dir():
        msg = f"docker/build-push-action context '{context}', which does not exist"
        return [_f(SB511, rel, where, msg)]
    file = yamlnode.scalar(file_node)
    if file_node is not None and file is not None:
        where = yamlnode.line(file_node)
    else:
        file = posixpath.join(context, "Dockerfile")
    if _unsure(file) or (project.root / file).is_file():
        return []
    how = "file" if file_node is not None else "file (default: the context's Dockerfile)"
    msg = f"docker/build-push-action {how} '{file}', which does not exist"
    return [_f(SB511, rel, where, msg)]


def _unsure(path: str) -> bool:
    target = Path(path)
    return (
        any(u in path for u in _UNSAFE)
        or "://" in path
        or path.startswith("git@")
        or target.is_absolute()
        or ".." in target.parts
    )


# GitLab CI --------------------------------------------------------------------------------
def _gitlab(project: Project, rel: Path, root: yaml.Node | None) -> list[Finding]:
    out: list[Finding] = []
    out += _gitlab_includes(project, rel, yamlnode.value(root, "include"))
    scripts = [yamlnode.value(root, key) for key in _SCRIPT_KEYS]
    scripts += [yamlnode.value(yamlnode.value(root, "default"), k) for k in _SCRIPT_KEYS]
    for name, _, job in yamlnode.items(root):
        if name in _GITLAB_RESERVED or not isinstance(job, yaml.MappingNode):
            continue
        scripts += [yamlnode.value(job, key) for key in _SCRIPT_KEYS]
        changes = [
            yamlnode.value(r, "changes") for r in yamlnode.sequence(yamlnode.value(job, "rules"))
        ]
        changes += [yamlnode.value(yamlnode.value(job, k), "changes") for k in ("only", "except")]
        for node in changes:
            paths = yamlnode.value(node, "paths") if isinstance(node, yaml.MappingNode) else node
            for pattern, item in yamlnode.strings(paths):
                if not glob_exists(project, pattern, "gitlab", rel.parent):
                    msg = f"changes: '{pattern}' (job '{name}') matches no file"
                    out.append(_f(SB510, rel, yamlnode.line(item), msg))
    for node in scripts:
        for item in yamlnode.sequence(node):
            out += _script(project, rel, item, "", rel.parent)
    return out


def _gitlab_includes(project: Project, rel: Path, include: yaml.Node | None) -> list[Finding]:
    out = []
    for item in yamlnode.sequence(include):
        path = yamlnode.scalar(item)
        node: yaml.Node | None = item
        if path is None:
            node = yamlnode.value(item, "local")
            path = yamlnode.scalar(node)
        elif "://" in path:
            continue
        if path is None or node is None or any(u in path for u in _UNSAFE[:2]):
            continue
        if not glob_exists(project, path.lstrip("/"), "gitlab", rel.parent):
            msg = f"include: local file '{path}' does not exist"
            out.append(_f(SB512, rel, yamlnode.line(node), msg))
    return out


# Commands ---------------------------------------------------------------------------------
def _script(
    project: Project, rel: Path, node: yaml.Node, wd: str, base: Path = Path(".")
) -> list[Finding]:
    """Commands of one script; paths relative to `base` (the CI file's repository) and `wd`."""
    text = yamlnode.scalar(node)
    if text is None:
        return []
    first = yamlnode.line(node) + (1 if getattr(node, "style", None) in ("|", ">") else 0)
    out = []
    missing: set[tuple[int, Path]] = set()
    for offset, path, why in script_references(text):
        target = Path(wd) / path
        if target.is_absolute() or ".." in target.parts or (offset, target.parent) in missing:
            continue
        if not (project.root / base / target).exists():
            missing.add((offset, target))
            msg = (
                f"{why} '{path}'"
                + (f" (in {wd})" if wd not in ("", ".") else "")
                + ", which does not exist"
            )
            out.append(_f(SB511, rel, first + offset, msg))
    return out


def script_references(script: str) -> Iterator[tuple[int, str, str]]:
    """(line offset, path, what names it) for each confident file reference in a shell script."""
    offset, pending, start = 0, "", 0
    for offset, raw in enumerate(script.splitlines()):
        if not pending:
            start = offset
        if raw.rstrip().endswith("\\"):
            pending += raw.rstrip()[:-1] + " "
            continue
        logical, pending = pending + raw, ""
        for name, value in _WORKSPACE:
            logical = logical.replace(name, value)
        for part in _SEPARATOR.split(logical):
            try:
                words = shellwords.split(part, comments=True)
            except ValueError:
                continue
            for path, why in _command_refs(words):
                if not any(u in path for u in _UNSAFE) and "://" not in path:
                    yield start, path, why


def _command_refs(words: list[str]) -> Iterator[tuple[str, str]]:
    while words and (words[0] in ("sudo", "time", "exec", "env") or "=" in words[0]):
        words = words[1:]
    if not words:
        return
    tool = words[0].rsplit("/", 1)[-1]
    rest = words[1:]
    if tool == "docker-compose" or (tool in ("docker", "podman") and "compose" in rest):
        yield from ((p, "compose -f") for p in _option_values(rest, ("-f", "--file")))
    elif tool in ("docker", "podman") and "build" in rest:
        files = _option_values(rest, ("-f", "--file"))
        yield from ((p, f"{tool} build -f") for p in files)
        context = _build_context(rest)
        if context is not None:
            yield context, f"{tool} build context"
            if not files and tool == "docker":
                yield posixpath.join(context, "Dockerfile"), "docker build (no -f) reads"
    elif tool == "executor":  # kaniko
        yield from ((p, "kaniko --dockerfile") for p in _option_values(rest, ("--dockerfile",)))
        yield from ((p, "kaniko --context") for p in _option_values(rest, ("--context",)))
    elif (tool in ("pip", "pip3") or (_PY.match(tool) and rest[:2] == ["-m", "pip"])) or (
        tool == "uv" and rest[:1] == ["pip"]
    ):
        if "install" in rest:
            flags = ("-r", "--requirement", "-c", "--constraint")
            yield from ((p, "pip install -r") for p in _option_values(rest, flags))
    elif _PY.match(tool):
        script = _first_operand(rest, stop=("-m", "-c"))
        if script and script.endswith(".py"):
            yield script, tool
    elif tool in ("bash", "sh", "zsh"):
        script = _first_operand(rest, stop=("-c",))
        if script and script.endswith(".sh"):
            yield script, tool
    elif words[0].startswith("./") and words[0].endswith((".sh", ".py")):
        yield words[0][2:], "runs"


def _build_context(words: list[str]) -> str | None:
    """The context operand of `docker [buildx|image|builder] build ...`, when it is certain."""
    for prefix in (["build"], ["buildx", "build"], ["image", "build"], ["builder", "build"]):
        if words[: len(prefix)] == prefix:
            rest = words[len(prefix) :]
            break
    else:
        return None
    operands: list[str] = []
    i = 0
    while i < len(rest):
        word = rest[i]
        if word.startswith("-") and word != "-":
            # NOTE: an unknown flag is taken to have a value: a miss, never a wrong operand.
            takes_value = "=" not in word and word not in _BUILD_SWITCHES
            i += 2 if takes_value else 1
            continue
        operands.append(word)
        i += 1
    if len(operands) != 1 or operands[0] == "-" or "://" in operands[0]:
        return None
    return operands[0]


def _option_values(words: list[str], names: tuple[str, ...]) -> list[str]:
    out = []
    for i, word in enumerate(words):
        if word in names and i + 1 < len(words):
            out.append(words[i + 1])
        for name in names:
            if word.startswith(name + "=") and name.startswith("--"):
                out.append(word.split("=", 1)[1])
            elif not name.startswith("--") and word.startswith(name) and len(word) > len(name):
                out.append(word[len(name) :])
    return [p for p in out if p and p != "-"]


def _first_operand(words: list[str], stop: tuple[str, ...]) -> str | None:
    for word in words:
        if word in stop:
            return None
        if not word.startswith("-"):
            return word
    return None


# Globs ------------------------------------------------------------------------------------
@lru_cache(maxsize=512)
def _glob_regex(pattern: str, dialect: str) -> re.Pattern[str]:
    out, i = [], 0
    while i < len(pattern):
        ch = pattern[i]
        if pattern.startswith("**", i):
            i += 2
            if pattern.startswith("/", i):
                i += 1
                out.append("(?:.*/)?")
            else:
                out.append(".*")
            continue
        if ch == "*":
            out.append("[^/]*")
        elif ch == "?":
            out.append("?" if dialect == "github" and out else "[^/]")
        elif ch == "+" and dialect == "github" and out:
            out.append("+")
        elif ch == "[":
            end = pattern.find("]", i + 1)
            if end < 0:
                out.append(re.escape(ch))
            else:
                out.append(pattern[i : end + 1])
                i = end
        elif ch == "{" and dialect == "gitlab" and "}" in pattern[i:]:
            end = pattern.index("}", i)
            out.append(
                "(?:" + "|".join(re.escape(a) for a in pattern[i + 1 : end].split(",")) + ")"
            )
            i = end
        else:
            out.append(re.escape(ch))
        i += 1
    return re.compile("".join(out) + "(?:/.*)?$")


def glob_exists(project: Project, pattern: str, dialect: str, base: Path = Path(".")) -> bool:
    """Whether a CI path filter matches some file (or folder) under `base` (a root-relative dir)."""
    pattern = pattern.strip().lstrip("/").removeprefix("./")
    magic = re.search(r"[*?\[{+]", pattern)
    literal = pattern[: magic.start()] if magic else pattern
    top = project.root / base
    if not magic:
        return (top / pattern).exists()
    try:
        regex = _glob_regex(pattern, dialect)
    except re.error:
        return True  # a pattern we cannot read is not a finding
    prefix = "" if base == Path(".") else base.as_posix() + "/"
    if any(
        regex.match(f.as_posix()[len(prefix) :])
        for f in project.files
        if f.as_posix().startswith(prefix)
    ):
        return True
    folder = literal.rsplit("/", 1)[0] if "/" in literal else ""
    if not folder:
        return False
    # Files under skipped folders (build/, dist/, venv/...) are not in project.files.
    for seen, (dirpath, _, names) in enumerate(os.walk(top / folder)):
        rel = Path(dirpath).relative_to(top).as_posix()
        if seen > 2000 or any(regex.match(f"{rel}/{n}") for n in names):
            return True
    return False


def _f(rule: Rule, rel: Path, line: int, message: str) -> Finding:
    return rule.finding(rel.as_posix(), line, message)


__all__ = ["WORKFLOW_PATTERNS", "glob_exists", "run", "script_references"]

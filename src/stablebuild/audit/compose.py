"""SB5xx compose rules: files that do not parse, override services the base lacks, missing paths.

Also the source of truth for how compose builds each Dockerfile (`builds()`), which the Dockerfile
rules use to know a Dockerfile's build context, target and build args.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

from stablebuild.audit import yamlnode
from stablebuild.audit.finding import Finding, Severity
from stablebuild.audit.options import AuditOptions
from stablebuild.audit.project import Project

COMPOSE_PATTERNS = (
    "compose.yml",
    "compose.yaml",
    "docker-compose.yml",
    "docker-compose.yaml",
    "compose.*.yml",
    "compose.*.yaml",
    "docker-compose.*.yml",
    "docker-compose.*.yaml",
)
_BASE_NAMES = ("compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml")
_INTERPOLATION = re.compile(r"\$\$|\$\{(\w+)(?:(:?[-?])([^}]*))?\}|\$(\w+)")
_REMOTE = re.compile(r"^(?:[a-z]+://|git@|github\.com/)", re.IGNORECASE)


@dataclass(frozen=True)
class ComposeBuild:
    """How one compose service builds its image. Paths are relative to the audited root."""

    compose_file: str
    service: str
    line: int
    context: Path | None  # None: remote, outside the root, or an unresolved variable
    dockerfile: Path | None
    target: str | None = None
    args: dict[str, str] = field(default_factory=dict)


@lru_cache(maxsize=128)
def _parse(text: str) -> tuple[yaml.Node | None, yamlnode.YamlProblem | None]:
    try:
        return yamlnode.compose(text), None
    except yamlnode.YamlProblem as problem:
        return None, problem


def compose_files(project: Project) -> list[Path]:
    return project.matching(*COMPOSE_PATTERNS)


def is_override(rel: Path) -> bool:
    return rel.name not in _BASE_NAMES


def base_file(project: Project, override: Path) -> Path | None:
    """The file an override extends: same folder, same family name first."""
    order = _BASE_NAMES if override.name.startswith("compose.") else _BASE_NAMES[::-1]
    present = set(project.files)
    return next((override.parent / n for n in order if override.parent / n in present), None)


def _services(project: Project, rel: Path) -> yaml.Node | None:
    text = project.text(rel)
    if text is None:
        return None
    root, _ = _parse(text)
    return yamlnode.value(root, "services")


def _dotenv(project: Project, folder: Path) -> dict[str, str]:
    text = project.text(folder / ".env") if (folder / ".env") in set(project.files) else None
    values: dict[str, str] = {}
    for raw in (text or "").splitlines():
        line = raw.strip().removeprefix("export ").strip()
        if line and not line.startswith("#") and "=" in line:
            key, _, val = line.partition("=")
            values[key.strip()] = val.strip().strip("'\"")
    return values


def interpolate(text: str, env: dict[str, str]) -> str | None:
    """Compose's `${VAR:-default}` interpolation; None when a variable has no value or default."""
    unknown = False

    def repl(match: re.Match[str]) -> str:
        nonlocal unknown
        if match.group(0) == "$$":
            return "$"
        name = match.group(1) or match.group(4)
        op, word = match.group(2), match.group(3) or ""
        value = env.get(name)
        if op in (":-", "-") and (value is None or (op == ":-" and not value)):
            return word
        if value is None:
            unknown = True
            return ""
        return value

    result = _INTERPOLATION.sub(repl, text)
    return None if unknown else result


def _relative(project: Project, path: Path) -> Path | None:
    try:
        return path.resolve().relative_to(project.root)
    except (ValueError, OSError):
        return None


def _build_fields(node: yaml.Node) -> dict[str, tuple[str, int]]:
    """A service's `build:` as {field: (value, line)}; the short form is the context."""
    if (short := yamlnode.scalar(node)) is not None:
        return {"context": (short, yamlnode.line(node))}
    out = {}
    for key in ("context", "dockerfile", "target"):
        if (val := yamlnode.value(node, key)) is not None and (s := yamlnode.scalar(val)):
            out[key] = (s, yamlnode.line(val))
    return out


def _build_args(node: yaml.Node) -> dict[str, str]:
    args_node = yamlnode.value(node, "args")
    if args_node is None:
        return {}
    if isinstance(args_node, yaml.SequenceNode):
        pairs = [s.partition("=") for s, _ in yamlnode.strings(args_node)]
        return {k: v for k, eq, v in pairs if eq}
    return {k: s for k, _, v in yamlnode.items(args_node) if (s := yamlnode.scalar(v)) is not None}


def _merged_fields(
    build_node: yaml.Node, base_services: yaml.Node | None, service: str
) -> dict[str, tuple[str, int]]:
    """An override's build fields, completed by the base file's build of the same service."""
    fields = _build_fields(build_node)
    inherited = yamlnode.value(yamlnode.value(base_services, service), "build")
    for name, entry in (_build_fields(inherited) if inherited is not None else {}).items():
        fields.setdefault(name, entry)
    return fields


def builds(project: Project) -> list[ComposeBuild]:
    """Every service build in every compose file; an override inherits its base's build fields."""
    out: list[ComposeBuild] = []
    for rel in compose_files(project):
        base = base_file(project, rel) if is_override(rel) else None
        base_services = _services(project, base) if base else None
        env = _dotenv(project, rel.parent)
        for service, key_node, svc in yamlnode.items(_services(project, rel)):
            build_node = yamlnode.value(svc, "build")
            if build_node is None:
                continue
            fields = _merged_fields(build_node, base_services, service)
            line = yamlnode.line(key_node)
            out.append(_resolve(project, rel, service, line, fields, env, _build_args(build_node)))
    return out


def _resolve(
    project: Project,
    rel: Path,
    service: str,
    line: int,
    fields: dict[str, tuple[str, int]],
    env: dict[str, str],
    args: dict[str, str],
) -> ComposeBuild:
    context_text = interpolate(fields.get("context", (".", line))[0], env)
    context: Path | None = None
    dockerfile: Path | None = None
    if context_text is not None and not _REMOTE.match(context_text):
        context = _relative(project, project.root / rel.parent / context_text)
        dockerfile_text = interpolate(fields.get("dockerfile", ("Dockerfile", line))[0], env)
        if context is not None and dockerfile_text is not None:
            dockerfile = _relative(project, project.root / context / dockerfile_text)
    target = fields["target"][0] if "target" in fields else None
    return ComposeBuild(rel.as_posix(), service, line, context, dockerfile, target, args)


def run(project: Project, options: AuditOptions) -> list[Finding]:
    findings: list[Finding] = []
    for rel in compose_files(project):
        text = project.text(rel)
        if text is None:
            continue
        _, problem = _parse(text)
        if problem is not None:
            findings.append(yaml_finding(rel.as_posix(), problem))
            continue
        env = _dotenv(project, rel.parent)
        services = _services(project, rel)
        base = base_file(project, rel) if is_override(rel) else None
        base_services = _services(project, base) if base is not None else None
        findings += _paths(project, rel, services, base_services, env)
        if base is not None:
            findings += _override(project, rel, base, services)
    return findings


def yaml_finding(file: str, problem: yamlnode.YamlProblem) -> Finding:
    return Finding(
        "SB500",
        Severity.ERROR,
        file,
        problem.line,
        f"YAML does not parse: {problem.message}",
        "fix the syntax; nothing else in this file was checked",
    )


def _override(project: Project, rel: Path, base: Path, services: yaml.Node | None) -> list[Finding]:
    base_names = [name for name, _, _ in yamlnode.items(_services(project, base))]
    findings = []
    for name, key_node, svc in yamlnode.items(services):
        if name in base_names:
            continue
        keys = {k for k, _, _ in yamlnode.items(svc)}
        close = difflib.get_close_matches(name, base_names, n=1)
        guess = f"; did you mean '{close[0]}'?" if close else ""
        where = f"{rel.as_posix()} overrides service '{name}', which {base.as_posix()} lacks"
        if not keys & {"image", "build", "extends"}:
            message = f"{where}, and gives it no image or build: compose will refuse the pair"
            findings.append(_f("SB501", Severity.ERROR, rel, key_node, message + guess))
        elif close:
            message = f"{where}, so it starts a new service{guess}"
            findings.append(_f("SB501", Severity.WARNING, rel, key_node, message))
    return findings


def _paths(
    project: Project,
    rel: Path,
    services: yaml.Node | None,
    base_services: yaml.Node | None,
    env: dict[str, str],
) -> list[Finding]:
    findings: list[Finding] = []
    here = project.root / rel.parent
    for service, _, svc in yamlnode.items(services):
        build_node = yamlnode.value(svc, "build")
        fields = {} if build_node is None else _merged_fields(build_node, base_services, service)
        context_dir = here
        if "context" in fields:
            text, line = fields["context"]
            value = interpolate(text, env)
            if value is not None and not _REMOTE.match(value):
                context_dir = here / value
                if not context_dir.is_dir():
                    msg = f"build context '{text}' does not exist"
                    findings.append(_f("SB502", Severity.ERROR, rel, line, msg))
                    continue
        if "dockerfile" in fields and context_dir.is_dir():
            text, line = fields["dockerfile"]
            value = interpolate(text, env)
            if value is not None and not (context_dir / value).is_file():
                msg = f"build.dockerfile '{text}' does not exist (it is relative to the context)"
                findings.append(_f("SB503", Severity.ERROR, rel, line, msg))
        for path, node, required in _env_files(yamlnode.value(svc, "env_file")):
            value = interpolate(path, env)
            if required and value is not None and not (here / value).is_file():
                msg = f"env_file '{path}' does not exist"
                findings.append(_f("SB504", Severity.ERROR, rel, node, msg))
    return findings


def _env_files(node: yaml.Node | None) -> list[tuple[str, yaml.Node, bool]]:
    out = []
    for item in yamlnode.sequence(node):
        if (path := yamlnode.scalar(item)) is not None:
            out.append((path, item, True))
        elif (path_node := yamlnode.value(item, "path")) is not None:
            path = yamlnode.scalar(path_node) or ""
            required = (yamlnode.scalar(yamlnode.value(item, "required")) or "true").lower()
            out.append((path, path_node, required not in ("false", "no", "off")))
    return out


_HINTS = {
    "SB501": "add the service to the base file, or fix the name in the override",
    "SB502": "fix build.context (relative to the compose file's folder)",
    "SB503": "fix build.dockerfile: it is resolved against build.context, not the compose file",
    "SB504": "create the file, fix the path, or mark it `required: false`",
}


def _f(rule: str, severity: Severity, rel: Path, where: yaml.Node | int, message: str) -> Finding:
    line = where if isinstance(where, int) else yamlnode.line(where)
    return Finding(rule, severity, rel.as_posix(), line, message, _HINTS[rule])


__all__ = ["ComposeBuild", "builds", "compose_files", "interpolate", "run", "yaml_finding"]

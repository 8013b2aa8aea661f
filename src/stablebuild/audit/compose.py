"""SB5xx compose rules: files that do not parse, override services the base lacks, missing paths.

A file is judged as an override only when something merges it over another
(`compose_merge`); a `compose.X.yml` nobody is seen merging is judged on its own, and a path in
it is flagged only when it is missing both on its own and with the fields the same folder's
`compose.yml` would give it. Also the source of truth for how compose builds each Dockerfile
(`builds()`), which the Dockerfile rules use to know a Dockerfile's context, target and args.
"""

from __future__ import annotations

import fnmatch
import os
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

from stablebuild.audit import compose_merge, gitignore, yamlnode
from stablebuild.audit.finding import Finding, Severity
from stablebuild.audit.options import AuditOptions
from stablebuild.audit.project import Project
from stablebuild.audit.rule import Rule
from stablebuild.audit.sources import per_project, read_text

SB500 = Rule(
    "SB500",
    "YamlUnparsable",
    Severity.ERROR,
    "Compose or CI YAML does not parse",
    "A compose file or CI workflow is not valid YAML; the finding has the parser's line. YAML "
    "the audit will not expand is reported the same way, and the file is not read further: "
    "nesting deeper than 200 levels, aliases that expand to more than 100,000 values (a "
    '"billion laughs" bomb is 300 bytes), an alias that contains itself (`x: &x [*x]`), a NUL '
    "byte.",
    "fix the syntax; nothing else in this file was checked",
)
SB501 = Rule(
    "SB501",
    "OverrideUnknownService",
    Severity.ERROR,
    "Compose override names a service the files under it lack",
    "An override names a service none of the files under it has and gives it no "
    '`image`/`build`/`extends`: compose refuses the pair ("has neither an image nor a build '
    'context"). A **warning** when it has one but its name is a likely typo of a base service; '
    'otherwise a service only in an override is a new service. "Did you mean" needs a real '
    "similarity: one edit for names up to 6 letters, two for longer ones (two swapped letters "
    "count as one), and never a sibling name (`worker-gpu`/`worker2` next to `worker`, `api-v2` "
    "next to `api-v1`).",
    "add the service to the base file, or fix the name in the override",
)
SB502 = Rule(
    "SB502",
    "BuildContextMissing",
    Severity.ERROR,
    "Compose build.context does not exist",
    "`build.context` (relative to the compose file) does not exist. Remote contexts are not "
    "checked.",
    "fix build.context (relative to the compose file's folder)",
)
SB503 = Rule(
    "SB503",
    "ComposeDockerfileMissing",
    Severity.ERROR,
    "Compose build.dockerfile does not exist",
    "`build.dockerfile` does not exist; it is resolved against the context, not the compose file.",
    "fix build.dockerfile: it is resolved against build.context, not the compose file",
)
SB504 = Rule(
    "SB504",
    "EnvFileMissing",
    Severity.ERROR,
    "Compose env_file does not exist (warning when put in place at deploy time)",
    "An `env_file` does not exist (entries with `required: false` are skipped). A **warning** "
    "instead, with the reason in the message, when the file is one a deployment puts in place: "
    "it is git-ignored (the `.gitignore` files from the root down, `.git/info/exclude`; git's "
    "rules, git is not run), it has a sample beside it (`X.sample`, `X-sample`, `X_sample`, "
    "`X.example`, `X-example`, `X_example`, `X.template`, `X.dist`; for `.env.*` also "
    "`.env.example` and the like), it belongs to a stack file named for a deployment tool (a "
    "name word `stack`, `swarm`, `deploy`, `portainer`, `coolify`, `dokploy`, `caprover`, "
    "`kamal`, `dokku`), or it lies outside the audited folder.",
    "create the file, fix the path, or mark it `required: false`",
)

COMPOSE_PATTERNS = (
    "compose.yml",
    "compose.yaml",
    "docker-compose.yml",
    "docker-compose.yaml",
    "compose.*.yml",
    "compose.*.yaml",
    "docker-compose.*.yml",
    "docker-compose.*.yaml",
    "docker-stack.yml",
    "docker-stack.yaml",
    "docker-stack.*.yml",
    "docker-stack.*.yaml",
)
# A stack file named for one of these is deployed by it, with its env files put in place then.
DEPLOY_TOOLS = frozenset(
    ["stack", "swarm", "portainer", "coolify", "dokploy", "caprover", "kamal", "dokku", "deploy"]
)
SAMPLE_SUFFIXES = (
    ".sample",
    "-sample",
    "_sample",
    ".example",
    "-example",
    "_example",
    ".template",
    ".dist",
)
_COMPOSE_NAME = re.compile("|".join(fnmatch.translate(p) for p in COMPOSE_PATTERNS))
_INTERPOLATION = re.compile(r"\$\$|\$\{(\w+)(?:(:?[-?])([^}]*))?\}|\$(\w+)")
_REMOTE = re.compile(r"^(?:[a-z]+://|git@|github\.com/)", re.IGNORECASE)


@dataclass(frozen=True)
class ComposeRole:
    """How a compose file is used: merged over others (known), possibly over one, or alone."""

    merged_over: tuple[Path, ...] = ()  # the files it is merged over, in order
    maybe_over: Path | None = None  # named like an override of this file, never seen merged


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
    return per_project(
        project, "compose-files", lambda: [f for f in project.files if _COMPOSE_NAME.match(f.name)]
    )


def roles(project: Project) -> dict[Path, ComposeRole]:
    """Every compose file's role, worked out once per project."""

    def build() -> dict[Path, ComposeRole]:
        files = compose_files(project)
        merged = compose_merge.merges(project, files)
        return {
            rel: ComposeRole(merged[rel])
            if rel in merged
            else ComposeRole(maybe_over=compose_merge.standard_base(rel, files))
            for rel in files
        }

    return per_project(project, "compose-roles", build)


def _services(project: Project, rel: Path) -> yaml.Node | None:
    text = project.text(rel)
    if text is None:
        return None
    root, _ = _parse(text)
    return yamlnode.value(root, "services")


def _file_set(project: Project) -> set[Path]:
    return per_project(project, "file-set", lambda: set(project.files))


def _dotenv(project: Project, folder: Path) -> dict[str, str]:
    text = read_text(project, folder / ".env") if (folder / ".env") in _file_set(project) else None
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
    except (ValueError, OSError, RuntimeError):  # RuntimeError: a symlink loop (Python < 3.13)
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
    build_node: yaml.Node, under: list[yaml.Node | None], service: str
) -> dict[str, tuple[str, int]]:
    """A service's build fields completed by the files it is merged over (the latest first)."""
    fields = _build_fields(build_node)
    for services in reversed(under):
        inherited = yamlnode.value(yamlnode.value(services, service), "build")
        for name, entry in (_build_fields(inherited) if inherited is not None else {}).items():
            fields.setdefault(name, entry)
    return fields


def _readings(
    project: Project, rel: Path, role: ComposeRole, build_node: yaml.Node, service: str
) -> list[dict[str, tuple[str, int]]]:
    """The ways a service's build can be read: merged, alone, or (unknown role) both."""
    if role.merged_over:
        under = [_services(project, b) for b in role.merged_over]
        return [_merged_fields(build_node, under, service)]
    own = _build_fields(build_node)
    if role.maybe_over is None:
        return [own]
    maybe = _merged_fields(build_node, [_services(project, role.maybe_over)], service)
    return [own] if maybe == own else [own, maybe]


def builds(project: Project) -> list[ComposeBuild]:
    """Every service build in every compose file; an override inherits its bases' build fields.

    A file never seen merged but named like an override is read alone, unless only the base's
    fields make its Dockerfile exist.
    """
    out: list[ComposeBuild] = []
    for rel, role in roles(project).items():
        env = _dotenv(project, rel.parent)
        for service, key_node, svc in yamlnode.items(_services(project, rel)):
            build_node = yamlnode.value(svc, "build")
            if build_node is None:
                continue
            line = yamlnode.line(key_node)
            args = _build_args(build_node)
            found = [
                _resolve(project, rel, service, line, fields, env, args)
                for fields in _readings(project, rel, role, build_node, service)
            ]
            existing = [
                b for b in found if b.dockerfile and (project.root / b.dockerfile).is_file()
            ]
            out.append((existing or found)[0])
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
    for rel, role in roles(project).items():
        text = project.text(rel)
        if text is None:
            continue
        _, problem = _parse(text)
        if problem is not None:
            findings.append(yaml_finding(rel.as_posix(), problem))
            continue
        services = _services(project, rel)
        findings += _paths(project, rel, role, services, _dotenv(project, rel.parent))
        if role.merged_over:
            findings += _override(project, rel, role.merged_over, services)
    return findings


def yaml_finding(file: str, problem: yamlnode.YamlProblem) -> Finding:
    return SB500.finding(file, problem.line, f"YAML does not parse: {problem.message}")


def _override(
    project: Project, rel: Path, under: tuple[Path, ...], services: yaml.Node | None
) -> list[Finding]:
    base_names = list(
        dict.fromkeys(name for b in under for name, _, _ in yamlnode.items(_services(project, b)))
    )
    shown = ", ".join(b.as_posix() for b in under)
    findings = []
    for name, key_node, svc in yamlnode.items(services):
        if name in base_names:
            continue
        keys = {k for k, _, _ in yamlnode.items(svc)}
        close = typo_of(name, base_names)
        guess = f"; did you mean '{close}'?" if close else ""
        where = f"{rel.as_posix()} is merged over {shown} and names service '{name}', which "
        where += "they lack" if len(under) > 1 else "it lacks"
        if not keys & {"image", "build", "extends"}:
            message = f"{where}, and gives it no image or build: compose will refuse the pair"
            findings.append(_f(SB501, rel, key_node, message + guess))
        elif close:
            message = f"{where}, so it starts a new service{guess}"
            findings.append(_f(SB501, rel, key_node, message, Severity.WARNING))
    return findings


def typo_of(name: str, names: list[str]) -> str | None:
    """The name `name` is most likely a misspelling of, or None: one or two edits away, and not
    a sibling such as `api-v2` next to `api`, `worker2` next to `worker`, `api-v1` and `api-v2`."""
    best: tuple[int, str] | None = None
    for other in names:
        if other == name or min(len(other), len(name)) < 3:
            continue
        short, long = sorted((name, other), key=len)
        if long.startswith(short) and long[len(short)] in "-_.0123456789":
            continue
        if re.sub(r"\d", "", name) == re.sub(r"\d", "", other):
            continue
        limit = 1 if len(long) <= 6 else 2
        distance = _distance(name, other)
        if distance <= limit and (best is None or distance < best[0]):
            best = (distance, other)
    return best[1] if best else None


def _distance(a: str, b: str) -> int:
    """Edit distance where swapping two neighbours counts once (optimal string alignment)."""
    rows = [list(range(len(b) + 1))]
    for i, ca in enumerate(a, start=1):
        row = [i] + [0] * len(b)
        for j, cb in enumerate(b, start=1):
            row[j] = min(rows[-1][j] + 1, row[j - 1] + 1, rows[-1][j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                row[j] = min(row[j], rows[-2][j - 2] + 1)
        rows.append(row)
    return rows[-1][-1]


def _paths(
    project: Project,
    rel: Path,
    role: ComposeRole,
    services: yaml.Node | None,
    env: dict[str, str],
) -> list[Finding]:
    findings: list[Finding] = []
    here = project.root / rel.parent
    for service, _, svc in yamlnode.items(services):
        build_node = yamlnode.value(svc, "build")
        if build_node is not None:
            readings = _readings(project, rel, role, build_node, service)
            problems = [_build_problems(here, rel, fields, env) for fields in readings]
            if all(problems):
                findings += problems[0]
        for path, node, required in _env_files(yamlnode.value(svc, "env_file")):
            value = interpolate(path, env)
            if required and value is not None and not (here / value).is_file():
                findings.append(_missing_env_file(project, rel, path, value, node))
    return findings


def _build_problems(
    here: Path, rel: Path, fields: dict[str, tuple[str, int]], env: dict[str, str]
) -> list[Finding]:
    context_dir = here
    if "context" in fields:
        text, line = fields["context"]
        value = interpolate(text, env)
        if value is not None and not _REMOTE.match(value):
            context_dir = here / value
            if not context_dir.is_dir():
                msg = f"build context '{text}' does not exist"
                return [_f(SB502, rel, line, msg)]
    if "dockerfile" in fields and context_dir.is_dir():
        text, line = fields["dockerfile"]
        value = interpolate(text, env)
        if value is not None and not (context_dir / value).is_file():
            msg = f"build.dockerfile '{text}' does not exist (it is relative to the context)"
            return [_f(SB503, rel, line, msg)]
    return []


def _missing_env_file(
    project: Project, rel: Path, shown: str, value: str, node: yaml.Node
) -> Finding:
    """SB504: an error, unless the file is one a deployment puts in place (then a warning)."""
    why = _deploy_time(project, rel, value)
    if why is None:
        return _f(SB504, rel, node, f"env_file '{shown}' does not exist")
    msg = f"env_file '{shown}' does not exist here, and {why}: it is expected at deploy time"
    return _f(SB504, rel, node, msg, Severity.WARNING)


def _deploy_time(project: Project, rel: Path, value: str) -> str | None:
    target = Path(os.path.realpath(project.root / rel.parent / value))  # never raises on a loop
    try:
        inside = target.relative_to(project.root)
    except ValueError:
        return "it lies outside the audited folder"
    if gitignore.ignored(project, inside):
        return "it is git-ignored"
    samples = [target.with_name(target.name + s) for s in SAMPLE_SUFFIXES]
    if target.name.startswith(".env"):
        samples += [target.with_name(".env" + s) for s in SAMPLE_SUFFIXES]
    sample = next((s for s in samples if s.is_file()), None)
    if sample is not None:
        return f"{sample.relative_to(project.root).as_posix()} is its sample"
    words = set(re.split(r"[._-]", rel.name.lower()))
    tool = next((t for t in sorted(DEPLOY_TOOLS) if t in words), None)
    if tool is not None:
        return f"{rel.name} is a stack file for deployment ({tool})"
    return None


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


def _f(
    rule: Rule, rel: Path, where: yaml.Node | int, message: str, severity: Severity | None = None
) -> Finding:
    line = where if isinstance(where, int) else yamlnode.line(where)
    return rule.finding(rel.as_posix(), line, message, severity=severity)


__all__ = [
    "ComposeBuild",
    "ComposeRole",
    "builds",
    "compose_files",
    "interpolate",
    "roles",
    "run",
    "typo_of",
    "yaml_finding",
]

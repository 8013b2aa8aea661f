"""SB4xx Dockerfile rules: what makes a build fail, or ship something it should not, before it runs.

Dockerfiles are parsed (`stages.parse`), never grepped. Each Dockerfile is judged once per way it
is built — every compose service and manifest image that names it, each with its own context,
target and build args — and findings are de-duplicated.

NOTE on the build context: when neither compose nor the manifest says how a Dockerfile is built,
the context is unknown. A source then counts as present when it is in the Dockerfile's folder or
in the repository root (the two contexts people use), so the rule stays silent rather than guess.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from stablebuild.audit import buildtools, compose
from stablebuild.audit.dockerignore import DockerIgnore, clean, go_match, has_magic
from stablebuild.audit.finding import Finding, Severity
from stablebuild.audit.options import AuditOptions
from stablebuild.audit.project import Project
from stablebuild.audit.rule import Rule
from stablebuild.buildargs import looks_secret
from stablebuild.stages import (
    PLATFORM_ARGS,
    ParsedDockerfile,
    Stage,
    StageScope,
    parse,
    parse_assignments,
    split_flags,
    stage_index,
    substitute,
    variables,
)

SB400 = Rule(
    "SB400",
    "DockerfileSyntax",
    Severity.ERROR,
    "Dockerfile syntax Docker rejects (unknown instruction, no FROM...)",
    "Docker would reject the file: an unknown instruction, an instruction other than ARG before "
    "the first FROM, a malformed FROM, or no FROM at all.",
    "fix the instruction the message names: Docker will refuse this Dockerfile",
)
SB401 = Rule(
    "SB401",
    "UndeclaredFromArg",
    Severity.ERROR,
    "ARG used in FROM but not declared before the first FROM",
    "A variable used in a `FROM` line (`${X}` or `$X`, flags included) is not declared with "
    "`ARG` before the first `FROM`. An `ARG` declared after a `FROM` is scoped to that stage and "
    "invisible to later `FROM` lines, so `FROM runtime-${WORKER_TYPE}` expands to `runtime-` and "
    "the build fails with \"failed to parse stage name 'runtime-'\". BuildKit's platform ARGs "
    "(`BUILDPLATFORM`, `TARGETARCH`...) and `${X:-default}` forms are fine.",
    "declare `ARG WORKER_TYPE=cpu` (the variable, with a default) above the first FROM",
)
SB402 = Rule(
    "SB402",
    "CopySourceMissing",
    Severity.ERROR,
    "COPY/ADD source not in the build context",
    "A `COPY`/`ADD` source does not exist in the build context. Globs are matched like Docker "
    "(Go `filepath.Match` per path segment); `${ARG}` in a source is expanded when the ARG (or "
    "ENV) has a value, otherwise the source is skipped. `COPY --from=...` sources, heredocs and "
    "URLs in `ADD` are not checked.",
    "fix the path: sources are relative to the build context, not the Dockerfile",
)
SB403 = Rule(
    "SB403",
    "CopySourceIgnored",
    Severity.ERROR,
    "COPY/ADD source excluded by .dockerignore",
    "The source exists but `.dockerignore` keeps it out of the context (BuildKit then says "
    '`"/storage": not found`). The matcher follows moby/patternmatcher exactly: comments, `**`, '
    "`!` exceptions with the last match winning, leading `/` and `./` stripped, a pattern "
    "matching a parent folder excludes its children. A `<Dockerfile>.dockerignore` next to the "
    "Dockerfile takes precedence over the context's `.dockerignore`. An excluded folder that an "
    "exception partly re-includes is not flagged.",
    "remove the pattern from .dockerignore, or add `!<path>` after it",
)
SB404 = Rule(
    "SB404",
    "CopyFromUnknownStage",
    Severity.ERROR,
    "COPY --from names no earlier stage",
    "`COPY --from=NAME` names no earlier stage. Numeric indexes must name an earlier stage; a "
    "value with `/`, `:` or `@` is an image reference and is not checked. A bare name that is "
    "not a stage is flagged because Docker would try to pull an image of that name: write "
    "`alpine:3.20` rather than `alpine` if an image is meant.",
    "name an earlier stage (`FROM ... AS name`) or a full image reference",
)
SB405 = Rule(
    "SB405",
    "FinalStageRunsAsRoot",
    Severity.WARNING,
    "Final stage runs as root (last USER root, or no USER)",
    "The final stage runs as root: its last `USER` is `root` or `0`, or no stage in its chain "
    "sets a `USER` (skipped when the base image's tag says `nonroot`, or cannot be resolved).",
    "create a user and end the stage with `USER <name or uid>`",
)
SB406 = Rule(
    "SB406",
    "HealthcheckMissing",
    Severity.ERROR,
    "Final stage lacks the HEALTHCHECK the manifest asks for",
    "The manifest image asks for `healthcheck: true`, but the final stage (of the image's "
    "target) has no `HEALTHCHECK`, or its last one is `HEALTHCHECK NONE`.",
    "add `HEALTHCHECK CMD ...` to the final stage",
)
SB407 = Rule(
    "SB407",
    "BuildToolsInFinalStage",
    Severity.WARNING,
    "Compilers or -dev packages installed in the final stage",
    "The final stage installs compilers or headers (`gcc`, `g++`, `build-essential`, `make`, "
    "`cmake`, `musl-dev`, `*-dev`, `*-devel`...) through apt-get/apt, apk or yum/dnf, and does "
    "not remove them later (`apt-get purge`, `apk del` of a `--virtual` group): they ship in the "
    "image.",
    "compile in a builder stage and copy the result, or purge them in the same RUN",
)
SB408 = Rule(
    "SB408",
    "VirtualenvBaseMismatch",
    Severity.ERROR,
    "Virtualenv copied from a stage with a different base image",
    "A virtualenv (a path containing `venv`) is copied with `COPY --from` from a stage whose "
    "base image differs from the receiving stage's. Stage chains are resolved and ARG defaults "
    "(and the build's args) substituted first. The venv's `bin/python` is a symlink to the "
    "builder's interpreter, which the other base does not have. Official `python:` images "
    "compare equal when they share the minor version and the C library (`python:3.12-slim` and "
    "`python:3.12-bookworm` are compatible; `python:3.12-alpine` is not).",
    "build the venv on the same base image as the stage that runs it",
)
SB409 = Rule(
    "SB409",
    "UnknownBuildTarget",
    Severity.ERROR,
    "Build target names no stage",
    "The manifest or compose builds a `target` that no stage is named.",
    "name a stage `AS <target>`, or fix the target",
)
SB410 = Rule(
    "SB410",
    "SecretInArgOrEnv",
    Severity.WARNING,
    "ARG or ENV named like a secret stays in the final image",
    'An `ARG` or `ENV` whose name looks like a credential (see "Secret-looking names" below) '
    "is in a stage of the final image's chain, so its value ships with the image: an `ARG`'s "
    "value is recorded in the image history on every later `RUN` of the stage (`docker history` "
    "shows `|1 GITHUB_TOKEN=...`), an `ENV`'s is in the image config and every container's "
    "environment. Flagged: `ARG` followed by a `RUN` in the same stage, and `ENV` with a "
    'non-empty value (`ENV API_KEY=""`, a placeholder filled at run time, holds nothing). '
    "Builder stages outside the final chain are not flagged: the multi-stage way to use a "
    "credential is exactly that, and their history does not ship.",
    "`RUN --mount=type=secret,id=npm_token NPM_TOKEN=$(cat /run/secrets/npm_token) npm ci` with "
    "`docker build --secret id=npm_token,env=NPM_TOKEN` (BuildKit), or pass the value to the "
    "container at run time",
)

DOCKERFILE_PATTERNS = (
    "Dockerfile",
    "Dockerfile.*",
    "*.Dockerfile",
    "*.dockerfile",
    "Containerfile",
    "Containerfile.*",
)
_ROOT_USERS = {"root", "0"}
_MAX_GLOB = 2000


@dataclass(frozen=True)
class BuildUse:
    """One way a Dockerfile gets built. `context` is relative to the root; None: unknown."""

    origin: str
    context: Path | None = None
    target: str | None = None
    args: Mapping[str, str] = field(default_factory=dict)
    healthcheck: bool = False


def build_uses(project: Project) -> dict[Path, list[BuildUse]]:
    """Every known way each Dockerfile is built: manifest images first, then compose services."""
    uses: dict[Path, list[BuildUse]] = {}
    manifest = project.manifest
    for name, image in (manifest.images if manifest else {}).items():
        try:
            rel = image.dockerfile.resolve().relative_to(project.root)
            context = image.context.resolve().relative_to(project.root)
        except ValueError:
            continue
        origin = f"{manifest.path.name if manifest else 'manifest'} image '{name}'"
        use = BuildUse(origin, context, image.target, dict(image.args), image.healthcheck)
        uses.setdefault(rel, []).append(use)
    for build in compose.builds(project):
        if build.dockerfile is not None:
            origin = f"{build.compose_file} service '{build.service}'"
            use = BuildUse(origin, build.context, build.target, build.args)
            uses.setdefault(build.dockerfile, []).append(use)
    return uses


def dockerfiles(project: Project, uses: Mapping[Path, list[BuildUse]] | None = None) -> list[Path]:
    found = [f for f in project.matching(*DOCKERFILE_PATTERNS) if f.suffix != ".dockerignore"]
    known = set(found)
    for rel in uses or {}:
        if rel not in known and (project.root / rel).is_file():
            found.append(rel)
            known.add(rel)
    return found


def run(project: Project, options: AuditOptions) -> list[Finding]:
    uses = build_uses(project)
    findings: dict[Finding, None] = {}
    for rel in dockerfiles(project, uses):
        text = project.text(rel)
        if text is None:
            continue
        audit = _Audit(project, rel, parse(text))
        for finding in audit.run(uses.get(rel) or [BuildUse("no compose or manifest build")]):
            findings.setdefault(finding, None)
    return list(findings)


class _Audit:
    def __init__(self, project: Project, rel: Path, df: ParsedDockerfile) -> None:
        self.project, self.rel, self.df = project, rel, df
        self.file = rel.as_posix()
        self.ignores: dict[Path, DockerIgnore | None] = {}

    def finding(self, rule: Rule, line: int, message: str, hint: str) -> Finding:
        return rule.finding(self.file, line, message, hint)

    def run(self, uses: list[BuildUse]) -> list[Finding]:
        out = [
            self.finding(SB400, line, msg, "Docker will refuse this Dockerfile")
            for line, msg in self.df.problems
        ]
        out += self.from_args()
        for use in uses:
            final = self.df.target(use.target)
            if final is None:
                if use.target is not None:
                    msg = f"{use.origin} builds target '{use.target}', which no stage is named"
                    hint = "name a stage `AS " + use.target + "` or fix the target"
                    out.append(self.finding(SB409, 1, msg, hint))
                continue
            for stage in self.df.stages:
                out += self.copies(stage, use)
            out += self.final_stage(final, use)
            out += self.secrets_kept(final, use)
        return out

    # SB401 -------------------------------------------------------------------------------
    def from_args(self) -> list[Finding]:
        declared = {a.name for a in self.df.global_args}
        stage_declared = {
            name: ins.line
            for stage in self.df.stages
            for ins in stage.instructions
            if ins.keyword == "ARG"
            for name, _ in parse_assignments(ins.value, legacy_space=False)
        }
        out = []
        for line, value in self.df.from_values:
            for name, has_default in variables(value):
                if name in declared or name in PLATFORM_ARGS or has_default:
                    continue
                expanded = substitute(value, {a: "" for a, _ in variables(value)}) or ""
                image = expanded.split()[0] if expanded.split() else ""
                later = stage_declared.get(name)
                why = (
                    f"ARG {name} is declared at line {later}, inside a stage, where FROM cannot "
                    "see it"
                    if later
                    else f"ARG {name} is never declared before the first FROM"
                )
                msg = (
                    f"FROM uses ${{{name}}}, but {why}: it expands to '{image}' and the build fails"
                )
                hint = f"declare `ARG {name}=<default>` above the first FROM"
                out.append(self.finding(SB401, line, msg, hint))
        return out

    # SB402 SB403 SB404 SB408 ------------------------------------------------------------
    def copies(self, stage: Stage, use: BuildUse) -> list[Finding]:
        out: list[Finding] = []
        scope = StageScope(stage, self.df, use.args)  # one pass per stage, not one per COPY
        for ins in stage.instructions:
            if ins.keyword not in ("COPY", "ADD"):
                continue
            flags, words = split_flags(ins.value)
            sources = words[:-1]
            values = scope.before(ins.line)
            if "from" in flags:
                ref = substitute(flags["from"], scope.with_globals(ins.line))
                if ref is None:
                    continue
                source = self.copy_source(stage, ref, ins.line)
                if isinstance(source, Finding):
                    out.append(source)
                elif any("venv" in s for s in sources):
                    out += self.venv_copy(stage, ref, source, sources, ins.line, use)
                continue
            for src in sources:
                out += self.local_source(ins.keyword, src, values, use, ins.line)
        return out

    def copy_source(self, stage: Stage, ref: str, line: int) -> Stage | str | Finding:
        """The stage (or image reference) `--from=ref` reads, or an SB404 finding."""
        if ref.isdigit():
            index = stage_index(ref)
            if index is not None and index < stage.index:
                return self.df.stages[index]
            msg = f"COPY --from={ref}: stage index {ref} is not an earlier stage"
        elif any(c in ref for c in "/:@"):
            return ref
        else:
            named = self.df.stage_named(ref)
            if named is not None and named.index < stage.index:
                return named
            where = "is defined later" if named is not None else "is not a stage in this file"
            msg = f"COPY --from={ref}: '{ref}' {where}; Docker will try to pull an image '{ref}'"
        hint = "name an earlier stage (`FROM ... AS name`) or a full image reference"
        return self.finding(SB404, line, msg, hint)

    def venv_copy(
        self,
        stage: Stage,
        ref: str,
        source: Stage | str,
        sources: list[str],
        line: int,
        use: BuildUse,
    ) -> list[Finding]:
        src_base = self.df.base_image(source, use.args) if isinstance(source, Stage) else ref
        dst_base = self.df.base_image(stage, use.args)
        if not src_base or not dst_base or _python_key(src_base) == _python_key(dst_base):
            return []
        venv = next(s for s in sources if "venv" in s)
        msg = (
            f"copies the virtualenv {venv} from '{ref}' (based on {src_base}) into a stage based "
            f"on {dst_base}: its bin/python links to an interpreter this image does not have"
        )
        hint = "build the venv on the same base image as the stage that runs it"
        return [self.finding(SB408, line, msg, hint)]

    def local_source(
        self, keyword: str, src: str, values: Mapping[str, str], use: BuildUse, line: int
    ) -> list[Finding]:
        if src.startswith("<<") or "://" in src or src.startswith("git@"):
            return []
        resolved = substitute(src, values)
        if resolved is None:
            return []  # an ARG without a default: cannot tell
        path = clean("/" + resolved).lstrip("/") or "."
        contexts = [use.context] if use.context is not None else _guesses(self.rel)
        ignored_by: str | None = None
        for context in contexts:
            matches = _matches(self.project.root / context, path)
            if not matches:
                continue
            ignore = self.ignore_for(context)
            pattern = None
            for match in matches:
                pattern = self.excluded_by(ignore, context, match)
                if pattern is None:
                    return []
            ignored_by = pattern
        where = (
            f"build context '{contexts[0].as_posix()}'"
            if use.context is not None
            else ("the Dockerfile's folder or the repository root")
        )
        if ignored_by is not None:
            msg = f"{keyword} {src}: excluded from the context by .dockerignore '{ignored_by}'"
            hint = f"remove '{ignored_by}' from .dockerignore or add `!{path}` after it"
            return [self.finding(SB403, line, msg, hint)]
        msg = f"{keyword} {src}: nothing by that name in {where}"
        hint = "fix the path (sources are relative to the build context, not the Dockerfile)"
        return [self.finding(SB402, line, msg, hint)]

    def ignore_for(self, context: Path) -> DockerIgnore | None:
        if context not in self.ignores:
            specific = self.rel.parent / (self.rel.name + ".dockerignore")
            candidates = [specific, context / ".dockerignore"]
            text = next(
                (self.project.text(c) for c in candidates if (self.project.root / c).is_file()),
                None,
            )
            self.ignores[context] = DockerIgnore.from_text(text) if text is not None else None
        return self.ignores[context]

    def excluded_by(self, ignore: DockerIgnore | None, context: Path, path: str) -> str | None:
        pattern = ignore.deciding(path) if ignore else None
        if pattern is None or ignore is None:
            return None
        full = self.project.root / context / path
        if ignore.has_exceptions and full.is_dir():
            # An exception may bring files under an excluded folder back into the context.
            for seen, (dirpath, _, names) in enumerate(os.walk(full)):
                rel = Path(dirpath).relative_to(self.project.root / context).as_posix()
                if any(not ignore.excluded(f"{rel}/{n}") for n in names) or seen > _MAX_GLOB:
                    return None
        return pattern.text

    # SB405 SB406 SB407 ------------------------------------------------------------------
    def final_stage(self, final: Stage, use: BuildUse) -> list[Finding]:
        chain = self.df.chain(final, use.args)
        instructions = [ins for stage in chain for ins in stage.instructions]
        label = f"final stage '{final.name}'" if final.name else "the final stage"
        out: list[Finding] = []
        users = [ins for ins in instructions if ins.keyword == "USER"]
        user = users[-1].value.split(":")[0].strip() if users else None
        base = self.df.base_image(final, use.args)
        if user in _ROOT_USERS:
            msg = f"{label} runs as root (last USER is '{users[-1].value}')"
            hint = "create a user and end the stage with `USER <name or uid>`"
            out.append(self.finding(SB405, users[-1].line, msg, hint))
        elif user is None and base and "nonroot" not in base:
            # NOTE: an unresolvable base (see SB401) may well set a user; say nothing then.
            msg = f"{label} sets no USER: it runs as root unless {base} sets one"
            hint = "create a user and end the stage with `USER <name or uid>`"
            out.append(self.finding(SB405, final.line, msg, hint))
        checks = [ins for ins in instructions if ins.keyword == "HEALTHCHECK"]
        if use.healthcheck and (not checks or checks[-1].value.strip().upper() == "NONE"):
            msg = f"{use.origin} asks for a HEALTHCHECK, and {label} has none"
            hint = "add `HEALTHCHECK CMD ...` to the final stage"
            out.append(self.finding(SB406, final.line, msg, hint))
        for line, names in buildtools.build_tools([i for i in instructions if i.keyword == "RUN"]):
            msg = f"{label} installs build tools ({', '.join(names)}); they ship in the image"
            hint = "compile in a builder stage and copy the result, or purge them in the same RUN"
            out.append(self.finding(SB407, line, msg, hint))
        return out

    # SB410 ------------------------------------------------------------------------------
    def secrets_kept(self, final: Stage, use: BuildUse) -> list[Finding]:
        """ARG and ENV named like secrets in the final image's chain: their values stay in it.

        NOTE: only the final chain: a builder stage's ARG and ENV do not reach the shipped
        image (the multi-stage way to use a credential), so flagging them would be noise.
        """
        out: list[Finding] = []
        for stage in self.df.chain(final, use.args):
            for index, ins in enumerate(stage.instructions):
                if ins.keyword not in ("ARG", "ENV"):
                    continue
                env = ins.keyword == "ENV"
                later = stage.instructions[index + 1 :]
                for name, value in parse_assignments(ins.value, legacy_space=env):
                    if not looks_secret(name):
                        continue
                    if env and not value:
                        continue  # an empty placeholder filled at run time holds nothing
                    if not env and not any(i.keyword == "RUN" for i in later):
                        continue  # no RUN records it in the history
                    out.append(self.finding(SB410, ins.line, *_kept(name, env)))
        return out


def _kept(name: str, env: bool) -> tuple[str, str]:
    """The SB410 message and hint for a secret-looking ARG (env=False) or ENV."""
    mount = f"`RUN --mount=type=secret,id={name.lower()} ...` (BuildKit build secrets)"
    if env:
        return (
            f"ENV {name} looks like a secret: its value is stored in the image's config, "
            "where `docker inspect` and every container started from the image show it",
            f"pass it at run time (`docker run -e {name}`, compose `environment:` or "
            f"`secrets:`); if the build needs it, use {mount}",
        )
    return (
        f"ARG {name} looks like a secret: its value is recorded in the image history "
        "(`docker history` shows it on every later RUN of the stage)",
        f"use {mount} instead of a build arg, or pass it to the container at run time",
    )


def _guesses(rel: Path) -> list[Path]:
    return [rel.parent] if rel.parent == Path(".") else [rel.parent, Path(".")]


def _matches(context: Path, path: str) -> list[str]:
    """The context-relative paths a COPY source names: itself, or what its glob matches."""
    if path == ".":
        return ["."] if context.is_dir() else []
    if not has_magic(path):
        return [path] if os.path.lexists(context / path) else []
    found = [""]
    for part in path.split("/"):
        step: list[str] = []
        for prefix in found:
            folder = context / prefix
            if not has_magic(part):
                if os.path.lexists(folder / part):
                    step.append(posixpath.join(prefix, part))
                continue
            try:
                names = sorted(os.listdir(folder))
            except OSError:
                continue
            step += [posixpath.join(prefix, n) for n in names if go_match(part, n)]
        found = step[:_MAX_GLOB]
    return found


def _python_key(image: str) -> tuple[str, ...]:
    """Images whose venvs are interchangeable compare equal: python:3.12-slim == python:3.12."""
    ref = image.split("@", 1)[0]
    for prefix in ("docker.io/library/", "docker.io/", "library/"):
        ref = ref.removeprefix(prefix)
    name, _, tag = ref.rpartition(":") if ":" in ref.split("/")[-1] else (ref, "", "latest")
    if name == "python" and tag[:1].isdigit():
        minor = ".".join(tag.split("-")[0].split(".")[:2])
        return ("python", minor, "musl" if "alpine" in tag else "glibc")
    return (name, tag)


__all__ = ["DOCKERFILE_PATTERNS", "BuildUse", "build_uses", "dockerfiles", "run"]

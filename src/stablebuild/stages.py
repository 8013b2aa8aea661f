"""A Dockerfile as build stages: dockerfile-parse's structure, heredoc-aware, with ARG scoping.

Pure: text in, `ParsedDockerfile` out. Rules in `dockerfile.py` (and anyone else who needs the
stages, base images or ARG defaults of a Dockerfile) work on this model instead of on raw text.
"""

from __future__ import annotations

import io
import json
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from dockerfile_parse import DockerfileParser

KEYWORDS = frozenset(
    [
        "FROM",
        "RUN",
        "CMD",
        "LABEL",
        "MAINTAINER",
        "EXPOSE",
        "ENV",
        "ADD",
        "COPY",
        "ENTRYPOINT",
        "VOLUME",
        "USER",
        "WORKDIR",
        "ARG",
        "ONBUILD",
        "STOPSIGNAL",
        "HEALTHCHECK",
        "SHELL",
    ]
)
# BuildKit defines these in the global scope: FROM may use them without an ARG line.
PLATFORM_ARGS = frozenset(
    [
        "TARGETPLATFORM",
        "TARGETOS",
        "TARGETARCH",
        "TARGETVARIANT",
        "BUILDPLATFORM",
        "BUILDOS",
        "BUILDARCH",
        "BUILDVARIANT",
    ]
)
_VAR = re.compile(r"\\\$|\$(?:\{(\w+)(?:(:?[-+?])([^}]*))?\}|(\w+))")
_HEREDOC = re.compile(r"<<(-?)([\"']?)(\w+)\2")


@dataclass(frozen=True)
class Instruction:
    keyword: str  # upper case
    value: str  # continuation lines joined, as dockerfile-parse gives it
    line: int  # 1-based line of the keyword


@dataclass(frozen=True)
class Stage:
    index: int
    image: str  # the FROM image text, flags and alias removed, before substitution
    name: str | None  # the alias, lower case (Docker's stage names are case-insensitive)
    line: int
    instructions: tuple[Instruction, ...] = ()


@dataclass(frozen=True)
class Arg:
    name: str
    default: str | None
    line: int


@dataclass(frozen=True)
class ParsedDockerfile:
    global_args: tuple[Arg, ...] = ()  # ARG lines before the first FROM
    stages: tuple[Stage, ...] = ()
    problems: tuple[tuple[int, str], ...] = ()  # (line, message): what Docker would reject
    from_values: tuple[tuple[int, str], ...] = field(default=())  # (line, raw FROM value)

    def global_defaults(self, overrides: Mapping[str, str] | None = None) -> dict[str, str]:
        values = {a.name: a.default for a in self.global_args if a.default is not None}
        for name, value in (overrides or {}).items():
            if any(a.name == name for a in self.global_args):
                values[name] = value
        return values

    def stage_named(self, name: str) -> Stage | None:
        key = name.lower()
        for stage in self.stages:
            if stage.name == key:
                return stage
        return None

    def resolve_stage_ref(self, ref: str, before: int) -> Stage | None:
        """The stage `ref` (a name or an index) means when used by stage `before`, else None."""
        if ref.isdigit():
            index = int(ref)
            return self.stages[index] if index < before else None
        stage = self.stage_named(ref)
        return stage if stage is not None and stage.index < before else None

    def parent(self, stage: Stage, args: Mapping[str, str] | None = None) -> Stage | None:
        """The earlier stage this stage is built FROM, if its FROM names one."""
        image = substitute(stage.image, self.global_defaults(args))
        return self.resolve_stage_ref(image, stage.index) if image else None

    def chain(self, stage: Stage, args: Mapping[str, str] | None = None) -> list[Stage]:
        """The stage and its FROM ancestors, oldest first."""
        out = [stage]
        while (parent := self.parent(out[0], args)) is not None and parent not in out:
            out.insert(0, parent)
        return out

    def base_image(self, stage: Stage, args: Mapping[str, str] | None = None) -> str | None:
        """The external image at the root of the stage's chain, or None when it cannot be told."""
        root = self.chain(stage, args)[0]
        return substitute(root.image, self.global_defaults(args))

    def target(self, name: str | None) -> Stage | None:
        """The stage `docker build --target name` builds; the last stage without a target."""
        if name is None:
            return self.stages[-1] if self.stages else None
        return self.stage_named(name)


def substitute(text: str, values: Mapping[str, str]) -> str | None:
    """Expand `$X`, `${X}`, `${X:-d}`, `${X:+a}` as Docker does; None if a variable is unknown."""
    unknown = False

    def repl(match: re.Match[str]) -> str:
        nonlocal unknown
        if match.group(0) == "\\$":
            return "$"
        name = match.group(1) or match.group(4)
        op, word = match.group(2), match.group(3) or ""
        value = values.get(name)
        if op in (":-", "-"):
            return word if value is None or (op == ":-" and not value) else value
        if op in (":+", "+"):
            return word if value is not None and (op == "+" or value) else ""
        if value is None:
            unknown = True
            return ""
        return value

    result = _VAR.sub(repl, text)
    return None if unknown else result


def variables(text: str) -> list[tuple[str, bool]]:
    """The variables a word uses: (name, has a fallback so an unset value is harmless)."""
    out = []
    for match in _VAR.finditer(text):
        if match.group(0) == "\\$":
            continue
        out.append((match.group(1) or match.group(4), match.group(2) in (":-", "-")))
    return out


def split_words(value: str) -> list[str]:
    """Whitespace-separated words of an instruction; JSON (exec) form when it is a JSON list."""
    stripped = value.strip()
    if stripped.startswith("["):
        try:
            data = json.loads(stripped)
        except ValueError:
            data = None
        if isinstance(data, list) and all(isinstance(x, str) for x in data):
            return data
    return stripped.split()


def split_flags(value: str) -> tuple[dict[str, str], list[str]]:
    """`--from=x --chown=a b c` → ({"from": "x", "chown": "a"}, ["b", "c"])."""
    words = value.split()
    flags: dict[str, str] = {}
    while words and words[0].startswith("--"):
        name, _, flag_value = words.pop(0)[2:].partition("=")
        flags[name.lower()] = flag_value
    rest = " ".join(words)
    return flags, split_words(rest)


def parse_assignments(value: str, legacy_space: bool) -> list[tuple[str, str | None]]:
    """ARG/ENV operands: `A=1 B="x y" C` (and the legacy `ENV KEY value` form)."""
    try:
        words = shlex.split(value, posix=True)
    except ValueError:
        words = value.split()
    if legacy_space and words and "=" not in words[0]:
        return [(words[0], " ".join(words[1:]))]
    out: list[tuple[str, str | None]] = []
    for word in words:
        name, eq, default = word.partition("=")
        out.append((name, default if eq else None))
    return out


def _skip_heredocs(structure: list[dict[str, object]]) -> list[dict[str, object]]:
    """dockerfile-parse reads heredoc bodies as instructions; drop them up to the terminator."""
    out: list[dict[str, object]] = []
    pending: list[str] = []
    for item in structure:
        content = str(item.get("content", ""))
        if pending:
            if content.strip() == pending[0] or content.lstrip("\t").rstrip("\n") == pending[0]:
                pending.pop(0)
            continue
        out.append(item)
        if str(item["instruction"]).upper() in ("RUN", "COPY", "ADD"):
            pending = [m.group(3) for m in _HEREDOC.finditer(str(item.get("value", "")))]
    return out


def parse(text: str) -> ParsedDockerfile:
    """Parse a Dockerfile; what Docker would reject goes into `problems`, never an exception."""
    structure = _skip_heredocs(DockerfileParser(fileobj=io.StringIO(text)).structure)
    problems: list[tuple[int, str]] = []
    global_args: list[Arg] = []
    stages: list[Stage] = []
    from_values: list[tuple[int, str]] = []
    current: Stage | None = None
    body: list[Instruction] = []

    def close() -> None:
        if current is not None:
            stages.append(replace(current, instructions=tuple(body)))

    for item in structure:
        keyword = str(item["instruction"]).upper()
        line = int(str(item["startline"])) + 1
        value = str(item.get("value", ""))
        if keyword == "COMMENT":
            continue
        if keyword not in KEYWORDS:
            problems.append((line, f"unknown instruction: {keyword.lower()}"))
            continue
        if keyword == "FROM":
            close()
            from_values.append((line, value))
            _flags, words = split_flags(value)
            name = None
            if len(words) >= 3 and words[1].lower() == "as":
                name = words[2].lower()
            elif len(words) != 1:
                problems.append((line, "FROM expects an image and an optional `AS name`"))
            image = words[0] if words else ""
            current = Stage(len(stages), image, name, line)
            body = []
        elif current is None:
            if keyword == "ARG":
                for name, default in parse_assignments(value, False):
                    global_args.append(Arg(name, default, line))
            else:
                problems.append(
                    (line, f"{keyword} before the first FROM (only ARG may come first)")
                )
        else:
            body.append(Instruction(keyword, value, line))
    close()
    if not stages and not problems and structure:
        problems.append((1, "no FROM instruction: this Dockerfile builds nothing"))
    return ParsedDockerfile(tuple(global_args), tuple(stages), tuple(problems), tuple(from_values))


def stage_args(
    stage: Stage, df: ParsedDockerfile, overrides: Mapping[str, str], before_line: int = 0
) -> dict[str, str]:
    """Variables visible in a stage (before `before_line` if given): redeclared global ARGs,
    stage ARGs with a default or a build arg, ENV values."""
    glob = df.global_defaults(overrides)
    values: dict[str, str] = {}
    for ins in stage.instructions:
        if before_line and ins.line >= before_line:
            break
        if ins.keyword == "ARG":
            for name, default in parse_assignments(ins.value, False):
                value = overrides.get(name, default if default is not None else glob.get(name))
                if value is not None:
                    values[name] = _expand(value, values)
        elif ins.keyword == "ENV":
            for name, env_value in parse_assignments(ins.value, True):
                if env_value is not None:
                    values[name] = _expand(env_value, values)
    return values


def _expand(value: str, values: Mapping[str, str]) -> str:
    expanded = substitute(value, values)
    return value if expanded is None else expanded


__all__ = [
    "PLATFORM_ARGS",
    "Arg",
    "Instruction",
    "ParsedDockerfile",
    "Stage",
    "parse",
    "parse_assignments",
    "split_flags",
    "split_words",
    "stage_args",
    "substitute",
    "variables",
]

"""A Dockerfile as build stages: dockerfile-parse's structure, heredoc-aware, with ARG scoping.

Pure: text in, `ParsedDockerfile` out. Rules in `dockerfile.py` (and anyone else who needs the
stages, base images or ARG defaults of a Dockerfile) work on this model instead of on raw text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import Any, NamedTuple, cast

from stablebuild import shellwords
from stablebuild.values import Frozen

# dockerfile-parse's name for a comment line (`dockerfile_parse.constants`); written here: that
# package's import loads its parser and logging (~25 ms) for one string, on every validate.
COMMENT_INSTRUCTION = "COMMENT"

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


class Instruction(NamedTuple):
    keyword: str  # upper case
    value: str  # continuation lines joined, as dockerfile-parse gives it
    line: int  # 1-based line of the keyword


class Stage(Frozen):
    """One `FROM` and what follows it, up to the next `FROM`."""

    # NOTE: not a NamedTuple: a field named `index` would hide tuple.index.
    __slots__ = ("image", "index", "instructions", "line", "name")
    index: int
    image: str  # the FROM image text, flags and alias removed, before substitution
    name: str | None  # the alias, lower case (Docker's stage names are case-insensitive)
    line: int
    instructions: tuple[Instruction, ...]

    def __init__(
        self,
        index: int,
        image: str,
        name: str | None,
        line: int,
        instructions: tuple[Instruction, ...] = (),
    ) -> None:
        super().__init__(index=index, image=image, name=name, line=line, instructions=instructions)

    def with_instructions(self, instructions: tuple[Instruction, ...]) -> Stage:
        return Stage(self.index, self.image, self.name, self.line, instructions)


class Arg(NamedTuple):
    name: str
    default: str | None
    line: int


class ParsedDockerfile(Frozen):
    """A Dockerfile as its stages, global ARGs and what Docker would reject in it."""

    __slots__ = ("_memo", "from_values", "global_args", "problems", "stages")
    _uncompared = _unshown = ("_memo",)
    global_args: tuple[Arg, ...]  # ARG lines before the first FROM
    stages: tuple[Stage, ...]
    problems: tuple[tuple[int, str], ...]  # (line, message): what Docker would reject
    from_values: tuple[tuple[int, str], ...]  # (line, raw FROM value)
    # NOTE: lookups rules make once per stage or per COPY, kept so that a Dockerfile of 10,000
    # stages or ARGs costs linear time, not quadratic.
    _memo: dict[object, object]

    def __init__(
        self,
        global_args: tuple[Arg, ...] = (),
        stages: tuple[Stage, ...] = (),
        problems: tuple[tuple[int, str], ...] = (),
        from_values: tuple[tuple[int, str], ...] = (),
    ) -> None:
        super().__init__(
            global_args=global_args,
            stages=stages,
            problems=problems,
            from_values=from_values,
            _memo={},
        )

    def global_defaults(self, overrides: Mapping[str, str] | None = None) -> dict[str, str]:
        return dict(self._defaults(overrides))

    def _defaults(self, overrides: Mapping[str, str] | None) -> Mapping[str, str]:
        key = ("defaults", *sorted((overrides or {}).items()))
        if key not in self._memo:
            values = {a.name: a.default for a in self.global_args if a.default is not None}
            declared = {a.name for a in self.global_args}
            for name, value in (overrides or {}).items():
                if name in declared:
                    values[name] = value
            self._memo[key] = values
        return cast("Mapping[str, str]", self._memo[key])

    def stage_named(self, name: str) -> Stage | None:
        if "names" not in self._memo:
            names: dict[str, Stage] = {}
            for stage in self.stages:
                if stage.name is not None:
                    names.setdefault(stage.name, stage)
            self._memo["names"] = names
        return cast("dict[str, Stage]", self._memo["names"]).get(name.lower())

    def resolve_stage_ref(self, ref: str, before: int) -> Stage | None:
        """The stage `ref` (a name or an index) means when used by stage `before`, else None."""
        if ref.isdigit():
            index = stage_index(ref)
            return self.stages[index] if index is not None and index < before else None
        stage = self.stage_named(ref)
        return stage if stage is not None and stage.index < before else None

    def parent(self, stage: Stage, args: Mapping[str, str] | None = None) -> Stage | None:
        """The earlier stage this stage is built FROM, if its FROM names one."""
        image = substitute(stage.image, self._defaults(args))
        return self.resolve_stage_ref(image, stage.index) if image else None

    def chain(self, stage: Stage, args: Mapping[str, str] | None = None) -> list[Stage]:
        """The stage and its FROM ancestors, oldest first."""
        parents = self._parents(args)
        out = [stage]
        while (parent := parents[out[-1].index]) is not None:
            out.append(parent)
        return out[::-1]

    def root(self, stage: Stage, args: Mapping[str, str] | None = None) -> Stage:
        """The oldest stage of `chain(stage)`: the one built FROM an external image."""
        key = ("roots", *sorted((args or {}).items()))
        if key not in self._memo:
            # NOTE: a parent always comes earlier, so every stage's root takes one step, never
            # a walk per stage (10,000 `FROM previous` stages, each asked for, took minutes).
            parents = self._parents(args)
            roots: list[Stage] = []
            for each in self.stages:
                above = parents[each.index]
                roots.append(each if above is None else roots[above.index])
            self._memo[key] = roots
        return cast("list[Stage]", self._memo[key])[stage.index]

    def _parents(self, args: Mapping[str, str] | None) -> list[Stage | None]:
        """Each stage's parent (by index); a parent always has a lower index, so no cycles."""
        key = ("parents", *sorted((args or {}).items()))
        if key not in self._memo:
            self._memo[key] = [self.parent(stage, args) for stage in self.stages]
        return cast("list[Stage | None]", self._memo[key])

    def base_image(self, stage: Stage, args: Mapping[str, str] | None = None) -> str | None:
        """The external image at the root of the stage's chain, or None when it cannot be told."""
        return substitute(self.root(stage, args).image, self._defaults(args))

    def target(self, name: str | None) -> Stage | None:
        """The stage `docker build --target name` builds; the last stage without a target."""
        if name is None:
            return self.stages[-1] if self.stages else None
        return self.stage_named(name)


def stage_index(ref: str) -> int | None:
    """`--from=1` or `FROM 1` as a stage index; None for what cannot be one (`²`, 5,000 digits)."""
    if ref.isascii() and ref.isdigit() and len(ref) <= 9:
        return int(ref)
    return None


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


def global_values(df: ParsedDockerfile, args: Mapping[str, str]) -> dict[str, str]:
    """The ARGs before the first FROM as Docker sees them: a default may use an earlier one
    (`ARG BASE_IMAGE=python:${PYTHON_VERSION}-slim`); a build arg is taken as written."""
    values: dict[str, str] = {}
    for arg in df.global_args:
        if arg.name in args:
            values[arg.name] = args[arg.name]
        elif arg.default is not None:
            values[arg.name] = substitute(arg.default, values) or arg.default
    return values


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
        words = shellwords.split(value)
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


_INSTRUCTION = re.compile(r"^\s*(\S+)\s+(.*)$")
_COMMENT = re.compile(r"^\s*#")
_COMMENT_LEAD = re.compile(r"^\s*#\s*")
_ESCAPE_DIRECTIVE = re.compile(r"^\s*#\s*escape\s*=\s*(\\|`)\s*$", re.IGNORECASE)
_SYNTAX_DIRECTIVE = re.compile(r"^\s*#\s*syntax\s*=\s*(.*)\s*$", re.IGNORECASE)


def structure(text: str) -> list[dict[str, Any]]:
    """dockerfile-parse's `DockerfileParser.structure` for `text`, in linear time.

    NOTE: dockerfile-parse grows each instruction with `d["value"] += line`, which is quadratic
    in the number of continuation lines (a 1 MB `RUN` of `\\`-continued lines took minutes).
    This is the same walk with the same regexes, joining each instruction's pieces once; it gives
    the same dicts (instruction, startline, endline, content, value), quirks included: a blank
    line ends a continuation, and an instruction still continued at the end of the file is lost.
    """
    instructions: list[dict[str, Any]] = []
    escape = "\\"
    continues = re.compile(r"^.*\\\s*$")
    directive_possible = True
    in_continuation = False
    current: dict[str, Any] | None = None
    content: list[str] = []
    value: list[str] = []
    lines = text.split("\n")
    lines = [line + "\n" for line in lines[:-1]] + ([lines[-1]] if lines[-1] else [])
    for lineno, line in enumerate(lines):
        if directive_possible:
            directive = _ESCAPE_DIRECTIVE.match(line)
            if directive:
                escape = directive.group(1)
                continues = re.compile(r"^.*" + re.escape(escape) + r"\s*$")
            elif not _SYNTAX_DIRECTIVE.match(line):
                directive_possible = False
        if _COMMENT.match(line):
            comment = _COMMENT_LEAD.sub("", line).replace("\n", "")
            instructions.append(_entry(COMMENT_INSTRUCTION, lineno, line, comment))
            continue
        if not in_continuation:
            match = _INSTRUCTION.match(line)
            if not match:
                continue
            current = _entry(match.group(1).upper(), lineno, line, "")
            content = [line]
            value = [_rstrip_eol(match.group(2), escape)]
        else:
            assert current is not None
            content.append(line)
            current["endline"] = lineno
            if any(value):
                value.append(_rstrip_eol(line, escape))
            else:
                value = [_rstrip_eol(line.lstrip(), escape)]
        in_continuation = continues.match(line) is not None
        if not in_continuation and current is not None:
            current["content"] = "".join(content)
            current["value"] = "".join(value)
            instructions.append(current)
            current = None
    return instructions


def _entry(instruction: str, lineno: int, line: str, value: str) -> dict[str, Any]:
    return {
        "instruction": instruction,
        "startline": lineno,
        "endline": lineno,
        "content": line,
        "value": value,
    }


def _rstrip_eol(text: str, escape: str) -> str:
    text = text.rstrip()
    return text[:-1] if text.endswith(escape) else text


def parse(text: str) -> ParsedDockerfile:
    """Parse a Dockerfile; what Docker would reject goes into `problems`, never an exception."""
    structure_ = _skip_heredocs(structure(text))
    problems: list[tuple[int, str]] = []
    global_args: list[Arg] = []
    stages: list[Stage] = []
    from_values: list[tuple[int, str]] = []
    current: Stage | None = None
    body: list[Instruction] = []

    def close() -> None:
        if current is not None:
            stages.append(current.with_instructions(tuple(body)))

    for item in structure_:
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
    if not stages and not problems and structure_:
        problems.append((1, "no FROM instruction: this Dockerfile builds nothing"))
    return ParsedDockerfile(tuple(global_args), tuple(stages), tuple(problems), tuple(from_values))


class StageScope:
    """The variables visible in a stage, instruction by instruction: redeclared global ARGs,
    stage ARGs with a default or a build arg, ENV values.

    `before(line)` only moves forward, so walking a stage's COPY lines costs one pass over the
    stage, not one pass per COPY.
    """

    def __init__(self, stage: Stage, df: ParsedDockerfile, overrides: Mapping[str, str]) -> None:
        self._instructions = stage.instructions
        self._overrides = overrides
        self._glob = df._defaults(overrides)
        self._values: dict[str, str] = {}
        self._view = MappingProxyType(self._values)
        self._next = 0

    def before(self, line: int = 0) -> Mapping[str, str]:
        """The variables set before `line` (0: the whole stage); a live view, copy to keep it."""
        while self._next < len(self._instructions):
            ins = self._instructions[self._next]
            if line and ins.line >= line:
                break
            self._apply(ins)
            self._next += 1
        return self._view

    def with_globals(self, line: int = 0) -> Mapping[str, str]:
        """`before(line)` laid over the global ARG defaults, without copying either."""
        return _Layers(self.before(line), self._glob)

    def _apply(self, ins: Instruction) -> None:
        values = self._values
        if ins.keyword == "ARG":
            for name, default in parse_assignments(ins.value, False):
                fallback = default if default is not None else self._glob.get(name)
                value = self._overrides.get(name, fallback)
                if value is not None:
                    values[name] = _expand(value, values)
        elif ins.keyword == "ENV":
            for name, env_value in parse_assignments(ins.value, True):
                if env_value is not None:
                    values[name] = _expand(env_value, values)


class _Layers(Mapping[str, str]):
    """Two mappings read as one, `top` first."""

    def __init__(self, top: Mapping[str, str], under: Mapping[str, str]) -> None:
        self._top, self._under = top, under

    def __getitem__(self, key: str) -> str:
        return self._top[key] if key in self._top else self._under[key]

    def __iter__(self) -> Iterator[str]:
        yield from self._top
        yield from (key for key in self._under if key not in self._top)

    def __len__(self) -> int:
        return sum(1 for _ in self)


def stage_args(
    stage: Stage, df: ParsedDockerfile, overrides: Mapping[str, str], before_line: int = 0
) -> dict[str, str]:
    """Variables visible in a stage (before `before_line` if given); see `StageScope`, which
    a caller asking line after line should use instead."""
    return dict(StageScope(stage, df, overrides).before(before_line))


def images_read(
    df: ParsedDockerfile, args: Mapping[str, str], target: str | None = None
) -> list[str | None]:
    """The external images a build of `target` reads, args substituted, in order, each once:
    those its stages start FROM and those a `COPY --from=IMAGE` copies from. Every stage up to
    the target counts (the classic builder builds them all, used or not). None stands for one
    whose name cannot be told (an ARG without a value).

    What the build-inputs digest and a remembered answer hold the ids of, and what must be on
    an engine before it builds (`engine/bases.py`)."""
    values = global_values(df, args)
    final = df.target(target)
    last = final.index if final is not None else len(df.stages) - 1
    found: list[str | None] = []

    def add(ref: str | None) -> None:
        if ref is None or (ref.lower() != "scratch" and ref not in found):
            found.append(ref)

    for stage in df.stages[: last + 1]:
        if df.parent(stage, values) is None:
            add(substitute(stage.image, values))
        scope: StageScope | None = None
        for ins in stage.instructions:
            source = split_flags(ins.value)[0].get("from") if ins.keyword == "COPY" else None
            if not source:
                continue
            scope = scope or StageScope(stage, df, args)
            ref = substitute(source, scope.before(ins.line))
            if ref is None or df.resolve_stage_ref(ref, stage.index) is None:
                add(ref)
    return found


def _expand(value: str, values: Mapping[str, str]) -> str:
    expanded = substitute(value, values)
    return value if expanded is None else expanded


__all__ = [
    "PLATFORM_ARGS",
    "Arg",
    "Instruction",
    "ParsedDockerfile",
    "Stage",
    "StageScope",
    "global_values",
    "images_read",
    "parse",
    "parse_assignments",
    "split_flags",
    "split_words",
    "stage_args",
    "stage_index",
    "substitute",
    "variables",
]

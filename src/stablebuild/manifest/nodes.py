"""YAML text to a tree of `Node`s that remember their line and dotted key path.

PyYAML's `compose` keeps marks but its constructor drops them, and it silently keeps the last of
two equal keys; this walk keeps both facts. Merge keys (`<<: *anchor`) are honoured.

Hostile YAML is bounded: nesting is checked before composing (`yamlbounds`), and the walk counts
the values it expands through aliases and how deep, and stops with one problem past
`MAX_NODES` or `MAX_DEPTH`: a 300-byte alias bomb is refused in milliseconds.
"""

from __future__ import annotations

from typing import NamedTuple, TypeAlias

import yaml
from yaml.constructor import ConstructorError, SafeConstructor

from stablebuild import yamlbounds
from stablebuild.errors import Problem

YAML_TAG = "tag:yaml.org,2002:"
SCALAR_KINDS = {"str": "str", "int": "int", "float": "float", "bool": "bool", "null": "null"}
# Standard tags read as the text written: a date is a string to every manifest key.
AS_TEXT = {"timestamp"}
COLLECTION_TAGS = {YAML_TAG + "map", YAML_TAG + "seq"}
MAX_NODES = yamlbounds.MAX_NODES
MAX_DEPTH = yamlbounds.MAX_DEPTH

Data: TypeAlias = "str | int | float | bool | dict[str, Node] | list[Node] | None"


class Node(NamedTuple):
    """One value of the manifest and where it is written.

    `kind` is "map", "seq", "str", "int", "float", "bool" or "null". `text` is the scalar as
    written (so `3.10` stays "3.10", never the float 3.1). `line` is 1-based; for a mapping entry
    it is the line of its key. `path` is the dotted key path where the value is written, e.g.
    `images.api.ffmpeg.smoke[1]` or `profiles.airgap.python`.
    """

    kind: str
    data: Data
    text: str
    line: int
    path: str
    file: str

    @property
    def entries(self) -> dict[str, Node]:
        return self.data if isinstance(self.data, dict) else {}

    @property
    def items(self) -> list[Node]:
        return self.data if isinstance(self.data, list) else []

    def problem(self, message: str) -> Problem:
        return Problem(self.file, self.line, message, self.path)


def child_path(parent: str, key: str) -> str:
    return f"{parent}.{key}" if parent else key


def compose(text: str, file: str, problems: list[Problem]) -> Node | None:
    """Parse `text`; None (with a problem) when it is not YAML or is empty."""
    try:
        # NOTE: PyYAML's own parser, not libyaml: they disagree on tabs and on where a syntax
        # error is, and manifests are small (1 MiB at most, a few seconds).
        root = yamlbounds.compose(text, yaml.SafeLoader, cycles=True)
    except yamlbounds.YamlBoundsError as exc:
        mark = exc.problem_mark
        problems.append(Problem(file, mark.line + 1 if mark else None, str(exc.problem)))
        return None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        what = " ".join(part for part in (exc.context, exc.problem) if part)
        problems.append(Problem(file, line, f"not valid YAML: {what or exc}"))
        return None
    except yaml.YAMLError as exc:
        problems.append(Problem(file, None, f"not valid YAML: {exc}"))
        return None
    if root is None:
        problems.append(Problem(file, None, "the manifest is empty"))
        return None
    try:
        return _Walk(file, problems).node(root, root.start_mark.line + 1, "")
    except _TooLarge as exc:
        problems.append(Problem(file, exc.line, exc.message, exc.path))
        return None


class _TooLarge(Exception):
    """The walk went past a bound: the manifest is refused with this one problem."""

    def __init__(self, line: int, message: str, path: str) -> None:
        super().__init__(message)
        self.line, self.message, self.path = line, message, path


class _Walk:
    """One pass over composed YAML; guards against aliases that contain themselves, and counts
    the values and levels it expands."""

    def __init__(self, file: str, problems: list[Problem]) -> None:
        self.file = file
        self.problems = problems
        self.ancestors: set[int] = set()
        self.count = 0
        self.depth = 0

    def report(self, line: int, message: str, path: str) -> None:
        self.problems.append(Problem(self.file, line, message, path))

    def tick(self, line: int, path: str) -> None:
        """Count one value (or one merge) expanded; past the budget, stop."""
        self.count += 1
        if self.count > MAX_NODES:
            raise _TooLarge(
                line,
                f"aliases expand the manifest to more than {MAX_NODES:,} values "
                "(a YAML alias bomb?); not read",
                path,
            )

    def node(self, node: yaml.Node, line: int, path: str) -> Node:
        self.tick(line, path)
        if isinstance(node, yaml.ScalarNode):
            return self.scalar(node, line, path)
        if id(node) in self.ancestors:
            self.report(line, "a YAML alias that contains itself", path)
            return Node("null", None, "", line, path, self.file)
        if self.depth >= MAX_DEPTH:
            message = f"aliases nest the manifest more than {MAX_DEPTH} levels deep; not read"
            raise _TooLarge(line, message, path)
        if node.tag not in COLLECTION_TAGS:
            self.report(line, f"unsupported YAML tag {_shown(node.tag)}", path)
        self.ancestors.add(id(node))
        self.depth += 1
        try:
            if isinstance(node, yaml.MappingNode):
                return Node("map", self.mapping(node, path), "", line, path, self.file)
            items = [
                self.node(item, item.start_mark.line + 1, f"{path}[{index}]")
                for index, item in enumerate(node.value)
            ]
            return Node("seq", items, "", line, path, self.file)
        finally:
            self.ancestors.discard(id(node))
            self.depth -= 1

    def scalar(self, node: yaml.ScalarNode, line: int, path: str) -> Node:
        as_text = Node("str", node.value, node.value, line, path, self.file)
        name = node.tag.removeprefix(YAML_TAG)
        if name in AS_TEXT:  # the text as written is what a string wants
            return as_text
        kind = SCALAR_KINDS.get(name) if node.tag.startswith(YAML_TAG) else None
        if kind is None:  # a foreign tag, !!binary, !!python/...: never constructed
            self.report(line, f"unsupported YAML tag {_shown(node.tag)}", path)
            return as_text
        try:
            value = SafeConstructor().construct_object(node)
        except ConstructorError as exc:
            self.report(line, f"not valid YAML: {exc.problem}", path)
            return as_text
        except (ValueError, TypeError, ArithmeticError, LookupError):  # `!!int abc`, 5,000 digits
            what = (
                f"a number of {len(node.value):,} characters is too long"
                if len(node.value) > 100
                else f"{_short(node.value)} is not a valid {kind}"
            )
            self.report(line, what, path)
            return as_text
        return Node(kind, value, node.value, line, path, self.file)

    def mapping(self, node: yaml.MappingNode, path: str) -> dict[str, Node]:
        own: dict[str, Node] = {}
        merged: dict[str, Node] = {}
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            if key_node.tag == YAML_TAG + "merge":
                merged.update(self.merge_sources(value_node, path))
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                self.report(line, "a key must be a plain name", path)
                continue
            key = key_node.value
            where = child_path(path, key)
            if key in own:
                first = own[key].line
                message = f"duplicate key {key!r} (first at line {first}); YAML keeps only this one"
                self.report(line, message, where)
            own[key] = self.node(value_node, line, where)
        return {**merged, **own}

    def merge_sources(self, value: yaml.Node, path: str) -> dict[str, Node]:
        """The entries a `<<:` brings in: one mapping, or a list of them (earlier ones win)."""
        sources = value.value if isinstance(value, yaml.SequenceNode) else [value]
        entries: dict[str, Node] = {}
        for source in reversed(sources):
            line = source.start_mark.line + 1
            if not isinstance(source, yaml.MappingNode):
                self.report(line, "`<<` must name a mapping", path)
            elif id(source) in self.ancestors:  # `x: &x {<<: *x}`
                self.report(line, "a YAML alias that contains itself", path)
            elif self.depth >= MAX_DEPTH:
                message = f"aliases nest the manifest more than {MAX_DEPTH} levels deep; not read"
                raise _TooLarge(line, message, path)
            else:
                self.tick(line, path)  # merging `{}` adds no value but still costs
                self.ancestors.add(id(source))
                self.depth += 1
                try:
                    entries.update(self.mapping(source, path))
                finally:
                    self.ancestors.discard(id(source))
                    self.depth -= 1
        return entries


def _shown(tag: str) -> str:
    """`tag:yaml.org,2002:binary` as written: `!!binary`."""
    return "!!" + tag.removeprefix(YAML_TAG) if tag.startswith(YAML_TAG) else tag


def _short(text: str, most: int = 40) -> str:
    return repr(text if len(text) <= most else text[:most] + "...")


def deep_merge(under: Node, over: Node, *, identity: Node | None = None) -> Node:
    """`over` laid on `under`: mappings merge key by key, anything else is replaced by `over`.

    The merged mapping takes its line and path from `identity` (default: `over`); the values in
    it keep their own, so a problem points at the text that supplied the value.
    """
    if under.kind != "map" or over.kind != "map":
        return over
    entries = dict(under.entries)
    for key, value in over.entries.items():
        entries[key] = deep_merge(entries[key], value) if key in entries else value
    return (identity or over)._replace(data=entries)

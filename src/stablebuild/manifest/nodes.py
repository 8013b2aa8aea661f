"""YAML text to a tree of `Node`s that remember their line and dotted key path.

PyYAML's `compose` keeps marks but its constructor drops them, and it silently keeps the last of
two equal keys; this walk keeps both facts. Merge keys (`<<: *anchor`) are honoured.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TypeAlias

import yaml
from yaml.constructor import ConstructorError, SafeConstructor

from stablebuild.errors import Problem

YAML_TAG = "tag:yaml.org,2002:"
SCALAR_KINDS = {"str": "str", "int": "int", "float": "float", "bool": "bool", "null": "null"}

Data: TypeAlias = "str | int | float | bool | dict[str, Node] | list[Node] | None"


@dataclass(frozen=True)
class Node:
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
        root = yaml.compose(text, Loader=yaml.SafeLoader)
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
    return _Walk(file, problems).node(root, root.start_mark.line + 1, "")


class _Walk:
    """One pass over composed YAML; guards against aliases that contain themselves."""

    def __init__(self, file: str, problems: list[Problem]) -> None:
        self.file = file
        self.problems = problems
        self.ancestors: set[int] = set()

    def report(self, line: int, message: str, path: str) -> None:
        self.problems.append(Problem(self.file, line, message, path))

    def node(self, node: yaml.Node, line: int, path: str) -> Node:
        if isinstance(node, yaml.ScalarNode):
            return self.scalar(node, line, path)
        if id(node) in self.ancestors:
            self.report(line, "a YAML alias that contains itself", path)
            return Node("null", None, "", line, path, self.file)
        self.ancestors.add(id(node))
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

    def scalar(self, node: yaml.ScalarNode, line: int, path: str) -> Node:
        as_text = Node("str", node.value, node.value, line, path, self.file)
        if not node.tag.startswith(YAML_TAG):
            self.report(line, f"unsupported YAML tag {node.tag}", path)
            return as_text
        kind = SCALAR_KINDS.get(node.tag.removeprefix(YAML_TAG))
        if kind is None:  # timestamps, binary...: the text as written is what a string wants
            return as_text
        try:
            value = SafeConstructor().construct_object(node)
        except ConstructorError as exc:
            self.report(line, f"not valid YAML: {exc.problem}", path)
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
            if isinstance(source, yaml.MappingNode):
                entries.update(self.mapping(source, path))
            else:
                self.report(source.start_mark.line + 1, "`<<` must name a mapping", path)
        return entries


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
    return replace(identity or over, data=entries)

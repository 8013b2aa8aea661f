"""Composing YAML a repository supplies, within bounds: nesting depth, values after alias
expansion, no alias that contains itself.

YAML aliases make a graph, not a tree: 300 bytes of `&a [*b, *b, ...]` describe a billion values
("billion laughs"), and `x: &x [*x]` describes an endless one. Whoever walks the composed nodes
walks that expansion. So the node graph is checked once, right after composing, by a walk that
visits each node once and adds up what its expansion would hold. Nesting is bounded before that:
the composers recurse, libyaml's until the process crashes (some ten thousand levels), so its
input is checked on the parser's events first; PyYAML's raises RecursionError near 300 levels,
and only then are the events read, for the line.

A bound that is crossed raises `YamlBoundsError`, a `yaml.MarkedYAMLError` with the line, so every
caller that reports YAML syntax errors reports these too.
"""

from __future__ import annotations

import importlib
from typing import Any

import yaml
from yaml.reader import ReaderError

MAX_DEPTH = 200
MAX_NODES = 100_000


def _c_parser() -> type | None:
    """libyaml's parser class; None when PyYAML is built without libyaml."""
    try:
        return getattr(importlib.import_module("yaml.cyaml"), "CParser", None)
    except ImportError:
        return None


_CParser = _c_parser()
_OPEN = (yaml.MappingStartEvent, yaml.SequenceStartEvent)
_CLOSE = (yaml.MappingEndEvent, yaml.SequenceEndEvent)


class YamlBoundsError(yaml.MarkedYAMLError):
    """Valid YAML the tool will not expand: too deep, too many values, or an alias cycle."""

    def __init__(self, problem: str, mark: Any) -> None:  # a yaml.Mark, C or Python, or None
        super().__init__(problem=problem, problem_mark=mark)


def compose(text: str, loader: Any = yaml.SafeLoader, *, cycles: bool = False) -> yaml.Node | None:
    """The document's root node (None for an empty document), within the bounds.

    Raises `yaml.YAMLError` for text that is not YAML: a `MarkedYAMLError` (with its line) for
    syntax, for a character YAML forbids (a NUL byte...) and for a crossed bound. `cycles=True`
    lets an alias that contains itself through, for a caller whose walk reports it at its key.
    """
    try:
        if _CParser is not None and issubclass(loader, _CParser):  # libyaml's would crash
            _check_nesting(text, loader)
        root = yaml.compose(text, Loader=loader)
    except ReaderError as exc:
        raise _reader_problem(text, exc) from None
    except RecursionError:
        # PyYAML's composer gives up near 300 levels; only then is the text parsed again,
        # for the line where the nesting passes the bound.
        _check_nesting(text, loader)
        raise YamlBoundsError("nested too deeply for the YAML reader", None) from None
    if root is not None:
        check_graph(root, cycles=cycles)
    return root


def _check_nesting(text: str, loader: Any) -> None:
    depth = 0
    for event in yaml.parse(text, Loader=loader):
        if isinstance(event, _OPEN):
            depth += 1
            if depth > MAX_DEPTH:
                raise YamlBoundsError(
                    f"nested more than {MAX_DEPTH} levels deep; no configuration needs that",
                    event.start_mark,
                )
        elif isinstance(event, _CLOSE):
            depth -= 1


def check_graph(root: yaml.Node, *, cycles: bool = False) -> None:
    """Raise `YamlBoundsError` when the nodes, aliases expanded, are too many or too deep, or
    when an alias contains itself (unless `cycles`: then it counts as one value, as a walk that
    stops there sees it). Each node is visited once: linear in the text."""
    size: dict[int, int] = {}  # id -> values in its expansion, itself included
    depth: dict[int, int] = {}  # id -> levels in its expansion
    open_ids = {id(root)}
    stack: list[tuple[yaml.Node, list[yaml.Node], int]] = [(root, _children(root), 0)]
    while stack:
        node, children, next_child = stack[-1]
        if next_child < len(children):
            stack[-1] = (node, children, next_child + 1)
            child = children[next_child]
            if isinstance(child, yaml.ScalarNode):
                continue  # one value, one level: what `size.get(..., 1)` counts it as below
            key = id(child)
            if key in open_ids and cycles:
                continue  # still open at the parent's end: counted as one value below
            if key in open_ids:
                raise YamlBoundsError(
                    "an alias that contains itself: its value would never end", child.start_mark
                )
            if key not in size:
                open_ids.add(key)
                stack.append((child, _children(child), 0))
            continue
        stack.pop()
        open_ids.discard(id(node))
        total = 1 + sum(size.get(id(c), 1) for c in children)
        levels = 1 + max((depth.get(id(c), 1) for c in children), default=0)
        if total > MAX_NODES:
            raise YamlBoundsError(
                f"aliases expand this value to more than {MAX_NODES:,} values "
                "(a YAML alias bomb?); not read",
                node.start_mark,
            )
        if levels > MAX_DEPTH:
            raise YamlBoundsError(
                f"aliases nest this value more than {MAX_DEPTH} levels deep; not read",
                node.start_mark,
            )
        size[id(node)] = total
        depth[id(node)] = levels


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _reader_problem(text: str, exc: ReaderError) -> yaml.MarkedYAMLError:
    """A forbidden character, with the line where it first occurs."""
    character = exc.character
    code = character if isinstance(character, int) else ord(character[:1] or "\0")
    position = text.find(chr(code)) if 0 <= code <= 0x10FFFF else -1
    if position < 0:
        mark = None
    else:
        line = text.count("\n", 0, position)
        column = position - (text.rfind("\n", 0, position) + 1)
        mark = yaml.Mark("<text>", position, line, column, None, 0)
    what = "a NUL byte" if code == 0 else f"the character U+{code:04X}"
    return YamlBoundsError(f"{what}, which YAML does not allow in text", mark)


def load(text: str, loader: Any = yaml.SafeLoader) -> Any:
    """The document's value (None for an empty document), within the bounds; raises as
    `compose` does, and `yaml.YAMLError` for a value the loader cannot construct."""
    root = compose(text, loader)
    if root is None:
        return None
    constructor = loader("")
    try:
        return constructor.construct_document(root)
    finally:
        constructor.dispose()


__all__ = ["MAX_DEPTH", "MAX_NODES", "YamlBoundsError", "check_graph", "compose", "load"]

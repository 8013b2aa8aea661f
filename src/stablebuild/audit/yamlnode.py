"""Reading YAML as composed nodes, so every key and value keeps its line number.

Nodes rather than Python objects also sidestep YAML 1.1 surprises (GitHub's `on:` key would load
as the boolean True). Merge keys (`<<: *anchor`) are honoured.

The text is composed within `yamlbounds`' limits (nesting, values after alias expansion, no alias
cycles), so the walks here and in the rule modules always end, and end soon.
"""

from __future__ import annotations

import weakref

import yaml

from stablebuild import yamlbounds

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class YamlProblem(Exception):
    """YAML that does not parse: where, and what the parser said."""

    def __init__(self, line: int | None, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


def compose(text: str) -> yaml.Node | None:
    """The document's root node (None for an empty file); raises YamlProblem if it won't parse.

    NOTE: several rule families read the same compose or workflow file; it is composed once
    (the nodes are never modified).
    """
    if text in _COMPOSED:
        answer = _COMPOSED[text]
    else:
        answer = _composed(text)
        _COMPOSED[text] = answer
        _COMPOSED_BYTES[0] += len(text)
        while _COMPOSED_BYTES[0] > _COMPOSED_BUDGET and len(_COMPOSED) > 1:
            oldest = next(iter(_COMPOSED))
            del _COMPOSED[oldest]
            _COMPOSED_BYTES[0] -= len(oldest)
    if isinstance(answer, YamlProblem):
        raise YamlProblem(answer.line, answer.message)
    return answer


# Composed documents kept by text, oldest dropped first past a budget of text (the nodes take
# some 50 times the text's size).
_COMPOSED: dict[str, yaml.Node | YamlProblem | None] = {}
_COMPOSED_BYTES = [0]
_COMPOSED_BUDGET = 4 * 1024 * 1024


def _composed(text: str) -> yaml.Node | YamlProblem | None:
    try:
        return yamlbounds.compose(text, _Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        return YamlProblem(mark.line + 1 if mark else None, problem)
    except yaml.YAMLError as exc:
        return YamlProblem(None, str(exc).splitlines()[0] if str(exc) else "invalid YAML")


def line(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


def scalar(node: yaml.Node | None) -> str | None:
    if isinstance(node, yaml.ScalarNode):
        return str(node.value)
    return None


Entry = tuple[str, yaml.Node, yaml.Node]
# NOTE: a mapping's entries, merges resolved, kept per node: rules ask `get` for one key after
# another, and a mapping reached through many aliases must not be merged again each time.
_ENTRIES: weakref.WeakKeyDictionary[yaml.Node, dict[str, Entry]] = weakref.WeakKeyDictionary()


def _entries(node: yaml.MappingNode) -> dict[str, Entry]:
    known = _ENTRIES.get(node)
    if known is not None:
        return known
    merged: dict[str, Entry] = {}
    own: dict[str, Entry] = {}
    for key_node, value_node in node.value:
        key = scalar(key_node)
        if key is None:
            continue
        if key == "<<":
            sources = (
                value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
            )
            for source in sources:
                if isinstance(source, yaml.MappingNode):
                    for name, entry in _entries(source).items():
                        merged.setdefault(name, entry)
        else:
            own[key] = (key, key_node, value_node)
    entries = {**merged, **own}
    _ENTRIES[node] = entries
    return entries


def items(node: yaml.Node | None) -> list[Entry]:
    """A mapping's (key, key node, value node) triples; merged keys first, own keys override."""
    if not isinstance(node, yaml.MappingNode):
        return []
    return list(_entries(node).values())


def get(node: yaml.Node | None, key: str) -> tuple[yaml.Node, yaml.Node] | None:
    """(key node, value node) for `key` in a mapping, or None."""
    if not isinstance(node, yaml.MappingNode):
        return None
    found = _entries(node).get(key)
    return (found[1], found[2]) if found is not None else None


def value(node: yaml.Node | None, key: str) -> yaml.Node | None:
    found = get(node, key)
    return found[1] if found else None


def sequence(node: yaml.Node | None) -> list[yaml.Node]:
    """A sequence's items; a lone scalar or mapping counts as a one-item list."""
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return [node] if node is not None else []


def strings(node: yaml.Node | None) -> list[tuple[str, yaml.Node]]:
    """The scalar strings of a scalar or a sequence of scalars, each with its node."""
    return [(s, item) for item in sequence(node) if (s := scalar(item)) is not None]


__all__ = [
    "YamlProblem",
    "compose",
    "get",
    "items",
    "line",
    "scalar",
    "sequence",
    "strings",
    "value",
]

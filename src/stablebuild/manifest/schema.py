"""The manifest's keys and their types: which keys exist where, and what each value must be.

This layer knows shapes only (a mapping here, a list of strings there, a number, a flag); what
the values mean (files exist, module names, versions) is `stablebuild.manifest.rules`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Generic, TypeVar

from stablebuild import shellwords
from stablebuild.errors import Problem
from stablebuild.manifest.nodes import Node
from stablebuild.suggest import closest

T = TypeVar("T", covariant=True)

SHAPES = {
    "map": "a mapping",
    "seq": "a list",
    "str": "a string",
    "int": "a number",
    "float": "a number",
    "bool": "true/false",
    "null": "empty",
}


class WrongType(Exception):
    """A value whose shape is not what its key wants; the message says what was expected."""


def _found(node: Node) -> str:
    shown = f" {node.text!r}" if node.kind in ("str", "int", "float", "bool") else ""
    return f"{SHAPES[node.kind]}{shown}"


class Kind(Generic[T]):
    """What one key's value must look like, and how it reads as a Python value."""

    expected = "a value"

    def convert(self, node: Node) -> T:
        raise NotImplementedError

    def check(self, node: Node, problems: list[Problem]) -> None:
        """Record every shape problem in `node` (and below it)."""
        try:
            self.convert(node)
        except WrongType as exc:
            problems.append(node.problem(str(exc)))

    def read(self, node: Node | None) -> T | None:
        """The value, or None when absent or of the wrong shape (already reported by `check`)."""
        if node is None:
            return None
        try:
            return self.convert(node)
        except WrongType:
            return None

    def wrong(self, node: Node) -> WrongType:
        return WrongType(f"must be {self.expected}, not {_found(node)}")


class Text(Kind[str]):
    """A string; numbers and flags read as written (`3.10` is "3.10", `1000` is "1000")."""

    expected = "a string"

    def convert(self, node: Node) -> str:
        if node.kind in ("map", "seq", "null"):
            raise self.wrong(node)
        return node.text


class Whole(Kind[int]):
    expected = "a whole number"

    def convert(self, node: Node) -> int:
        if node.kind != "int" or not isinstance(node.data, int):
            raise self.wrong(node)
        return node.data


class Number(Kind[float]):
    """A finite number: `.inf` and `.nan` are YAML numbers that no limit or duration can be."""

    expected = "a number"

    def convert(self, node: Node) -> float:
        if node.kind not in ("int", "float") or not isinstance(node.data, (int, float)):
            raise self.wrong(node)
        try:
            value = float(node.data)
        except OverflowError:
            message = f"must be a finite number, not one {len(node.text)} digits long"
            raise WrongType(message) from None
        if not math.isfinite(value):
            raise WrongType(f"must be a finite number, not {node.text!r}")
        return value


class Flag(Kind[bool]):
    expected = "true or false"

    def convert(self, node: Node) -> bool:
        if node.kind != "bool" or not isinstance(node.data, bool):
            raise self.wrong(node)
        return node.data


class Choice(Kind[str]):
    def __init__(self, options: tuple[str, ...]) -> None:
        self.options = options

    def convert(self, node: Node) -> str:
        value = Text().convert(node)
        if value not in self.options:
            raise WrongType(f"must be one of {', '.join(self.options)}, not {value!r}")
        return value


class TextList(Kind[tuple[str, ...]]):
    """A list of strings; a lone string is a mistake worth naming (`imports: fastapi`)."""

    expected = "a list of strings"

    def convert(self, node: Node) -> tuple[str, ...]:
        if node.kind != "seq":
            hint = f" (write [{node.text}])" if node.kind == "str" else ""
            raise WrongType(f"must be {self.expected}, not {_found(node)}{hint}")
        return tuple(Text().convert(item) for item in node.items)

    def check(self, node: Node, problems: list[Problem]) -> None:
        if node.kind != "seq":
            super().check(node, problems)
            return
        for item in node.items:
            Text().check(item, problems)


class TextOrList(TextList):
    """One string or a list of them (`requirements: a.txt` or `requirements: [a.txt, b.txt]`)."""

    expected = "a string or a list of strings"

    def convert(self, node: Node) -> tuple[str, ...]:
        if node.kind == "seq":
            return super().convert(node)
        return (Text().convert(node),)


class Command(TextList):
    """An exec-form command: a list, or one string split like a shell would (never run by one)."""

    expected = "a list of strings or a command string"

    def convert(self, node: Node) -> tuple[str, ...]:
        if node.kind == "seq":
            return super().convert(node)
        try:
            return tuple(shellwords.split(Text().convert(node)))
        except ValueError as exc:
            raise WrongType(f"cannot be split into words: {exc}") from None


class TextMap(Kind[dict[str, str]]):
    """Names to strings (`args`, `run.env`); numbers become their written form."""

    expected = "a mapping of names to strings"

    def convert(self, node: Node) -> dict[str, str]:
        if node.kind != "map":
            raise self.wrong(node)
        return {key: Text().convert(value) for key, value in node.entries.items()}

    def check(self, node: Node, problems: list[Problem]) -> None:
        if node.kind != "map":
            super().check(node, problems)
            return
        for value in node.entries.values():
            Text().check(value, problems)


class Section(Kind[dict[str, Node]]):
    """A mapping with known keys; an unknown key gets a did-you-mean."""

    expected = "a mapping"

    def __init__(self, fields: Mapping[str, Kind[object]]) -> None:
        self.fields = fields

    def convert(self, node: Node) -> dict[str, Node]:
        if node.kind != "map":
            raise self.wrong(node)
        return node.entries

    def check(self, node: Node, problems: list[Problem]) -> None:
        if node.kind != "map":
            super().check(node, problems)
            return
        for key, value in node.entries.items():
            kind = self.fields.get(key)
            if kind is None:
                problems.append(value.problem(unknown_key(key, self.fields)))
            else:
                kind.check(value, problems)


class NamedMap(Kind[dict[str, Node]]):
    """A mapping of user-chosen names (images, profiles), each value of one kind."""

    expected = "a mapping of names"

    def __init__(self, item: Kind[object]) -> None:
        self.item = item

    def convert(self, node: Node) -> dict[str, Node]:
        if node.kind != "map":
            raise self.wrong(node)
        return node.entries

    def check(self, node: Node, problems: list[Problem]) -> None:
        if node.kind != "map":
            super().check(node, problems)
            return
        for value in node.entries.values():
            self.item.check(value, problems)


class Items(Kind[list[Node]]):
    """A list whose every item is of one kind (the stack's smoke steps)."""

    expected = "a list"

    def __init__(self, item: Kind[object]) -> None:
        self.item = item

    def convert(self, node: Node) -> list[Node]:
        if node.kind != "seq":
            raise self.wrong(node)
        return node.items

    def check(self, node: Node, problems: list[Problem]) -> None:
        if node.kind != "seq":
            super().check(node, problems)
            return
        for item in node.items:
            self.item.check(item, problems)


def unknown_key(key: str, known: Mapping[str, object] | list[str]) -> str:
    names = sorted(known)
    close = closest(key, names)
    if close:
        return f"unknown key {key!r} (did you mean {close!r}?)"
    return f"unknown key {key!r}; known keys: {', '.join(names)}"


FFMPEG = Section({"encoders": TextList(), "smoke": TextList()})
GPU = Section({"nvenc": TextList()})
PACKAGES = Section({"forbid": TextList(), "require": TextList()})
BUDGETS = Section({"size_mb": Number(), "build_seconds": Number()})
RUN = Section(
    {
        "env": TextMap(),
        "port": Whole(),
        "health": Text(),
        "start_seconds": Number(),
        "command": Command(),
    }
)
IMAGE_FIELDS: dict[str, Kind[object]] = {
    "dockerfile": Text(),
    "context": Text(),
    "target": Text(),
    "args": TextMap(),
    "interpreter": Text(),
    "imports": TextList(),
    "ffmpeg": FFMPEG,
    "gpu": GPU,
    "user": Text(),
    "packages": PACKAGES,
    "healthcheck": Flag(),
    "budgets": BUDGETS,
    "run": RUN,
    "files": TextList(),
    # Which engine builds and checks the image (docs/engines.md).
    "placement": Section({"engine": Text(), "labels": TextList()}),
}
IMAGE = Section(IMAGE_FIELDS)
# The stack phase of validate (docs/manifest.md, "stack"): compose files, smoke steps.
HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
POLL = Section(
    {
        "path": Text(),
        "until": TextMap(),
        "fail_when": TextMap(),
        "timeout_seconds": Number(),
        "interval_seconds": Number(),
    }
)
SMOKE_STEP = Section(
    {
        "http": Section(
            {
                "service": Text(),
                "port": Whole(),
                "method": Choice(HTTP_METHODS),
                "path": Text(),
                "json_file": Text(),
                "form": TextMap(),
                "expect_status": Whole(),
                "timeout_seconds": Number(),
                "then_poll": POLL,
            }
        ),
        "exec": Section({"service": Text(), "command": Command(), "timeout_seconds": Number()}),
    }
)
STACK = Section(
    {
        "compose": TextOrList(),
        "profiles": TextList(),
        "services": TextMap(),
        "build": TextList(),
        "wait": Section({"healthy": TextList(), "timeout_seconds": Number()}),
        "smoke": Items(SMOKE_STEP),
    }
)
FAIL_ON = ("error", "warning", "never")  # as stablebuild.config.FAIL_ON
# The most severe a hadolint finding can be; "error" keeps hadolint's own levels.
HADOLINT_SEVERITIES = ("error", "warning", "info")
AUDIT = Section(
    {
        "exclude": TextList(),
        "exact_pins": Flag(),
        "platforms": TextList(),
        "python_versions": TextList(),
        "vuln_db": Text(),
        "hadolint": Flag(),
        "hadolint_severity": Choice(HADOLINT_SEVERITIES),
        # Adoption on an existing repository (docs/configuration.md).
        "rules": TextMap(),
        "fail_on": Choice(FAIL_ON),
        "baseline": Text(),
        "index_url": Text(),
        "extra_index_urls": TextList(),
    }
)
PYTHON_MATCHES = ("minor", "patch")
# Keys a profile may override besides `args`, `defaults` and `images`.
OVERRIDABLE: dict[str, Kind[object]] = {
    "name": Text(),
    "python": Text(),
    "python_match": Choice(PYTHON_MATCHES),
    "requirements": TextOrList(),
    "ca_bundle": Text(),
    "audit": AUDIT,
    "stack": STACK,
}
PROFILE = Section(
    {
        **OVERRIDABLE,
        "args": TextMap(),
        "defaults": IMAGE,
        "images": NamedMap(IMAGE),
    }
)
MANIFEST = Section(
    {
        "version": Whole(),
        **OVERRIDABLE,
        "defaults": IMAGE,
        "images": NamedMap(IMAGE),
        "profiles": NamedMap(PROFILE),
        # Not in profiles: a mark only ever adds, so no layer may replace the list.
        "secret_args": TextList(),
        "history": Text(),  # the build history store (docs/history.md)
        # Docker context names (or any name, with an endpoint) a run may use (docs/engines.md).
        "engines": NamedMap(Section({"endpoint": Text(), "labels": TextList()})),
        "release": Section({"tag": Text(), "keep": Whole()}),  # docs/releases.md
    }
)

"""Profiles and defaults: laying the chosen profile and the `defaults:` over the base manifest.

Everything works on `Node`s, so each merged value keeps the line it was written on: a problem
in a value that came from a profile points at the profile.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

from stablebuild.errors import Problem
from stablebuild.manifest.nodes import Node, deep_merge
from stablebuild.manifest.schema import OVERRIDABLE
from stablebuild.suggest import closest


class Layout(NamedTuple):
    """The manifest after the profile: top-level values, and each image with all it inherits."""

    top: dict[str, Node]
    images: Mapping[str, Node] = {}
    new_images: frozenset[str] = frozenset()  # images that only the profile defines


def apply(top: dict[str, Node], profile: str | None, file: str, problems: list[Problem]) -> Layout:
    """Select `profile` (None: none) and merge; an unknown profile is a problem."""
    chosen = _profile(top, profile, file, problems)
    merged = dict(top)
    for key in OVERRIDABLE:
        if key in chosen:
            merged[key] = deep_merge(top[key], chosen[key]) if key in top else chosen[key]
    defaults = _merged(top.get("defaults"), chosen.get("defaults"))
    base_images = _entries(top.get("images"))
    profile_images = _entries(chosen.get("images"))
    images: dict[str, Node] = {}
    for name in [*base_images, *(n for n in profile_images if n not in base_images)]:
        base = base_images.get(name)
        image = _merged(base, profile_images.get(name), identity=base)
        assert image is not None
        if defaults is not None and defaults.kind == "map" and image.kind == "map":
            image = deep_merge(defaults, image)
        images[name] = _with_args(image, chosen.get("args"))
    new = frozenset(name for name in profile_images if name not in base_images)
    return Layout(top=merged, images=images, new_images=new)


def _profile(
    top: dict[str, Node], name: str | None, file: str, problems: list[Problem]
) -> dict[str, Node]:
    if name is None:
        return {}
    holder = top.get("profiles")
    profiles = _entries(holder)
    if name in profiles:
        return profiles[name].entries
    known = sorted(profiles)
    close = closest(name, known)
    hint = f" (did you mean {close!r}?)" if close else ""
    listed = f"known profiles: {', '.join(known)}" if known else "the manifest has no profiles"
    line = holder.line if holder else None
    problems.append(Problem(file, line, f"unknown profile {name!r}{hint}; {listed}", "profiles"))
    return {}


def _entries(node: Node | None) -> dict[str, Node]:
    return node.entries if node is not None else {}


def _merged(under: Node | None, over: Node | None, *, identity: Node | None = None) -> Node | None:
    if under is None:
        return over
    if over is None:
        return under
    return deep_merge(under, over, identity=identity)


def _with_args(image: Node, args: Node | None) -> Node:
    """A profile's `args` win over every image's own."""
    if args is None or image.kind != "map":
        return image
    entries = dict(image.entries)
    own = entries.get("args")
    entries["args"] = deep_merge(own, args, identity=own) if own is not None else args
    return image._replace(data=entries)

"""The release tag template: `{stack}/{image}:{channel}` made into one image reference per
image and channel, and what makes a template unusable."""

from __future__ import annotations

import re
import string

FIELDS = ("stack", "image", "channel")
# A reference Docker accepts: lower-case repository path (an optional registry host:port
# first), one tag of word characters, dots and dashes.
_REPOSITORY = re.compile(
    r"^(?:[a-z0-9.-]+(?::[0-9]+)?/)?[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$"
)
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")


def template_problem(template: str) -> str | None:
    """Why `template` cannot name release tags, or None."""
    try:
        names = {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
    except ValueError as exc:
        return f"{template!r} is not a template: {exc}"
    unknown = sorted(names - set(FIELDS))
    if unknown:
        return (
            f"{template!r} names {{{unknown[0]}}}; the fields are {{stack}} {{image}} {{channel}}"
        )
    missing = [name for name in ("image", "channel") if name not in names]
    if missing:
        return f"{template!r} lacks {{{missing[0]}}}: every image and channel needs its own tag"
    repository, tag = split_reference(render(template, "stack", "image", "channel"))
    if not tag or "{channel}" not in template.rpartition(":")[2]:
        return f"{template!r} must end in a tag holding {{channel}}, e.g. ...:{{channel}}"
    if not _REPOSITORY.match(repository):
        return f"{template!r} does not make a valid image name (lower case, / separated)"
    return None


def render(template: str, stack: str, image: str, channel: str) -> str:
    return template.format(stack=stack, image=image, channel=channel)


def split_reference(reference: str) -> tuple[str, str]:
    """`registry:5000/a/b:tag` as (`registry:5000/a/b`, `tag`); no tag: (reference, "")."""
    head, sep, tail = reference.rpartition(":")
    if not sep or "/" in tail:
        return reference, ""
    return head, tail


def reference_problem(reference: str) -> str | None:
    """Why the rendered `reference` is not a valid image reference, or None."""
    repository, tag = split_reference(reference)
    if not _REPOSITORY.match(repository):
        return f"{reference!r} is not a valid image name (lower case, / separated)"
    if not _TAG.match(tag):
        return f"{reference!r} has no valid tag (letters, digits, _ . -; at most 128)"
    return None


__all__ = ["FIELDS", "reference_problem", "render", "split_reference", "template_problem"]

""" "Did you mean": the known name closest to a mistyped one, for every message that offers it
(manifest keys, images, profiles, stack services, rule ids). difflib loads only when a mistake
needs it: every validate reads the modules that can make these messages."""

from __future__ import annotations

from collections.abc import Iterable


def closest(name: str, known: Iterable[str]) -> str | None:
    """The known name `name` most likely misspells (difflib's ratio of at least 0.6), or None."""
    import difflib

    found = difflib.get_close_matches(name, list(known), n=1)
    return found[0] if found else None


__all__ = ["closest"]

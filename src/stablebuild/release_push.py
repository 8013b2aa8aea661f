"""Pushing a release channel's tags to the registry its template names: every push checked
against the digest the registry then holds, transient errors retried.

Credentials are the Docker config's, used by the engine: none passes through here.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable

from stablebuild.engine.interface import EngineInterface
from stablebuild.errors import EngineError, EngineUnavailable, StablebuildError
from stablebuild.manifest.model import Manifest
from stablebuild.manifest.release import render


class PushFailed(StablebuildError):
    """The channel's tags could not be pushed, or the registry holds other digests (exit 1)."""


PUSH_ATTEMPTS = 3
_TRANSIENT = re.compile(
    r"timeout|timed out|connection|reset by peer|temporar|\b5\d\d\b|too ?many ?requests|eof",
    re.IGNORECASE,
)


def _transient(exc: EngineError) -> bool:
    return isinstance(exc, EngineUnavailable) or bool(_TRANSIENT.search(exc.message))


def push_channel(
    manifest: Manifest,
    engine: EngineInterface,
    channel: str,
    *,
    attempts: int = PUSH_ATTEMPTS,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, str]:
    """Push the channel's tags, retrying transient errors, and check that the registry now
    holds the pushed digests: reference -> digest. Raises PushFailed."""
    pushed: dict[str, str] = {}
    for image in manifest.images:
        reference = render(manifest.release.tag, manifest.name, image, channel)
        for attempt in range(1, attempts + 1):
            try:
                digest = engine.push(reference)
                held = engine.registry_digest(reference)
            except EngineError as exc:
                if attempt < attempts and _transient(exc):
                    sleep(2.0 ** (attempt - 1))
                    continue
                tried = f" (after {attempt} attempts)" if attempt > 1 else ""
                raise PushFailed(
                    f"push {reference} failed{tried}: {exc.message}",
                    "check the registry and `docker login` to it, then promote again",
                ) from None
            if held != digest:
                raise PushFailed(
                    f"push {reference}: the registry holds {held or 'nothing'}, not {digest}",
                    "someone pushed the same tag at the same time? promote again",
                )
            pushed[reference] = digest
            break
    return pushed


__all__ = ["PUSH_ATTEMPTS", "PushFailed", "push_channel"]

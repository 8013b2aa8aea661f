"""Progress as an observer: the core emits events, the CLI may render them, tests ignore them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Event:
    """Something that happened to one image (or to the run when `image` is empty)."""

    image: str
    kind: str  # build-start, build-step, build-done, probe-start, probe-done, check-done, run-done
    message: str = ""
    step: int = 0
    total: int = 0


class Observer(Protocol):
    def __call__(self, event: Event) -> None: ...


def ignore(event: Event) -> None:
    """The observer used when nobody is watching."""

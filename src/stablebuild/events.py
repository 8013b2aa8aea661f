"""Progress as an observer: the core emits events, the CLI may render them, tests ignore them."""

from __future__ import annotations

from typing import NamedTuple, Protocol


# NOTE: NamedTuples, not dataclasses, for the types a remembered answer loads: `dataclasses`
# (inspect, ast, dis, tokenize) and the methods it generates per class cost 25-45 ms of a
# ~0.13 s answer here; a NamedTuple ~0.3 ms. tests/unit/test_import_budget.py holds to it.
class Event(NamedTuple):
    """Something that happened to one image (or to the run when `image` is empty)."""

    image: str
    # build-start, build-context, build-step, build-done, probe-start, probe-done, check-done,
    # run-done, ...
    kind: str
    message: str = ""
    step: int = 0
    total: int = 0


class Observer(Protocol):
    def __call__(self, event: Event) -> None: ...


def ignore(event: Event) -> None:
    """The observer used when nobody is watching."""

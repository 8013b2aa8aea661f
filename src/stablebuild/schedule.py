"""Scheduling a run's images: Dockerfile chains, run in parallel on a bounded pool.

Kept apart from what is done to each image so that ordering, partial runs and engine loss can
be unit-tested with a fake engine.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from stablebuild.engine.interface import Capabilities
from stablebuild.errors import EngineUnavailable, UsageError
from stablebuild.manifest.model import ImageSpec

if TYPE_CHECKING:
    from concurrent.futures import Future, ThreadPoolExecutor

T = TypeVar("T")
DEFAULT_COST = 300.0  # seconds: an image with neither history nor a build budget


def build_chains(specs: list[ImageSpec]) -> list[list[ImageSpec]]:
    """Images built from the same Dockerfile, one after another; the chains run in parallel.

    NOTE: the classic builder shares nothing between concurrent builds: two images of one
    Dockerfile built at once would both build its common stages. In a chain, the second finds
    them in the layer cache (the GPU worker after the CPU worker: a fraction of a second).
    """
    chains: dict[Path, list[ImageSpec]] = {}
    for spec in specs:
        chains.setdefault(spec.dockerfile.resolve(), []).append(spec)
    return list(chains.values())


class Scheduler:
    """Runs work items on at most `jobs` threads; `close` drops what has not started.

    One item (a stack of one chain) or one job runs on the calling thread, with no pool: an
    interrupt then stops the work itself, and `concurrent.futures` (which loads logging and
    traceback, ~15 ms of a validate's start here) loads only for a run that has a pool."""

    def __init__(self, jobs: int) -> None:
        self.jobs = max(1, jobs)
        self.pool: ThreadPoolExecutor | None = None

    def each(self, items: Sequence[T], work: Callable[[T], None]) -> None:
        """`work` for every item, in parallel; the first failure is raised."""
        if len(items) <= 1 or self.jobs == 1:
            for item in items:
                work(item)
            return
        from concurrent.futures import ThreadPoolExecutor

        self.pool = ThreadPoolExecutor(max_workers=self.jobs)
        futures: list[Future[None]] = [self.pool.submit(work, item) for item in items]
        for future in futures:
            future.result()

    def close(self, finished: bool) -> None:
        # NOTE: on an interrupt, queued images are dropped and running ones lose their
        # containers to the run's cleanup; the report keeps what finished.
        if self.pool is not None:
            self.pool.shutdown(wait=finished, cancel_futures=True)


def expected_cost(spec: ImageSpec, history: Mapping[str, float]) -> float:
    """Seconds the image is expected to take: its last build time, else its budget."""
    known = history.get(spec.name)
    if known is not None:
        return known
    return spec.budgets.build_seconds or DEFAULT_COST


def capable(chain: Sequence[ImageSpec], engines: Sequence[Capabilities]) -> list[Capabilities]:
    """The engines every image of the chain may go to, best first.

    `placement:` narrows to the named engine or to those carrying every label; an image with
    `gpu:` prefers an engine with an NVIDIA runtime (elsewhere its GPU checks are skipped with
    the reason, as on a single engine without one). An engine that did not answer at the start
    takes nothing."""
    found = [e for e in engines if e.reachable]
    for spec in chain:
        if spec.placement is None:
            continue
        if spec.placement.engine is not None:
            found = [e for e in found if e.name == spec.placement.engine]
        wanted = set(spec.placement.labels)
        found = [e for e in found if wanted <= set(e.labels)]
    if any(spec.gpu is not None for spec in chain):
        nvidia = [e for e in found if e.nvidia_runtime]
        found = nvidia or found
    return found


def place(
    chains: Sequence[Sequence[ImageSpec]],
    engines: Sequence[Capabilities],
    history: Mapping[str, float] | None = None,
) -> list[tuple[list[ImageSpec], Capabilities]]:
    """Each chain on one engine: longest expected first, onto the least loaded capable engine
    (load per CPU). Raises UsageError when a pinned image has no engine it may go to, and
    EngineUnavailable when those it may go to did not answer."""
    costs = history or {}
    load = {e.name: 0.0 for e in engines}
    placed = []
    ordered = sorted(chains, key=lambda c: -sum(expected_cost(s, costs) for s in c))
    for chain in ordered:
        candidates = capable(chain, engines)
        if not candidates:
            pinned = next(s for s in chain if s.placement is not None)
            assert pinned.placement is not None
            wanted = pinned.placement.engine or "labels " + ", ".join(pinned.placement.labels)
            could = {
                e.name for e in capable(chain, [e._replace(unreachable=None) for e in engines])
            }
            down = [e for e in engines if e.name in could and not e.reachable]
            if down:
                raise EngineUnavailable(
                    f"image {pinned.name}: placed by `placement:` ({wanted}) on engines that did "
                    f"not answer: {'; '.join(str(e.unreachable) for e in down)}",
                    "start that engine, or validate the other images with --image NAME",
                )
            raise UsageError(
                f"image {pinned.name}: no engine of this run matches its placement ({wanted}); "
                f"engines: {', '.join(e.name for e in engines) or 'none'}",
                "add the engine with --engine NAME_OR_URL or to `engines:`, or fix `placement:`",
            )
        best = min(candidates, key=lambda e: load[e.name] / max(1, e.cpus or 1))
        load[best.name] += sum(expected_cost(s, costs) for s in chain)
        placed.append((list(chain), best))
    return placed

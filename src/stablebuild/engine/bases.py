"""Base images made present on the engine an image is placed on: a local-only base (the
bootstrapped `stablebuild/airgap:bookworm`, a team's own base never pushed) that another engine
of the run has is copied there with save/load before the build.

Copied, not rebuilt: it is faster on this machine (docs/engines.md has the figures), and a
copy keeps the image id, so the build-inputs digest and the layer cache agree across engines.
CA trust images are built on the engine itself from the base: one COPY, about 2 s.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from stablebuild.engine.interface import EngineInterface
from stablebuild.errors import EngineError
from stablebuild.events import Event, Observer, ignore
from stablebuild.manifest.model import ImageSpec
from stablebuild.stages import images_read, parse


def needed_bases(dockerfile: Path, args: Mapping[str, str], target: str | None) -> list[str]:
    """The external images a build of `target` starts FROM or copies from (args substituted),
    in order (`stages.images_read`). A Dockerfile that cannot be read, or an image whose name
    cannot be told, gives none: the build reports those itself."""
    try:
        df = parse(dockerfile.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        return []
    return [ref for ref in images_read(df, args, target) if ref is not None]


class BaseTransfer:
    """Copies the bases an image needs onto its engine from another engine of the run, once
    per engine and base; what no engine has is left to the build (a pull, or its failure)."""

    def __init__(self, engines: Sequence[EngineInterface], observer: Observer = ignore) -> None:
        self.engines = list(engines)
        self.observer = observer
        self.copied: list[tuple[str, str, str, float]] = []  # (base, from, to, seconds)
        self._locks: dict[tuple[str, str], threading.Lock] = {}
        self._guard = threading.Lock()

    def _lock(self, engine: str, ref: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault((engine, ref), threading.Lock())

    def ensure(self, spec: ImageSpec, engine: EngineInterface, args: Mapping[str, str]) -> None:
        """Make every base of the image's build present on `engine`. EngineUnavailable when
        `engine` itself stops answering (the scheduler retries elsewhere); a source engine
        that fails only loses the copy."""
        for ref in needed_bases(spec.dockerfile, args, spec.target):
            with self._lock(engine.capabilities.name, ref):
                if engine.image_exists(ref):
                    continue
                source = self._holder(ref, engine)
                if source is None:
                    continue  # NOTE: on no engine: the build pulls it or fails naming it
                self._copy(spec.name, ref, source, engine)

    def _holder(self, ref: str, engine: EngineInterface) -> EngineInterface | None:
        for other in self.engines:
            if other is engine or not other.capabilities.reachable:
                continue
            try:
                if other.image_exists(ref):
                    return other
            except EngineError:
                continue  # a lost engine holds nothing
        return None

    def _copy(self, image: str, ref: str, source: EngineInterface, engine: EngineInterface) -> None:
        names = (source.capabilities.name, engine.capabilities.name)
        self.observer(Event(image, "base", f"copying {ref} from {names[0]} to {names[1]}"))
        started = time.monotonic()
        try:
            engine.load(source.save(ref))
        except EngineError as exc:
            # NOTE: which side failed is told apart below: a target that went away raises
            # there (and the image is retried); a failed source leaves the build to report it.
            self.observer(Event(image, "base", f"copying {ref} failed: {exc.message}"))
        if engine.image_exists(ref):
            seconds = time.monotonic() - started
            self.copied.append((ref, *names, seconds))
            self.observer(Event(image, "base", f"{ref} copied from {names[0]}"))

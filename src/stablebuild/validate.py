"""`stablebuild validate`: build every image of the stack, probe each once, judge, report.

The flow is the architecture's: build (parallel, labelled, timed) -> one locked-down probe
container per image -> image metadata -> optional runtime trial -> pure checks -> one Report.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

from stablebuild import preload, textfile
from stablebuild.answer import current_code
from stablebuild.buildargs import masked
from stablebuild.cache import (
    ValidationCache,
    changed_since_pass,
    digest,
    reusable_build,
    should_record_build,
    should_record_stack,
)
from stablebuild.checks.inputs import EngineFacts
from stablebuild.checks.stack import skip_reason
from stablebuild.engine.bases import BaseTransfer
from stablebuild.engine.build import BuildRequest
from stablebuild.engine.client import Engine
from stablebuild.engine.interface import EngineInterface
from stablebuild.errors import EngineError, EngineUnavailable
from stablebuild.events import Event, Observer, ignore
from stablebuild.facts import FactGatherer, Judging, warm
from stablebuild.manifest.model import ImageSpec, Manifest
from stablebuild.report.codec import check_from_data, check_to_data
from stablebuild.report.model import BuildOutcome, BuildStatus, ImageReport, Report
from stablebuild.runid import new_run_id, now
from stablebuild.schedule import Scheduler, build_chains, capable, place
from stablebuild.stackinputs import StackInputs, stack_inputs


class ValidateOptions(NamedTuple):
    jobs: int = 2
    images: tuple[str, ...] = ()  # only these (all when empty)
    require_gpu: bool = False
    keep_images: bool = False  # leave the run's tags in place
    nocache: bool = False
    build_timeout: float = 1800.0
    probe_timeout: float = 300.0
    extra_args: Mapping[str, str] = {}  # --build-arg
    ca_bundle: Path | None = None  # overrides the manifest's ca_bundle
    use_cache: bool = True  # reuse known builds and judged results
    cache_dir: Path | None = None  # default: the user's cache dir
    changed_only: bool = False  # only images whose inputs changed since their last pass
    stack: bool = True  # the manifest's stack phase, after the images pass (--no-stack: False)
    expected_seconds: Mapping[str, float] = {}  # from history, by image


def manifest_pins(manifest: Manifest) -> dict[str, str]:
    """Exact pins from the manifest's requirements files (following -r/-c includes)."""
    if not manifest.requirements:
        return {}
    # NOTE: here: the requirements parser (and packaging) only for a stack that names files
    from stablebuild.audit.requirements import RequirementsReader, pins_of

    def read(rel: str) -> str | None:
        # Bounded, and never outside the stack: `-r /etc/passwd` or a FIFO must not be read.
        text = textfile.read_text(manifest.root / rel, root=manifest.root)
        return None if isinstance(text, textfile.Unreadable) else text

    reader = RequirementsReader(read)
    files = []
    for path in manifest.requirements:
        rel = path.resolve().relative_to(manifest.root.resolve()).as_posix()
        closure, _ = reader.closure(rel)
        files.extend(closure)
    return pins_of(files)


def image_tag(manifest: Manifest, image: str, run_id: str) -> str:
    stack = "".join(c if c.isalnum() or c in "-_." else "-" for c in manifest.name.lower())
    return f"stablebuild/{stack}-{image}:{run_id}"


def as_interface(engine: EngineInterface | Engine) -> EngineInterface:
    """The seam over a connection (what `connect()` returns), or the engine itself."""
    if isinstance(engine, EngineInterface):
        return engine
    from stablebuild.engine.apiengine import ApiEngine

    return ApiEngine(engine)


class Validation:
    """One validation run. `report` is filled in as images finish, so an interrupt keeps it."""

    def __init__(
        self,
        engine: EngineInterface | Engine | Sequence[EngineInterface],
        manifest: Manifest,
        options: ValidateOptions,
        observer: Observer = ignore,
    ) -> None:
        engines = list(engine) if isinstance(engine, Sequence) else [as_interface(engine)]
        # NOTE: the first engine also runs the stack phase and answers `--changed`.
        self.engines = engines
        self.engine = engine = engines[0]
        self.manifest = manifest
        self.options = options
        self.observer = observer
        self.run_id = new_run_id()
        self.pins = manifest_pins(manifest)
        self.ca_bundle = options.ca_bundle or manifest.ca_bundle
        judging = Judging(
            python=manifest.python,
            python_match=manifest.python_match,
            pins=self.pins,
            require_gpu=options.require_gpu,
            probe_timeout=options.probe_timeout,
            extra_args=options.extra_args,
        )
        self.gatherers = {
            e.capabilities.name: FactGatherer(e, self.run_id, judging, observer) for e in engines
        }
        self.facts = self.gatherers[engine.capabilities.name]
        self.engine_facts = self.facts.facts
        self.lost: set[str] = set()  # engines that stopped answering during the run
        self.bases = BaseTransfer(engines, observer) if len(engines) > 1 else None
        self.report = Report(
            stack=manifest.name,
            run_id=self.run_id,
            started_at=now(),
            complete=False,
            profile=manifest.profile,
            manifest=str(manifest.path),
            engine=engine.capabilities.to_json(),
        )
        if len(engines) > 1:
            self.report.engine["engines"] = [e.capabilities.to_json() for e in engines]
        self._lock = threading.Lock()
        self.cache = ValidationCache(options.cache_dir) if options.use_cache else None
        self._digests: dict[tuple[str, str], str | None] = {}
        self.stack_inputs: StackInputs | None = None  # what the stack phase ran, once known

    def selected(self) -> list[ImageSpec]:
        wanted = self.options.images
        specs = [s for n, s in self.manifest.images.items() if not wanted or n in wanted]
        if self.options.changed_only:
            specs = [s for s in specs if self.changed(s)]
        return specs

    def run(self) -> Report:
        # NOTE: --jobs is per engine: each engine builds that many chains at once.
        scheduler = Scheduler(self.options.jobs * len(self.engines))
        warm()  # NOTE: the checks load while the first builds keep the engine busy
        try:
            placed = place(
                build_chains(self.selected()),
                [e.capabilities for e in self.engines],
                self.options.expected_seconds,
            )
            scheduler.each(placed, lambda item: self._chain(item[0], item[1].name))
            self._stack_phase()
            self.report.complete = True
        finally:
            scheduler.close(finished=self.report.complete)
            self.report.finished_at = now()
            self.cleanup()
        order = {name: i for i, name in enumerate(self.manifest.images)}
        self.report.images.sort(key=lambda r: order.get(r.name, 0))
        return self.report

    def _stack_phase(self) -> None:
        """The manifest's stack phase, or the passing verdict of a run that ran the same."""
        self.stack_inputs = self._stack_inputs()
        inputs = self.stack_inputs.digest if self.stack_inputs is not None else None
        cached = self.cache.stack(inputs) if self.cache is not None and inputs else None
        if cached is not None:
            self.report.stack_phase = cached
            self.observer(Event("stack", "checks-done", f"{len(cached.checks)} checks (cached)"))
            return
        self.engine.run_stack(
            self.manifest,
            self.report,
            enabled=self.options.stack,
            extra_args=self.options.extra_args,
            build_timeout=self.options.build_timeout,
            observer=self.observer,
        )
        if self.cache is not None and inputs and should_record_stack(self.report.stack_phase):
            assert self.report.stack_phase is not None
            self.cache.put_stack(inputs, self.report.stack_phase)

    def _stack_inputs(self) -> StackInputs | None:
        """What the stack phase would run, as a digest; None when it would not run (or
        cannot be known: then it runs)."""
        spec = self.manifest.stack
        if self.cache is None or spec is None or self.options.nocache:
            return None
        if skip_reason(spec, self.report.images, self.options.stack) is not None:
            return None
        engine = self.engine

        def image_id(ref: str) -> str | None:
            try:
                return engine.inspect(ref).image_id
            except EngineError:
                return None

        def build_digest(
            context: Path, dockerfile: Path, args: Mapping[str, str], target: str | None
        ) -> str | None:
            try:
                return engine.inputs_digest(
                    context=context,
                    dockerfile=dockerfile,
                    args=args,
                    target=target,
                    ca_bundle=self.ca_bundle,
                )
            except EngineError:
                return None

        return stack_inputs(
            self.manifest,
            {i.name: i.build.image_id for i in self.report.images if i.build.image_id},
            image_id,
            build_digest,
            extra_args=self.options.extra_args,
            endpoint=engine.capabilities.endpoint,
        )

    def _chain(self, chain: list[ImageSpec], engine_name: str) -> None:
        """The chain's images on one engine; if it is lost, the rest once on another."""
        by_name = {e.capabilities.name: e for e in self.engines}
        engine, retried_from = by_name[engine_name], None
        remaining = list(chain)
        while remaining:
            try:
                image_report = self._one(remaining[0], engine)
            except EngineUnavailable:
                with self._lock:
                    self.lost.add(engine.capabilities.name)
                    left = [e for e in self.engines if e.capabilities.name not in self.lost]
                others = capable(remaining, [e.capabilities for e in left])
                if retried_from is not None or not others:
                    raise
                retried_from = engine.capabilities.name
                self.observer(
                    Event(
                        remaining[0].name,
                        "retry",
                        f"engine {retried_from} lost: on {others[0].name}",
                    )
                )
                engine = by_name[others[0].name]
                continue
            image_report.engine = engine.capabilities.name
            if retried_from is not None:
                image_report.engine += f" (retried: engine {retried_from} stopped answering)"
            with self._lock:
                self.report.images.append(image_report)
            remaining.pop(0)

    def cleanup(self) -> None:
        # NOTE: an engine that went away takes its containers with it; nothing to add then.
        for engine in self.engines:
            with contextlib.suppress(EngineError):
                engine.remove_containers(self.run_id)

    # --- one image ----------------------------------------------------------------------------

    def _one(self, spec: ImageSpec, engine: EngineInterface | None = None) -> ImageReport:
        engine = engine or self.engine
        gatherer = self.gatherers[engine.capabilities.name]
        if self.bases is not None:  # a local-only base another engine has: copied over first
            self.bases.ensure(spec, engine, self._args(spec))
        inputs = self._inputs(spec, engine)
        outcome = self._cached_build(spec, inputs, engine) or self._build(spec, inputs, engine)
        if outcome.status not in (BuildStatus.BUILT, BuildStatus.CACHED) or not outcome.image_id:
            from stablebuild.diagnose import diagnose_build_log  # NOTE: a failed build only

            outcome.diagnosis = diagnose_build_log(outcome.log)
            return ImageReport(spec.name, outcome)
        if self.options.keep_images:
            self._keep(spec, outcome, engine)
        key = self._results_key(spec, outcome.image_id, gatherer.facts)
        cached = self.cache.results(key) if self.cache else None
        if cached is not None:
            outcome.size_bytes, outcome.layers = cached.get("size_bytes"), cached.get("layers")
            checks = [check_from_data(c) for c in cached.get("checks", [])]
            self.observer(Event(spec.name, "checks-done", f"{len(checks)} checks (cached)"))
            report = ImageReport(spec.name, outcome, checks, cached.get("facts"), from_cache=True)
        else:
            report = gatherer.check(spec, outcome)
            if self.cache:
                self.cache.put_results(
                    key,
                    {
                        "size_bytes": outcome.size_bytes,
                        "layers": outcome.layers,
                        "checks": [check_to_data(c) for c in report.checks],
                        "facts": report.facts,
                    },
                )
        if self.cache and inputs and report.ok:
            self.cache.mark_passed(self.manifest.name, spec.name, inputs)
        return report

    def _args(self, spec: ImageSpec) -> dict[str, str]:
        return {**spec.args, **self.options.extra_args}

    def _inputs(self, spec: ImageSpec, engine: EngineInterface | None = None) -> str | None:
        """The build-inputs digest, hashed once per image, engine and run (`--changed` asks
        first). Per engine: the base images' ids are those the engine has."""
        engine = engine or self.engine
        if self.cache is None:
            return None
        key = (engine.capabilities.name, spec.name)
        if key not in self._digests:
            self._digests[key] = engine.inputs_digest(
                context=spec.context,
                dockerfile=spec.dockerfile,
                args=self._args(spec),
                target=spec.target,
                ca_bundle=self.ca_bundle,
            )
        return self._digests[key]

    def _build_key(self, inputs: str | None, engine: EngineInterface) -> str | None:
        # NOTE: with several engines an image id is only good on the engine that built it.
        if inputs is None or len(self.engines) == 1:
            return inputs
        return digest(inputs, engine.capabilities.endpoint)

    def changed(self, spec: ImageSpec) -> bool:
        """Whether the image's build inputs differ from those of its last passing run."""
        return changed_since_pass(self.cache, self.manifest.name, spec.name, self._inputs(spec))

    def _cached_build(
        self, spec: ImageSpec, inputs: str | None, engine: EngineInterface
    ) -> BuildOutcome | None:
        """The image these inputs built before, when it still exists."""
        entry = reusable_build(self.cache, self._build_key(inputs, engine), engine.image_exists)
        if entry is None:
            return None
        self.observer(Event(spec.name, "build-done", "cached"))
        return BuildOutcome(
            BuildStatus.CACHED,
            seconds=float(entry.get("seconds", 0.0)),
            image_id=str(entry["image_id"]),
            log=[f"build inputs unchanged: reused {entry['image_id'][:19]}"],
        )

    def _keep(self, spec: ImageSpec, outcome: BuildOutcome, engine: EngineInterface) -> None:
        repository, tag = image_tag(self.manifest, spec.name, self.run_id).split(":")
        assert outcome.image_id is not None
        engine.tag(outcome.image_id, repository, tag)
        outcome.tag = f"{repository}:{tag}"

    def _build(self, spec: ImageSpec, inputs: str | None, engine: EngineInterface) -> BuildOutcome:
        request = BuildRequest(
            image=spec.name,
            context=spec.context,
            dockerfile=spec.dockerfile,
            tag=None,
            label=(inputs or self.run_id)[:16],
            args=self._args(spec),
            target=spec.target,
            timeout=self.options.build_timeout,
            nocache=self.options.nocache,
            labels={
                "org.stablebuild.stack": self.manifest.name,
                "org.stablebuild.image": spec.name,
            },
            secret_args=spec.secret_args,
        )
        outcome = engine.build(request, self._building, self.ca_bundle)
        built = outcome.status is BuildStatus.BUILT and outcome.image_id is not None
        key = self._build_key(inputs, engine)
        if self.cache and key and should_record_build(self.cache, key, built):
            self.cache.put_build(key, {"image_id": outcome.image_id, "seconds": outcome.seconds})
        return outcome

    def _building(self, event: Event) -> None:
        if event.kind == "build-context":  # NOTE: the engine takes the context: the run waits
            preload.engine_busy()
        self.observer(event)

    def _results_key(self, spec: ImageSpec, image_id: str, facts: EngineFacts) -> str:
        from stablebuild.probe import PROBE_VERSION  # NOTE: loaded during the build (`warm`)

        # NOTE: where the checkout lies does not change a judgment: paths count relative.
        root = self.manifest.root
        where = spec._replace(
            dockerfile=Path(os.path.relpath(spec.dockerfile, root)),
            context=Path(os.path.relpath(spec.context, root)),
            args=masked(spec.args, spec.secret_args),  # the image id already holds their effect
        )
        return digest(
            image_id,
            PROBE_VERSION,
            current_code(),
            where,
            self.manifest.python,
            self.manifest.python_match,
            self.pins,
            facts,
            self.options.require_gpu,
        )


def validate(
    engine: EngineInterface | Engine | Sequence[EngineInterface],
    manifest: Manifest,
    options: ValidateOptions,
    observer: Observer = ignore,
    on_start: Callable[[Validation], None] | None = None,
) -> Report:
    """Validate the stack; on an interrupt the partial report stays on `Validation.report`."""
    validation = Validation(engine, manifest, options, observer)
    if on_start is not None:
        on_start(validation)
    return validation.run()


__all__ = [
    "ValidateOptions",
    "Validation",
    "as_interface",
    "build_chains",
    "image_tag",
    "manifest_pins",
    "validate",
]

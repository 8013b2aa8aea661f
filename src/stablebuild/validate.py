"""`stablebuild validate`: build every image of the stack, probe each once, judge, report.

The flow is the architecture's: build (parallel, labelled, timed) -> one locked-down probe
container per image -> image metadata -> optional runtime trial -> pure checks -> one Report.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import docker.errors
import requests.exceptions

from stablebuild import __version__, textfile
from stablebuild.audit.requirements import RequirementsReader, pins_of
from stablebuild.buildargs import masked, redactor_for
from stablebuild.cache import ValidationCache, check_from_json, check_to_json, digest
from stablebuild.checks import judge
from stablebuild.checks.inputs import EngineFacts, ImageMeta, InterpreterFacts, RunOutcome
from stablebuild.checks.interpreter import probe_result
from stablebuild.diagnose import diagnose_build_log
from stablebuild.engine import Engine
from stablebuild.engine.archive import interpreter_facts
from stablebuild.engine.build import BuildRequest, build
from stablebuild.engine.cleanup import remove_containers
from stablebuild.engine.containers import image_meta, run_locked, trial_run
from stablebuild.engine.inputs import build_inputs_digest
from stablebuild.engine.trust import plan_trust
from stablebuild.errors import EngineError, EngineUnavailable
from stablebuild.events import Event, Observer, ignore
from stablebuild.manifest.model import ImageSpec, Manifest
from stablebuild.probe import (
    PROBE_VERSION,
    parse_output,
    probe_source,
    request_for,
    request_json,
)
from stablebuild.report.model import (
    BuildOutcome,
    BuildStatus,
    CheckResult,
    ImageReport,
    Report,
    redact_image,
)
from stablebuild.stack import run_stack


@dataclass(frozen=True)
class ValidateOptions:
    jobs: int = 2
    images: tuple[str, ...] = ()  # only these (all when empty)
    require_gpu: bool = False
    keep_images: bool = False  # leave the run's tags in place
    nocache: bool = False
    build_timeout: float = 1800.0
    probe_timeout: float = 300.0
    extra_args: Mapping[str, str] = field(default_factory=dict)  # --build-arg
    ca_bundle: Path | None = None  # overrides the manifest's ca_bundle
    use_cache: bool = True  # reuse known builds and judged results
    cache_dir: Path | None = None  # default: the user's cache dir
    changed_only: bool = False  # only images whose inputs changed since their last pass
    stack: bool = True  # the manifest's stack phase, after the images pass (--no-stack: False)


def new_run_id() -> str:
    """Time-ordered and unique; STABLEBUILD_RUN_PREFIX lets a CI job find its own leftovers."""
    prefix = os.environ.get("STABLEBUILD_RUN_PREFIX", "")
    return prefix + datetime.now(timezone.utc).strftime("%Y%m%d%H%M%S") + "-" + secrets.token_hex(3)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def manifest_pins(manifest: Manifest) -> dict[str, str]:
    """Exact pins from the manifest's requirements files (following -r/-c includes)."""

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


class Validation:
    """One validation run. `report` is filled in as images finish, so an interrupt keeps it."""

    def __init__(
        self,
        engine: Engine,
        manifest: Manifest,
        options: ValidateOptions,
        observer: Observer = ignore,
    ) -> None:
        self.engine = engine
        self.manifest = manifest
        self.options = options
        self.observer = observer
        self.run_id = new_run_id()
        self.pins = manifest_pins(manifest)
        self.ca_bundle = options.ca_bundle or manifest.ca_bundle
        self.engine_facts = EngineFacts(
            nvidia_runtime=engine.has_nvidia_runtime, gpu_requested=engine.has_nvidia_runtime
        )
        self.report = Report(
            stack=manifest.name,
            run_id=self.run_id,
            started_at=_now(),
            complete=False,
            profile=manifest.profile,
            manifest=str(manifest.path),
            engine={
                "server_version": engine.info.get("ServerVersion"),
                "api_version": engine.api_version,
                "runtimes": engine.runtimes,
                "nvidia_runtime": engine.has_nvidia_runtime,
            },
        )
        self._lock = threading.Lock()
        self.cache = ValidationCache(options.cache_dir) if options.use_cache else None
        self._digests: dict[str, str | None] = {}

    def selected(self) -> list[ImageSpec]:
        wanted = self.options.images
        specs = [s for n, s in self.manifest.images.items() if not wanted or n in wanted]
        if self.options.changed_only:
            specs = [s for s in specs if self.changed(s)]
        return specs

    def run(self) -> Report:
        pool = ThreadPoolExecutor(max_workers=max(1, self.options.jobs))
        try:
            futures: list[Future[None]] = [
                pool.submit(self._chain, chain) for chain in build_chains(self.selected())
            ]
            for future in futures:
                try:
                    future.result()
                except requests.exceptions.ConnectionError as exc:
                    raise EngineUnavailable(
                        f"the engine stopped answering during the run: {exc}",
                        "check that dockerd is still running (`docker info`), then run again",
                    ) from None
            run_stack(
                self.engine,
                self.manifest,
                self.report,
                enabled=self.options.stack,
                extra_args=self.options.extra_args,
                build_timeout=self.options.build_timeout,
                observer=self.observer,
            )
            self.report.complete = True
        finally:
            # NOTE: on an interrupt, queued images are dropped and running ones lose their
            # containers to the cleanup below; the report keeps what finished.
            pool.shutdown(wait=self.report.complete, cancel_futures=True)
            self.report.finished_at = _now()
            self.cleanup()
        order = {name: i for i, name in enumerate(self.manifest.images)}
        self.report.images.sort(key=lambda r: order.get(r.name, 0))
        return self.report

    def _chain(self, specs: list[ImageSpec]) -> None:
        for spec in specs:
            image_report = self._one(spec)
            with self._lock:
                self.report.images.append(image_report)

    def cleanup(self) -> None:
        # NOTE: an engine that went away takes its containers with it; nothing to add then.
        with contextlib.suppress(
            docker.errors.DockerException, requests.exceptions.RequestException
        ):
            remove_containers(self.engine, self.run_id)

    # --- one image ----------------------------------------------------------------------------

    def _one(self, spec: ImageSpec) -> ImageReport:
        inputs = self._inputs(spec)
        outcome = self._cached_build(spec, inputs) or self._build(spec, inputs)
        if outcome.status not in (BuildStatus.BUILT, BuildStatus.CACHED) or not outcome.image_id:
            outcome.diagnosis = diagnose_build_log(outcome.log)
            return ImageReport(spec.name, outcome)
        if self.options.keep_images:
            self._keep(spec, outcome)
        key = self._results_key(spec, outcome.image_id)
        cached = self.cache.results(key) if self.cache else None
        if cached is not None:
            outcome.size_bytes, outcome.layers = cached.get("size_bytes"), cached.get("layers")
            checks = [check_from_json(c) for c in cached.get("checks", [])]
            self.observer(Event(spec.name, "checks-done", f"{len(checks)} checks (cached)"))
            report = ImageReport(spec.name, outcome, checks, cached.get("facts"), from_cache=True)
        else:
            report = self._check(spec, outcome)
            if self.cache:
                self.cache.put_results(
                    key,
                    {
                        "size_bytes": outcome.size_bytes,
                        "layers": outcome.layers,
                        "checks": [check_to_json(c) for c in report.checks],
                        "facts": report.facts,
                    },
                )
        if self.cache and inputs and report.ok:
            self.cache.mark_passed(self.manifest.name, spec.name, inputs)
        return report

    def _check(self, spec: ImageSpec, outcome: BuildOutcome) -> ImageReport:
        assert outcome.image_id is not None
        meta = image_meta(self.engine, outcome.image_id, outcome.seconds)
        outcome.size_bytes, outcome.layers = meta.size_bytes, meta.layers
        facts, probe_error, could_not_exec = self._probe(spec, outcome.image_id)
        found = self._interpreter(spec, outcome.image_id, meta) if could_not_exec else None
        run = self._trial(spec, outcome.image_id) if spec.run is not None else None
        checks = self._judge(spec, facts, meta, run, found)
        if probe_error:
            checks.insert(0, probe_result(probe_error, checks))
        self.observer(Event(spec.name, "checks-done", f"{len(checks)} checks"))
        if found is not None:
            facts = {"interpreter": found.to_json()}
        redactor = redactor_for(self._args(spec), spec.secret_args)
        return redact_image(ImageReport(spec.name, outcome, checks, facts=facts), redactor)

    def _args(self, spec: ImageSpec) -> dict[str, str]:
        return {**spec.args, **self.options.extra_args}

    def _inputs(self, spec: ImageSpec) -> str | None:
        """The build-inputs digest, hashed once per image and run (`--changed` asks first)."""
        if self.cache is None:
            return None
        if spec.name not in self._digests:
            self._digests[spec.name] = build_inputs_digest(
                self.engine,
                context=spec.context,
                dockerfile=spec.dockerfile,
                args=self._args(spec),
                target=spec.target,
                ca_bundle=self.ca_bundle,
            )
        return self._digests[spec.name]

    def changed(self, spec: ImageSpec) -> bool:
        """Whether the image's build inputs differ from those of its last passing run."""
        inputs = self._inputs(spec)
        if inputs is None or self.cache is None:
            return True
        return self.cache.last_passed(self.manifest.name, spec.name) != inputs

    def _cached_build(self, spec: ImageSpec, inputs: str | None) -> BuildOutcome | None:
        """The image these inputs built before, when it still exists."""
        entry = self.cache.build(inputs) if self.cache and inputs else None
        if entry is None:
            return None
        try:
            self.engine.api.inspect_image(entry["image_id"])
        except docker.errors.ImageNotFound:
            return None
        self.observer(Event(spec.name, "build-done", "cached"))
        return BuildOutcome(
            BuildStatus.CACHED,
            seconds=float(entry.get("seconds", 0.0)),
            image_id=str(entry["image_id"]),
            log=[f"build inputs unchanged: reused {entry['image_id'][:19]}"],
        )

    def _keep(self, spec: ImageSpec, outcome: BuildOutcome) -> None:
        repository, tag = image_tag(self.manifest, spec.name, self.run_id).split(":")
        self.engine.api.tag(outcome.image_id, repository, tag)
        outcome.tag = f"{repository}:{tag}"

    def _build(self, spec: ImageSpec, inputs: str | None) -> BuildOutcome:
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
        outcome = self._build_with_trust(spec, request)
        if self.cache and inputs and outcome.status is BuildStatus.BUILT and outcome.image_id:
            self.cache.put_build(inputs, {"image_id": outcome.image_id, "seconds": outcome.seconds})
        return outcome

    def _build_with_trust(self, spec: ImageSpec, request: BuildRequest) -> BuildOutcome:
        if self.ca_bundle is None:
            return build(self.engine, request, self.observer)
        try:
            plan = plan_trust(
                self.engine,
                spec.dockerfile,
                spec.target,
                dict(request.args),
                self.ca_bundle,
                request.redactor,
            )
        except EngineError as exc:
            return BuildOutcome(BuildStatus.FAILED, error=exc.message, log=[exc.message])
        try:
            if plan.dockerfile is not None:
                request = replace(request, dockerfile=plan.dockerfile)
            outcome = build(self.engine, request, self.observer)
            outcome.log.insert(0, plan.note)
            return outcome
        finally:
            plan.close()

    def _results_key(self, spec: ImageSpec, image_id: str) -> str:
        # NOTE: where the checkout lies does not change a judgment: paths count relative.
        root = self.manifest.root
        where = replace(
            spec,
            dockerfile=Path(os.path.relpath(spec.dockerfile, root)),
            context=Path(os.path.relpath(spec.context, root)),
            args=masked(spec.args, spec.secret_args),  # the image id already holds their effect
        )
        return digest(
            image_id,
            PROBE_VERSION,
            __version__,
            where,
            self.manifest.python,
            self.manifest.python_match,
            self.pins,
            self.engine_facts,
            self.options.require_gpu,
        )

    def _probe(
        self, spec: ImageSpec, image_id: str
    ) -> tuple[dict[str, Any] | None, str | None, bool]:
        """Run the probe under the image's interpreter; fall back to python3 if it cannot exec.

        Facts, or why there are none and whether no interpreter could even be started."""
        self.observer(Event(spec.name, "probe-start"))
        request = request_json(request_for(spec, self.engine_facts))
        gpu = spec.gpu is not None and self.engine_facts.gpu_requested
        last_error = None
        for interpreter in dict.fromkeys([spec.interpreter, "python3"]):
            result = run_locked(
                self.engine,
                image_id,
                [interpreter, "-c", probe_source(), request],
                run_id=self.run_id,
                timeout=self.options.probe_timeout,
                gpu=gpu,
            )
            facts = parse_output(result.stdout)
            if facts is not None:
                self.observer(Event(spec.name, "probe-done"))
                return facts, None, False
            if result.timed_out:
                return None, f"probe did not finish within {self.options.probe_timeout:g} s", False
            last_error = result.start_error or (
                f"{interpreter} exited {result.exit_code}: "
                + (result.stderr.strip().splitlines() or ["no output"])[-1]
            )
            if not result.could_not_exec:
                break
        return None, f"the probe could not run in the image: {last_error}", result.could_not_exec

    def _interpreter(self, spec: ImageSpec, image_id: str, meta: ImageMeta) -> InterpreterFacts:
        """The interpreter as the image's files show it: nothing runs, there may be no Python."""
        return interpreter_facts(
            self.engine,
            image_id,
            spec.interpreter,
            run_id=self.run_id,
            search_path=meta.env.get("PATH"),
        )

    def _trial(self, spec: ImageSpec, image_id: str) -> RunOutcome:
        assert spec.run is not None
        self.observer(Event(spec.name, "run-start"))
        return trial_run(
            self.engine,
            image_id,
            run_id=self.run_id,
            env=spec.run.env,
            port=spec.run.port,
            health_path=spec.run.health,
            start_seconds=spec.run.start_seconds,
            command=spec.run.command,
        )

    def _judge(
        self,
        spec: ImageSpec,
        facts: dict[str, Any] | None,
        meta: ImageMeta,
        run: RunOutcome | None,
        interpreter: InterpreterFacts | None = None,
    ) -> list[CheckResult]:
        return judge(
            spec,
            facts,
            meta,
            python=self.manifest.python,
            python_match=self.manifest.python_match,
            pins=self.pins,
            engine=self.engine_facts,
            require_gpu=self.options.require_gpu,
            run=run,
            interpreter=interpreter,
        )


def validate(
    engine: Engine,
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


__all__ = ["ValidateOptions", "Validation", "image_tag", "manifest_pins", "validate"]

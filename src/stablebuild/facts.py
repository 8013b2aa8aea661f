"""Gathering one built image's facts on an engine and judging them: metadata, the probe (with
its python3 fallback), the interpreter as the image's files show it, the trial run, the checks.

Everything goes through the engine seam, so it runs the same against the fake engine.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any, NamedTuple

from stablebuild import preload
from stablebuild.buildargs import redactor_for
from stablebuild.checks.inputs import EngineFacts, ImageMeta, InterpreterFacts, RunOutcome
from stablebuild.checks.interpreter import probe_result
from stablebuild.engine.interface import EngineInterface
from stablebuild.events import Event, Observer, ignore
from stablebuild.manifest.model import ImageSpec
from stablebuild.report.model import BuildOutcome, CheckResult, ImageReport, redact_image


class Judging(NamedTuple):
    """What the checks compare the facts with: the same for every image of a run."""

    python: str | None
    python_match: str
    pins: Mapping[str, str]
    require_gpu: bool
    probe_timeout: float
    extra_args: Mapping[str, str] = {}


def warm() -> threading.Thread:
    """Load the checks in the background once the first build keeps the engine busy, which
    lasts longer than they take to load (they are not needed before: `preload`)."""
    modules = ("stablebuild.checks.judging", "stablebuild.engine.containers", "stablebuild.probe")
    return preload.when_engine_busy(modules, "stablebuild-warm-checks")


def engine_facts(engine: EngineInterface) -> EngineFacts:
    nvidia = engine.capabilities.nvidia_runtime
    return EngineFacts(nvidia_runtime=nvidia, gpu_requested=nvidia)


class FactGatherer:
    """Checks built images on one engine for one run."""

    def __init__(
        self, engine: EngineInterface, run_id: str, judging: Judging, observer: Observer = ignore
    ) -> None:
        self.engine = engine
        self.run_id = run_id
        self.judging = judging
        self.observer = observer
        self.facts = engine_facts(engine)

    def check(self, spec: ImageSpec, outcome: BuildOutcome) -> ImageReport:
        assert outcome.image_id is not None
        meta = self.engine.inspect(outcome.image_id, outcome.seconds)
        outcome.size_bytes, outcome.layers = meta.size_bytes, meta.layers
        facts, probe_error, could_not_exec = self.probe(spec, outcome.image_id)
        found = self.interpreter(spec, outcome.image_id, meta) if could_not_exec else None
        run = self.trial(spec, outcome.image_id) if spec.run is not None else None
        checks = self.judge(spec, facts, meta, run, found)
        if probe_error:
            checks.insert(0, probe_result(probe_error, checks))
        self.observer(Event(spec.name, "checks-done", f"{len(checks)} checks"))
        if found is not None:
            facts = {"interpreter": found.to_json()}
        redactor = redactor_for({**spec.args, **self.judging.extra_args}, spec.secret_args)
        return redact_image(ImageReport(spec.name, outcome, checks, facts=facts), redactor)

    def probe(
        self, spec: ImageSpec, image_id: str
    ) -> tuple[dict[str, Any] | None, str | None, bool]:
        """Run the probe under the image's interpreter; fall back to python3 if it cannot exec.

        Facts, or why there are none and whether no interpreter could even be started."""
        from stablebuild.probe import parse_output, probe_source, request_for, request_json

        self.observer(Event(spec.name, "probe-start"))
        preload.engine_busy()
        request = request_json(request_for(spec, self.facts))
        gpu = spec.gpu is not None and self.facts.gpu_requested
        timeout = self.judging.probe_timeout
        last_error = None
        could_not_exec = False
        for interpreter in dict.fromkeys([spec.interpreter, "python3"]):
            result = self.engine.run_probe(
                image_id,
                [interpreter, "-c", probe_source(), request],
                run_id=self.run_id,
                timeout=timeout,
                gpu=gpu,
            )
            facts = parse_output(result.stdout)
            if facts is not None:
                self.observer(Event(spec.name, "probe-done"))
                return facts, None, False
            if result.timed_out:
                return None, f"probe did not finish within {timeout:g} s", False
            last_error = result.start_error or (
                f"{interpreter} exited {result.exit_code}: "
                + (result.stderr.strip().splitlines() or ["no output"])[-1]
            )
            could_not_exec = result.could_not_exec
            if not could_not_exec:
                break
        return None, f"the probe could not run in the image: {last_error}", could_not_exec

    def interpreter(self, spec: ImageSpec, image_id: str, meta: ImageMeta) -> InterpreterFacts:
        """The interpreter as the image's files show it: nothing runs, there may be no Python."""
        return self.engine.interpreter(
            image_id, spec.interpreter, run_id=self.run_id, search_path=meta.env.get("PATH")
        )

    def trial(self, spec: ImageSpec, image_id: str) -> RunOutcome:
        assert spec.run is not None
        self.observer(Event(spec.name, "run-start"))
        return self.engine.trial_run(
            image_id,
            run_id=self.run_id,
            env=spec.run.env,
            port=spec.run.port,
            health_path=spec.run.health,
            start_seconds=spec.run.start_seconds,
            command=spec.run.command,
        )

    def judge(
        self,
        spec: ImageSpec,
        facts: dict[str, Any] | None,
        meta: ImageMeta,
        run: RunOutcome | None,
        interpreter: InterpreterFacts | None = None,
    ) -> list[CheckResult]:
        from stablebuild.checks.judging import judge  # NOTE: loaded during the build (`warm`)

        return judge(
            spec,
            facts,
            meta,
            python=self.judging.python,
            python_match=self.judging.python_match,
            pins=self.judging.pins,
            engine=self.facts,
            require_gpu=self.judging.require_gpu,
            run=run,
            interpreter=interpreter,
        )

"""The stack phase of `validate`: compose runs the images just validated together, the run waits
for their health, sends the smoke steps, and always tears the project down.

The images run by id through a compose file generated for the run (`engine.composefile`), on a
project name of the run's own; nothing is rebuilt. Every outcome is a `stack.*` check on
`Report.stack_phase`: `stack.up`, `stack.healthy.<service>`, `stack.smoke.<n>`, `stack.down`. On any
failure each service's last log lines join the first failed check. Containers, networks and
volumes of the project go away on success, failure, timeout and Ctrl-C alike; a second Ctrl-C
during the teardown waits for it to finish.
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

from stablebuild.buildargs import Redactor, redactor_for
from stablebuild.checks.results import error, failed, passed, skipped
from stablebuild.checks.stack import (
    FAMILY,
    Health,
    HealthState,
    health_problem,
    health_state,
    plural,
    skip_reason,
)
from stablebuild.engine.api import FAILURES as ENGINE_FAILURES
from stablebuild.engine.api import EngineLost
from stablebuild.engine.cleanup import remove_tag
from stablebuild.engine.client import LABEL_RUN, STILL_RUNNING_HINT, Engine
from stablebuild.engine.compose import (
    Compose,
    ComposeError,
    ServiceState,
    container_logs,
    find_compose,
    remove_leftovers,
    service_states,
)
from stablebuild.engine.composefile import (
    LOOPBACK,
    cpu_limits,
    ports_of,
    project_name,
    run_file,
    unrunnable,
)
from stablebuild.engine.http import send
from stablebuild.errors import EngineUnavailable
from stablebuild.events import Event, Observer, ignore
from stablebuild.manifest.model import ExecStep, HttpStep, Manifest, StackSpec
from stablebuild.report.model import CheckResult, CheckStatus, Report, StackReport
from stablebuild.smoke import Sender, block, describe, run_exec, run_http, tail

UP_GRACE = 60.0  # creating networks, volumes and containers, on top of the health wait
CONFIG_TIMEOUT = 60.0
DOWN_TIMEOUT = 120.0
LOG_LINES = 20  # per service, joined to the first failed check


def run_stack(
    engine: Engine,
    manifest: Manifest,
    report: Report,
    *,
    enabled: bool = True,
    extra_args: Mapping[str, str] | None = None,
    build_timeout: float = 1800.0,
    observer: Observer = ignore,
) -> StackReport | None:
    """The stack phase for `report`'s images. Its results go on `report.stack_phase` as they
    come, so an interrupted phase still shows what it did. None when the manifest has none."""
    spec = manifest.stack
    if spec is None:
        return None
    stack_report = StackReport()
    report.stack_phase = stack_report
    reason = skip_reason(spec, report.images, enabled)
    if reason is not None:
        stack_report.checks.append(skipped("stack.up", FAMILY, reason))
        return stack_report
    try:
        StackRun(engine, manifest, spec, report, extra_args or {}, build_timeout, observer).run()
    except EngineLost as exc:
        raise EngineUnavailable(
            f"the engine stopped answering during the stack phase: {exc}",
            STILL_RUNNING_HINT,
        ) from None
    return stack_report


class StackRun:
    """One stack phase: up, wait, smoke, down. Checks are appended to `report.stack_phase`."""

    def __init__(
        self,
        engine: Engine,
        manifest: Manifest,
        spec: StackSpec,
        report: Report,
        extra_args: Mapping[str, str],
        build_timeout: float,
        observer: Observer = ignore,
        sender: Sender = send,
    ) -> None:
        self.engine = engine
        self.manifest = manifest
        self.spec = spec
        self.run_id = report.run_id
        assert report.stack_phase is not None
        self.out = report.stack_phase
        self.images = {i.name: i.build.image_id for i in report.images if i.build.image_id}
        self.build_timeout = build_timeout
        self.observer = observer
        self.send = sender
        self.project = project_name(manifest.name, report.run_id)
        self.out.project = self.project
        self.redactor = redactor_for(self._args(extra_args), self._marked())
        self.config: dict[str, Any] = {}
        self.build_tags: dict[str, str] = {}
        self.logs_shown = False
        self.notes: list[str] = []  # what the run's compose file changed that a reader must know
        self.up_started = time.monotonic()  # time to healthy counts from `compose up`
        self.cpus = _engine_cpus(engine)

    # --- the phase ------------------------------------------------------------------------

    def run(self) -> None:
        started = time.monotonic()
        folder = Path(tempfile.mkdtemp(prefix="stablebuild-stack-"))
        project: Compose | None = None
        try:
            project = self._prepare(folder)
            if project is not None and self._up(project):
                healthy = self._wait(time.monotonic() + self.spec.wait_seconds)
                if healthy:
                    self._smoke(project)
        finally:
            with _interrupts_deferred():
                try:
                    if project is not None:
                        self._down(project)
                finally:
                    shutil.rmtree(folder, ignore_errors=True)
                    self.out.seconds = round(time.monotonic() - started, 2)
                    redactor = self._redactor()
                    self.out.checks[:] = [_redacted(c, redactor) for c in self.out.checks]
                    self.observer(Event("stack", "checks-done", f"{len(self.out.checks)} checks"))

    def _prepare(self, folder: Path) -> Compose | None:
        """The project on the run's compose file; None (with a failed `stack.up`) when the
        files cannot run as they are."""
        self._say(f"reading {', '.join(p.name for p in self.spec.compose)}")
        try:
            command, version = find_compose()
            self.out.compose = f"{' '.join(command)} {version}"
            user = Compose(
                command,
                version,
                self.project,
                self.spec.compose,
                self.manifest.root,
                self.spec.profiles,
            )
            self.config = user.config(CONFIG_TIMEOUT)
        except ComposeError as exc:
            self._fail("stack.up", exc.message, exc.output, hint=exc.hint)
            return None
        problems = self._config_problems()
        if problems:
            self.out.checks.append(failed("stack.up", FAMILY, "; ".join(problems)))
            return None
        path = folder / "compose.run.yml"
        model = run_file(
            self.config,
            images={service: self.images[image] for service, image in self.spec.services.items()},
            labels={LABEL_RUN: self.run_id},
            build_tags=self._build_tags(),
            publish=self._published(),
            waited=self.spec.healthy,
            wait_seconds=self.spec.wait_seconds,
            max_cpus=self.cpus,
        )
        if self.cpus is not None:
            self.notes += [
                f"{limit} lowered to the engine's {self.cpus:g}"
                for limit in cpu_limits(self.config, self.cpus)
            ]
        path.write_text(yaml.safe_dump(model, sort_keys=False), encoding="utf-8")
        return user.with_files(path)

    def _config_problems(self) -> list[str]:
        services: dict[str, Any] = self.config.get("services") or {}
        enabled = set(self.spec.profiles)
        named = [*self.spec.services, *self.spec.build, *self.spec.healthy]
        named += [step.service for step in self.spec.smoke]
        problems = []
        for name in dict.fromkeys(named):
            service = services.get(name)
            profiles = set((service or {}).get("profiles") or [])
            if service is None or (profiles and not profiles & enabled):
                problems.append(
                    f"service {name} is not in the compose project (is it in a compose profile "
                    "`stack.profiles` does not enable?)"
                )
        lacking = unrunnable(self.config, self.spec.services, self.spec.build, enabled)
        if lacking:
            problems.append(
                f"{plural(lacking, 'service')} {', '.join(lacking)} only "
                f"{'has' if len(lacking) == 1 else 'have'} `build:`: map "
                f"{'it' if len(lacking) == 1 else 'them'} to a manifest image in `stack.services`,"
                " or list it in `stack.build`"
            )
        return problems

    def _up(self, project: Compose) -> bool:
        try:
            if self.spec.build:
                self._say(f"building {', '.join(self.spec.build)}")
                project.build(self.spec.build, self.build_timeout)
            self._say(f"compose up (project {self.project})")
            started = self.up_started = time.monotonic()
            project.up(self.spec.wait_seconds + UP_GRACE)
        except ComposeError as exc:
            states = service_states(self.engine, self.project)
            self._fail("stack.up", exc.message, exc.output, logs=self._logs(states))
            for service in self.spec.healthy:  # where each got to: what up may have waited on
                state = "; ".join(_health(service, states.get(service, [])).statuses)
                reason = f"not judged: compose up failed; {service}: {state or 'no container'}"
                self.out.checks.append(skipped(f"stack.healthy.{service}", FAMILY, reason))
            return False
        seconds = time.monotonic() - started
        count = len(service_states(self.engine, self.project))
        message = f"{count} services up in {seconds:.1f} s (compose project {self.project})"
        if self.notes:
            message += f"; {'; '.join(self.notes)}"
        self.out.checks.append(passed("stack.up", FAMILY, message, round(seconds, 2)))
        return True

    def _wait(self, deadline: float) -> bool:
        """Wait until every waited service is healthy, one has stopped for good, or `deadline`."""
        self._say(f"waiting for {', '.join(self.spec.healthy)} to be healthy")
        started = self.up_started
        verdicts: dict[str, CheckResult] = {}
        healths: dict[str, Health] = {}
        while True:
            states = service_states(self.engine, self.project)
            for service in self.spec.healthy:
                if service in verdicts:
                    continue
                health = _health(service, states.get(service, []))
                healths[service] = health
                state = health_state(health)
                seconds = time.monotonic() - started
                if state is HealthState.HEALTHY:
                    verdicts[service] = passed(
                        f"stack.healthy.{service}", FAMILY,
                        f"healthy {seconds:.1f} s after compose up",
                        round(seconds, 2), self.spec.wait_seconds,
                    )  # fmt: skip
                elif state is HealthState.BROKEN:
                    verdicts[service] = self._unhealthy(health, seconds, states)
            if len(verdicts) == len(self.spec.healthy) or time.monotonic() >= deadline:
                break
            time.sleep(0.5)
        for service in self.spec.healthy:
            if service not in verdicts:
                seconds = time.monotonic() - started
                verdicts[service] = self._unhealthy(healths[service], seconds, states)
        self.out.checks += [verdicts[service] for service in self.spec.healthy]
        return all(verdicts[s].status is CheckStatus.PASSED for s in self.spec.healthy)

    def _unhealthy(
        self, health: Health, seconds: float, states: dict[str, list[ServiceState]]
    ) -> CheckResult:
        message = health_problem(health, seconds, self.spec.wait_seconds)
        return failed(
            f"stack.healthy.{health.service}",
            FAMILY,
            message + self._logs(states),
            None,
            self.spec.wait_seconds,
        )

    # --- smoke steps ----------------------------------------------------------------------

    def _smoke(self, project: Compose) -> None:
        total = len(self.spec.smoke)
        for number, step in enumerate(self.spec.smoke, 1):
            id = f"stack.smoke.{number}"
            self._say(f"smoke step {number}/{total}: {describe(step)}")
            if isinstance(step, ExecStep):
                result = run_exec(project, id, step)
            else:
                base = self._base_url(step)
                if base.startswith("http"):
                    result = run_http(self.send, id, step, base)
                else:
                    result = failed(id, FAMILY, f"{describe(step)}: {base}")
            if result.status is not CheckStatus.PASSED:
                states = service_states(self.engine, self.project)
                result = _with_message(result, result.message + self._logs(states))
            self.out.checks.append(result)
            if result.status is not CheckStatus.PASSED:
                for later in range(number + 1, total + 1):
                    reason = f"not run: smoke step {number} did not pass"
                    self.out.checks.append(skipped(f"stack.smoke.{later}", FAMILY, reason))
                return

    def _base_url(self, step: HttpStep) -> str:
        """`http://127.0.0.1:<port>` where compose published the step's port; else why not."""
        service = (self.config.get("services") or {}).get(step.service) or {}
        port = step.port
        if port is None:
            targets = [p.target for p in ports_of(service)]
            if len(targets) != 1:
                listed = f" ({', '.join(targets)})" if targets else ""
                return (
                    f"the service publishes {len(targets)} ports{listed}: name the container "
                    "port with `port:`"
                )
            port = int(targets[0]) if targets[0].isdigit() else None
            if port is None:
                return f"the service publishes a port range ({targets[0]}): name one with `port:`"
        for state in service_states(self.engine, self.project).get(step.service, []):
            host_port = state.ports.get(f"{port}/tcp")
            if host_port:
                return f"http://{LOOPBACK}:{host_port}"
        return f"port {port} of the service is not published (is its container running?)"

    # --- teardown -------------------------------------------------------------------------

    def _down(self, project: Compose) -> None:
        self._say("tearing down")
        started = time.monotonic()
        problems = []
        try:
            project.down(DOWN_TIMEOUT)
        except ComposeError as exc:
            problems.append(exc.message)
        try:
            # NOTE: also what `down` could not see: a run whose file was never written, a
            # compose killed half-way; anything with the project's or the run's label.
            left = remove_leftovers(self.engine, self.project, self.run_id)
        except ENGINE_FAILURES as exc:
            self.out.checks.append(error("stack.down", FAMILY, f"the engine did not answer: {exc}"))
            return
        for tag in self.build_tags.values():
            with contextlib.suppress(*ENGINE_FAILURES):
                remove_tag(self.engine, tag)
        seconds = round(time.monotonic() - started, 2)
        if left:
            message = f"left behind after compose down: {left}"
            if problems:
                message += f" ({'; '.join(problems)})"
            self.out.checks.append(error("stack.down", FAMILY, message, str(left)))
            return
        message = f"containers, networks and volumes of {self.project} removed in {seconds:.1f} s"
        self.out.checks.append(passed("stack.down", FAMILY, message, seconds))

    # --- helpers --------------------------------------------------------------------------

    def _build_tags(self) -> dict[str, str]:
        stack = "".join(c if c.isalnum() or c in "-_." else "-" for c in self.manifest.name.lower())
        self.build_tags = {
            service: f"stablebuild/{stack}-{service}:{self.run_id}" for service in self.spec.build
        }
        return self.build_tags

    def _published(self) -> dict[str, list[int]]:
        ports: dict[str, list[int]] = {}
        for step in self.spec.smoke:
            if isinstance(step, HttpStep) and step.port is not None:
                ports.setdefault(step.service, []).append(step.port)
        return ports

    def _args(self, extra: Mapping[str, str]) -> dict[str, str]:
        """What could hold a secret: the images' build args and the services' environment."""
        values: dict[str, str] = {}
        for spec in self.manifest.images.values():
            values.update(spec.args)
        values.update(extra)
        return values

    def _marked(self) -> tuple[str, ...]:
        return tuple({name for spec in self.manifest.images.values() for name in spec.secret_args})

    def _redactor(self) -> Redactor:
        environment: dict[str, str] = {}
        for service in (self.config.get("services") or {}).values():
            environment.update(_environment((service or {}).get("environment")))
        if not environment:
            return self.redactor
        extra = redactor_for(environment, self._marked())
        return Redactor(self.redactor.values | extra.values)

    def _fail(
        self, id: str, message: str, output: str = "", hint: str = "", logs: str = ""
    ) -> None:
        text = message + (f" ({hint})" if hint else "")
        self.out.checks.append(failed(id, FAMILY, block(text, "compose output", output) + logs))

    def _logs(self, states: Mapping[str, list[ServiceState]]) -> str:
        """Each service's last log lines, once per phase (the first failure gets them)."""
        if self.logs_shown or not states:
            return ""
        self.logs_shown = True
        parts = []
        for service in sorted(states):
            for state in states[service][:1]:
                text = tail(container_logs(self.engine, state.container, LOG_LINES), LOG_LINES)
                parts.append(f"--- {service}: last {LOG_LINES} log lines ---\n{text or '(none)'}")
        return "\n" + "\n".join(parts) if parts else ""

    def _say(self, message: str) -> None:
        self.observer(Event("stack", "stack", message))


def _health(service: str, states: list[ServiceState]) -> Health:
    statuses = []
    for state in states:
        text = state.status + (f" ({state.exit_code})" if state.exit_code is not None else "")
        if state.health:
            text += f", health {state.health}"
        if state.restarts:
            text += f", restarted {state.restarts}×"
        if state.health_output and state.health != "healthy":
            text += f", last check: {state.health_output.splitlines()[-1][:160]}"
        statuses.append(text)
    return Health(
        service=service,
        containers=len(states),
        running=sum(s.running for s in states),
        healthy=sum(s.running and s.health == "healthy" for s in states),
        statuses=tuple(statuses),
        no_check=any(s.running and s.health is None for s in states),
        ended=any(s.status in ("exited", "dead") for s in states),
    )


def _redacted(check: CheckResult, redactor: Redactor) -> CheckResult:
    if not redactor:
        return check
    return CheckResult(
        check.id,
        check.family,
        check.status,
        redactor.text(check.message),
        redactor.data(check.value),
        redactor.data(check.expected),
    )


def _engine_cpus(engine: Engine) -> float | None:
    try:
        cpus = float(engine.info.get("NCPU") or 0)
    except (TypeError, ValueError):
        return None
    return cpus if cpus > 0 else None


def _environment(value: Any) -> dict[str, str]:
    if isinstance(value, Mapping):
        return {str(k): str(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return dict(str(item).partition("=")[::2] for item in value)
    return {}


def _with_message(check: CheckResult, message: str) -> CheckResult:
    return CheckResult(check.id, check.family, check.status, message, check.value, check.expected)


@contextlib.contextmanager
def _interrupts_deferred() -> Iterator[None]:
    """Ctrl-C waits until the block is done (the teardown), then interrupts as usual."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda number, frame: caught.append(number))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if caught:
        raise KeyboardInterrupt


__all__ = ["StackRun", "run_stack", "skip_reason"]

"""Build one image through the low-level API, streaming the log and timing it.

Build args are checked before the engine sees them (one line each), and the values of secret
ones are masked in everything the build leaves behind: log lines, the error, progress events.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import IO, Any, NamedTuple

from stablebuild.buildargs import Redactor, arg_problem, redactor_for
from stablebuild.engine import context as contexts
from stablebuild.engine.api import ApiError, EngineLost, TimedOut
from stablebuild.engine.client import LABEL_RUN, STILL_RUNNING_HINT, Engine, client_settings
from stablebuild.engine.inputs import dockerignore_patterns
from stablebuild.errors import EngineUnavailable
from stablebuild.events import Event, Observer, ignore
from stablebuild.report.model import BuildOutcome, BuildStatus

_STEP = re.compile(r"^Step (\d+)/(\d+) : (.*)$")


class BuildRequest(NamedTuple):
    """Everything the engine needs to build one image of the stack."""

    image: str  # the manifest's name for it
    context: Path
    dockerfile: Path
    tag: str | None  # None: leave the image untagged (referred to by id)
    label: str  # value of org.stablebuild.run on the image
    args: Mapping[str, str] = {}
    target: str | None = None
    timeout: float = 1800.0
    nocache: bool = False
    labels: Mapping[str, str] = {}
    secret_args: Collection[str] = ()  # names marked secret besides those that look so

    @property
    def redactor(self) -> Redactor:
        return redactor_for(self.args, self.secret_args)


def _dockerfile_arg(request: BuildRequest) -> str:
    """Relative to the context when inside it; one outside is sent under a generated name."""
    try:
        return request.dockerfile.resolve().relative_to(request.context.resolve()).as_posix()
    except ValueError:
        return str(request.dockerfile.resolve())


def _context_tar(request: BuildRequest) -> tuple[IO[bytes], str]:  # (a temporary file, its name)
    """The context as docker-py sent it, less stablebuild's own folder; the Dockerfile's name
    in it (one outside the context is added under a generated name)."""
    archive, name = contexts.archive(
        str(request.context), dockerignore_patterns(request.context), _dockerfile_arg(request)
    )
    return archive, str(name)


def _amount(size: int) -> str:
    """A context's size as the Docker client says it: `2.05 kB`, `1.2 MB`."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if size >= scale:
            return f"{size / scale:.3g} {unit}"
    return f"{size} B"


def build_query(
    *,
    labels: Mapping[str, str],
    args: Mapping[str, str] = {},
    proxies: Mapping[str, str] = {},
    dockerfile: str | None = None,
    tag: str | None = None,
    target: str | None = None,
    nocache: bool = False,
) -> dict[str, str]:
    """POST /build's query, as docker-py wrote it for the same arguments: intermediate
    containers removed, no pull, the Docker client's proxies as build args unless set."""
    query = {"rm": "1", "forcerm": "1", "pull": "0", "q": "0", "nocache": "1" if nocache else "0"}
    if dockerfile is not None:
        query["dockerfile"] = dockerfile
    if tag:
        query["t"] = tag
    every = dict(args)
    for name, value in proxies.items():
        every.setdefault(name, value)
    if every:
        query["buildargs"] = json.dumps(every)
    query["labels"] = json.dumps(dict(labels))
    if target:
        query["target"] = target
    return query


def build(engine: Engine, request: BuildRequest, observer: Observer = ignore) -> BuildOutcome:
    """Build `request`; a failed build is an outcome with its log, never an exception."""
    refused = [p for p in (arg_problem(n, v) for n, v in request.args.items()) if p is not None]
    if refused:
        observer(Event(request.image, "build-done", BuildStatus.FAILED.value))
        return BuildOutcome(BuildStatus.FAILED, error=refused[0], log=refused)
    redactor = request.redactor
    log: list[str] = []
    started = time.monotonic()
    image_id: str | None = None
    error: str | None = None
    timed_out = False
    observer(Event(request.image, "build-start", request.tag or request.dockerfile.name))
    context, dockerfile = _context_tar(request)
    size = context.seek(0, os.SEEK_END)
    context.seek(0)
    # NOTE: from here the run waits on the engine (it unpacks the context before the first
    # step: ~0.1 s of a cached build here), which is what `Validation` preloads behind
    observer(Event(request.image, "build-context", f"sending {_amount(size)} of context"))
    try:
        headers, proxies = client_settings(engine)
        stream = engine.api.build(
            context,
            build_query(
                labels={LABEL_RUN: request.label, **request.labels},
                args=request.args,
                proxies=proxies,
                dockerfile=dockerfile,
                tag=request.tag,
                target=request.target,
                nocache=request.nocache,
            ),
            headers=headers,
            timeout=request.timeout,  # a build silent for this long
        )
        for chunk in stream:
            image_id, error = _consume(
                request.image, redactor.data(chunk), log, observer, image_id, error
            )
            if time.monotonic() - started > request.timeout:
                timed_out = True
                break
    except TimedOut:
        timed_out = True
    except ApiError as exc:
        error = redactor.text(exc.explanation or str(exc))
    except EngineLost as exc:
        raise EngineUnavailable(
            f"the engine stopped answering while building {request.image}: "
            + redactor.text(str(exc)),
            STILL_RUNNING_HINT,
        ) from None
    finally:
        context.close()  # a temporary file
    seconds = time.monotonic() - started
    if timed_out:
        error = f"build did not finish within {request.timeout:g} s"
        log.append(error)
    status = BuildStatus.BUILT if image_id and not error else BuildStatus.FAILED
    if timed_out:
        status = BuildStatus.TIMEOUT
    outcome = BuildOutcome(
        status=status,
        seconds=round(seconds, 2),
        tag=request.tag if status is BuildStatus.BUILT else None,
        image_id=image_id if status is BuildStatus.BUILT else None,
        log=log,
        error=error,
    )
    observer(Event(request.image, "build-done", status.value))
    return outcome


def _consume(
    image: str,
    chunk: dict[str, Any],
    log: list[str],
    observer: Observer,
    image_id: str | None,
    error: str | None,
) -> tuple[str | None, str | None]:
    if "stream" in chunk:
        for line in str(chunk["stream"]).splitlines():
            if not line.strip():
                continue
            log.append(line)
            step = _STEP.match(line)
            if step:
                observer(
                    Event(
                        image, "build-step", step.group(3), int(step.group(1)), int(step.group(2))
                    )
                )
            elif line.startswith("Successfully built "):
                image_id = image_id or line.split()[-1]
    if "aux" in chunk and isinstance(chunk["aux"], dict) and "ID" in chunk["aux"]:
        image_id = str(chunk["aux"]["ID"])
    if "error" in chunk:
        error = str(chunk["error"]).strip()
        log.extend(error.splitlines())
    return image_id, error

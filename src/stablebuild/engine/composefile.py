"""The compose file one stack run uses, made from the user's files as compose merged them.

Pure functions over the model `compose config` prints (v1 and v2 print the same shapes, with
small differences handled here). The run's file is that model with: the validated images by id
(never built), supporting services built under a tag of the run, no fixed host ports (each
published port goes to 127.0.0.1 on an ephemeral one), no fixed container names, CPU limits no
higher than the engine's CPUs, and the run label on every container, network and volume the
project creates.

NOTE: a generated file replaces the user's files rather than overriding them: compose v1 merges
`ports` lists, so no override could take a fixed `8000:8000` away, and two runs (or a developer's
own `compose up`) would collide on it.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

LOOPBACK = "127.0.0.1"
# Health checks run every second while the stack is waited on, and failures count only after the
# wait: the wait then measures the service's readiness, not its probe's schedule, and a slow
# first start (initdb) is not declared unhealthy early. The test itself is unchanged.
EAGER_INTERVAL = "1s"
_PROJECT_CHAR = re.compile(r"[^a-z0-9_-]+")


def project_name(stack: str, run_id: str) -> str:
    """A compose project name unique to the run, valid for v1 and v2 (`[a-z0-9][a-z0-9_-]*`)."""
    stack_part = _PROJECT_CHAR.sub("-", stack.lower()).strip("-_")[:24].strip("-_")
    run_part = _PROJECT_CHAR.sub("-", run_id.lower()).strip("-_")
    return "-".join(part for part in ("sb", stack_part, run_part) if part)


@dataclass(frozen=True)
class Port:
    """A port a service publishes: the container side, as compose writes it."""

    target: str  # "8000", or a range "8000-8005"
    protocol: str = "tcp"

    @property
    def spec(self) -> str:
        """Published on the loopback interface, on a port the engine picks."""
        return f"{LOOPBACK}::{self.target}/{self.protocol}"


def ports_of(service: Mapping[str, Any]) -> list[Port]:
    """Every port `service` publishes, short (`"8000:8000"`) or long (`{target: 8000}`) syntax."""
    found: list[Port] = []
    for entry in service.get("ports") or []:
        port = _port(entry)
        if port is not None and port not in found:
            found.append(port)
    return found


def _port(entry: Any) -> Port | None:
    if isinstance(entry, Mapping):
        target = entry.get("target")
        protocol = str(entry.get("protocol") or "tcp")
        return Port(str(target), protocol) if target not in (None, "") else None
    if isinstance(entry, (int, str)):
        text, _, protocol = str(entry).partition("/")
        # host_ip:published:target, published:target, target; the target is always last.
        target = text.rsplit(":", 1)[-1]
        return Port(target, protocol or "tcp") if target else None
    return None


def unrunnable(
    config: Mapping[str, Any],
    images: Mapping[str, str],
    build: Iterable[str],
    profiles: Iterable[str] = (),
) -> list[str]:
    """Services that have only `build:` and that the stack neither maps nor builds: compose
    could start them only by building them, which the stack phase never does unasked.
    A service of a compose profile that is not enabled does not start, so it does not count."""
    built, enabled = set(build), set(profiles)
    found = []
    for name, service in (config.get("services") or {}).items():
        service = service or {}
        own = set(service.get("profiles") or [])
        if own and not own & enabled:
            continue
        if not service.get("image") and name not in images and name not in built:
            found.append(name)
    return sorted(found)


def run_file(
    config: Mapping[str, Any],
    *,
    images: Mapping[str, str],
    labels: Mapping[str, str],
    build_tags: Mapping[str, str] | None = None,
    publish: Mapping[str, Iterable[int]] | None = None,
    waited: Iterable[str] = (),
    wait_seconds: float = 120.0,
    max_cpus: float | None = None,
) -> dict[str, Any]:
    """The run's compose model (see the module docstring).

    `images`: service -> image id to run. `build_tags`: service -> the tag compose builds it
    under. `publish`: service -> more container ports to publish (those smoke steps talk to).
    `waited`: services whose health is waited on, up to `wait_seconds` (their checks run
    eagerly). `max_cpus`: the engine's CPU count; higher CPU limits are lowered to it
    (`cpu_limits` says which), since the engine refuses to create such a container at all.
    """
    model = copy.deepcopy(dict(config))
    model.pop("name", None)  # v2 prints it; the project name is given on the command line
    build_tags = build_tags or {}
    publish = publish or {}
    eager = set(waited)
    services: dict[str, Any] = model.get("services") or {}
    for name, service in services.items():
        if service is None:
            service = services[name] = {}
        if name in images:
            service["image"] = images[name]
            service.pop("build", None)
            service.pop("pull_policy", None)
        elif name in build_tags:
            service["image"] = build_tags[name]
            service["build"] = _labelled(_build_section(service.get("build")), labels)
        service.pop("container_name", None)
        service["labels"] = {**_as_mapping(service.get("labels")), **labels}
        _publish(service, [Port(str(p)) for p in publish.get(name, ())])
        if name in eager:
            _eager(service, wait_seconds)
        if max_cpus is not None:
            for holder, key, _ in _cpu_limits(service, max_cpus):
                holder[key] = _cpus_text(max_cpus)
    for section in ("networks", "volumes"):
        entries = model.get(section) or {}
        for key, value in list(entries.items()):
            if not _external(value):
                entries[key] = _labelled(value, labels)
        if section == "networks" and "default" not in entries and services:
            entries["default"] = {"labels": dict(labels)}
        if entries:
            model[section] = entries
    return model


def cpu_limits(config: Mapping[str, Any], max_cpus: float) -> list[str]:
    """The CPU limits above what the engine has, as `service cpus N` (what `run_file` lowers)."""
    notes = []
    for name, service in (config.get("services") or {}).items():
        for _, _, value in _cpu_limits(service or {}, max_cpus):
            notes.append(f"{name} cpus {value:g}")
    return notes


def _cpu_limits(service: Mapping[str, Any], max_cpus: float) -> list[tuple[Any, str, float]]:
    """(holder, key, value) of each CPU limit in `service` above `max_cpus`: the service's own
    `cpus`, and `deploy.resources.limits.cpus` (which compose v1 1.27+ and v2 both apply)."""
    deploy = service.get("deploy") or {}
    limits = (deploy.get("resources") or {}).get("limits") or {}
    found = []
    for holder, key in ((service, "cpus"), (limits, "cpus")):
        raw = holder.get(key)
        try:
            value = float(raw) if raw is not None else None
        except (TypeError, ValueError):
            value = None
        if value is not None and value > max_cpus:
            found.append((holder, key, value))
    return found


def _cpus_text(cpus: float) -> str:
    return f"{cpus:g}"


def _publish(service: dict[str, Any], extra: list[Port]) -> None:
    mode = str(service.get("network_mode") or "")
    if mode == "host" or mode.startswith(("service:", "container:")):
        return  # such a service publishes nothing of its own
    ports = ports_of(service)
    ports += [port for port in extra if port.target not in {p.target for p in ports}]
    if ports:
        service["ports"] = [port.spec for port in ports]
    else:
        service.pop("ports", None)


def _eager(service: dict[str, Any], wait_seconds: float) -> None:
    health = _as_mapping(service.get("healthcheck"))
    if health.get("disable") is True:
        return
    # NOTE: without `test`, the engine keeps the image's own HEALTHCHECK test on this schedule;
    # an image without one stays without health, which the wait reports.
    start = f"{max(1, round(wait_seconds))}s"
    service["healthcheck"] = {**health, "interval": EAGER_INTERVAL, "start_period": start}


def _build_section(build: Any) -> dict[str, Any]:
    return {"context": build} if isinstance(build, str) else dict(build or {})


def _labelled(value: Any, labels: Mapping[str, str]) -> dict[str, Any]:
    entry = dict(value) if isinstance(value, Mapping) else {}
    entry["labels"] = {**_as_mapping(entry.get("labels")), **labels}
    return entry


def _external(value: Any) -> bool:
    return isinstance(value, Mapping) and bool(value.get("external"))


def _as_mapping(value: Any) -> dict[str, Any]:
    """Compose's labels and healthcheck: a mapping, or a list of `key=value` (v1's short form)."""
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, list):
        return dict(str(item).partition("=")[::2] for item in value)
    return {}


__all__ = [
    "LOOPBACK",
    "Port",
    "cpu_limits",
    "ports_of",
    "project_name",
    "run_file",
    "unrunnable",
]

"""The `stack:` section's meaning: compose files that exist, services they define, images the
manifest builds, smoke steps that can be sent. Shapes were checked by `schema.STACK`."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from stablebuild import textfile
from stablebuild.manifest import rules
from stablebuild.manifest.model import ExecStep, HttpStep, PollSpec, SmokeStep, StackSpec
from stablebuild.manifest.nodes import Node, compose
from stablebuild.manifest.schema import (
    HTTP_METHODS,
    Choice,
    Command,
    Text,
    TextList,
    TextMap,
    TextOrList,
    Whole,
)
from stablebuild.suggest import closest

if TYPE_CHECKING:
    from stablebuild.manifest.build import ManifestBuilder

MAX_SECONDS = 3600.0  # a stack not healthy, or a smoke step not done, within an hour never will be
MAX_BODY_BYTES = 1024 * 1024  # a smoke request's JSON body is a small fixture
DEFAULT_WAIT_SECONDS = 120.0
# `{id}` in a poll path: a field of the first answer's JSON (dotted for nested ones).
PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_.-]*)\}")


def compose_services(paths: Iterable[Path], root: Path) -> set[str] | None:
    """The service names the compose files define together; None when one cannot be read as
    YAML here (compose itself then says what is wrong, when the stack phase runs)."""
    names: set[str] = set()
    for path in paths:
        text = textfile.read_text(path, root=root, limit=MAX_BODY_BYTES * 4)
        if isinstance(text, textfile.Unreadable):
            return None
        top = compose(text, str(path), [])
        if top is None or top.kind != "map":
            return None
        services = top.entries.get("services")
        if services is not None:
            names.update(services.entries)
    return names


class StackReader:
    """Builds the `StackSpec`, reporting each problem through the manifest's builder."""

    def __init__(self, builder: ManifestBuilder, images: Iterable[str]) -> None:
        self.builder = builder
        self.images = sorted(images)
        self.services: set[str] | None = None  # those the compose files define, when known

    def read(self, node: Node | None) -> StackSpec | None:
        if node is None or node.kind != "map":
            return None
        entries = node.entries
        files = self._compose(node)
        if files:
            self.services = compose_services(files, self.builder.root)
        mapped = self._mapped(node)
        build = self._names(entries.get("build"))
        for name, item in zip(build, _items(entries.get("build")), strict=True):
            if name in mapped:
                self._report(item, f"service {name!r} runs its validated image; it is not built")
        wait = entries.get("wait")
        wait_entries = wait.entries if wait is not None else {}
        healthy = wait_entries.get("healthy")
        waited = self._names(healthy) if healthy is not None else tuple(mapped)
        seconds = self._seconds(wait_entries.get("timeout_seconds"), "timeout_seconds")
        smoke = [self._step(item) for item in _items(entries.get("smoke"))]
        if not files or not mapped or any(step is None for step in smoke):
            return None
        return StackSpec(
            compose=tuple(files),
            services=mapped,
            profiles=TextList().read(entries.get("profiles")) or (),
            build=build,
            healthy=waited,
            wait_seconds=seconds or DEFAULT_WAIT_SECONDS,
            smoke=tuple(step for step in smoke if step is not None),
        )

    # -- the compose project ----------------------------------------------------------------

    def _compose(self, node: Node) -> list[Path]:
        files_node = node.entries.get("compose")
        if files_node is None:
            self._report(node, "`stack:` needs `compose:`, the compose files to run")
            return []
        if TextOrList().read(files_node) is None:
            return []
        files = []
        for item in files_node.items if files_node.kind == "seq" else [files_node]:
            path = self.builder._existing(item, folder=False)
            if path is not None:
                files.append(path)
        if files_node.kind == "seq" and not files_node.items:
            self._report(files_node, "`compose:` names no file")
        return files

    def _mapped(self, node: Node) -> dict[str, str]:
        services_node = node.entries.get("services")
        if services_node is not None and TextMap().read(services_node) is None:
            return {}  # the wrong shape, already reported
        if services_node is None or not services_node.entries:
            self._report(
                services_node or node,
                "`stack:` needs `services:`, each compose service that runs a manifest image "
                "(e.g. {api: api})",
            )
            return {}
        mapped: dict[str, str] = {}
        for service, value in services_node.entries.items():
            image = Text().convert(value)
            self._service(value, service)
            if image not in self.images:
                self._report(value, _unknown("image", image, self.images, "images:"))
            mapped[service] = image
        return mapped

    def _names(self, node: Node | None) -> tuple[str, ...]:
        """A list of compose services, each checked against the compose files."""
        names = []
        for item in _items(node) if TextList().read(node) is not None else []:
            name = Text().convert(item)
            self._service(item, name)
            names.append(name)
        return tuple(names)

    def _service(self, node: Node, name: str) -> bool:
        if self.services is None or name in self.services:
            return True
        self._report(node, _unknown("service", name, sorted(self.services), "the compose files"))
        return False

    # -- smoke steps ------------------------------------------------------------------------

    def _step(self, node: Node) -> SmokeStep | None:
        if node.kind != "map":
            return None
        kinds = [key for key in ("http", "exec") if key in node.entries]
        if len(kinds) != 1:
            self._report(node, "a smoke step is one `http:` or one `exec:`")
            return None
        body = node.entries[kinds[0]]
        if body.kind != "map":
            return None
        service = self._required_service(body)
        if kinds[0] == "exec":
            return self._exec(body, service)
        return self._http(body, service)

    def _required_service(self, body: Node) -> str | None:
        node = body.entries.get("service")
        name = Text().read(node)
        if node is None:
            self._report(body, "a smoke step needs `service:`, the compose service it talks to")
            return None
        if name is None or not self._service(node, name):
            return None
        return name

    def _exec(self, body: Node, service: str | None) -> ExecStep | None:
        entries = body.entries
        command = Command().read(entries.get("command"))
        if "command" not in entries or command == ():
            self._report(entries.get("command", body), "an exec step needs a `command:`")
        seconds = self._seconds(entries.get("timeout_seconds"), "timeout_seconds")
        if service is None or not command:
            return None
        return ExecStep(service, command, seconds or 60.0)

    def _http(self, body: Node, service: str | None) -> HttpStep | None:
        entries = body.entries
        path = self._path(entries.get("path"), body, placeholders=False)
        port = Whole().read(entries.get("port"))
        if port is not None:
            self._check(entries.get("port"), rules.port(port))
        status = Whole().read(entries.get("expect_status"))
        if status is not None and not 100 <= status <= 599:
            self._report(entries["expect_status"], f"{status} is not an HTTP status (100-599)")
        json_file = Text().read(entries.get("json_file"))
        json_body = self._json(entries.get("json_file"))
        if "json_file" in entries and "form" in entries:
            self._report(entries["form"], "send `json_file:` or `form:`, not both")
        seconds = self._seconds(entries.get("timeout_seconds"), "timeout_seconds")
        poll = self._poll(entries.get("then_poll"))
        broken = "then_poll" in entries and poll is None
        if service is None or path is None or broken or (json_file and json_body is None):
            return None
        return HttpStep(
            service=service,
            path=path,
            method=Choice(HTTP_METHODS).read(entries.get("method")) or "GET",
            port=port,
            json_file=json_file,
            json_body=json_body,
            form=TextMap().read(entries.get("form")) or {},
            expect_status=status or 200,
            timeout_seconds=seconds or 30.0,
            then_poll=poll,
        )

    def _poll(self, node: Node | None) -> PollSpec | None:
        if node is None or node.kind != "map":
            return None
        entries = node.entries
        path = self._path(entries.get("path"), node, placeholders=True)
        until = TextMap().read(entries.get("until"))
        if not until:
            self._report(
                entries.get("until", node),
                "`then_poll:` needs `until:`, the JSON fields that mean done (e.g. {status: done})",
            )
        seconds = self._seconds(entries.get("timeout_seconds"), "timeout_seconds") or 60.0
        interval = self._seconds(entries.get("interval_seconds"), "interval_seconds")
        if interval is not None and interval > seconds:
            self._report(
                entries["interval_seconds"],
                f"interval_seconds ({interval:g}) is longer than timeout_seconds ({seconds:g})",
            )
        if path is None or not until:
            return None
        return PollSpec(
            path=path,
            until=until,
            fail_when=TextMap().read(entries.get("fail_when")) or {},
            timeout_seconds=seconds,
            interval_seconds=interval or 1.0,
        )

    def _path(self, node: Node | None, parent: Node, *, placeholders: bool) -> str | None:
        path = Text().read(node)
        if node is None:
            self._report(parent, "an http step needs `path:` (e.g. /health)")
            return None
        if path is None:
            return None
        # NOTE: `{id}` is no URL character; it is checked as the text that replaces it would be.
        plain = PLACEHOLDER.sub("x", path) if placeholders else path
        problem = rules.health_path(plain)
        if problem is not None:
            self._report(node, problem.replace("health path", "path", 1).replace(plain, path))
            return None
        return path

    def _json(self, node: Node | None) -> str | None:
        path = self.builder._existing(node, folder=False)
        if node is None or path is None:
            return None
        text = textfile.read_text(path, root=self.builder.root, limit=MAX_BODY_BYTES, strict=True)
        if isinstance(text, textfile.Unreadable):
            self._report(node, f"{node.text!r} cannot be sent: {text.reason}")
            return None
        try:
            json.loads(text)
        except ValueError as exc:
            self._report(node, f"{node.text!r} is not valid JSON: {exc}")
            return None
        return text

    # -- helpers ----------------------------------------------------------------------------

    def _seconds(self, node: Node | None, what: str) -> float | None:
        seconds = self.builder._positive(node, what)
        if node is not None and seconds is not None:
            self._check(node, rules.at_most(what, seconds, MAX_SECONDS))
        return seconds if seconds is not None and 0 < seconds <= MAX_SECONDS else None

    def _report(self, node: Node, message: str) -> None:
        self.builder.problems.append(node.problem(message))

    def _check(self, node: Node | None, message: str | None) -> None:
        if node is not None and message is not None:
            self._report(node, message)


def _items(node: Node | None) -> list[Node]:
    return node.items if node is not None and node.kind == "seq" else []


def _unknown(what: str, name: str, known: list[str], where: str) -> str:
    close = closest(name, known)
    hint = f" (did you mean {close!r}?)" if close else ""
    listed = f"; known: {', '.join(known)}" if known else ""
    return f"no {what} {name!r} in {where}{hint}{listed}"


__all__ = ["MAX_SECONDS", "PLACEHOLDER", "StackReader", "compose_services"]

"""Every failure of a validate run, located where a person fixes it.

A forbidden package points at the Dockerfile `RUN` that installed it, a root user at the last
`USER`, a failed build at the instruction whose step failed; a failed import, encoder or budget
at its entry in `stablebuild.yml` (a profile's or `defaults:` value where it came from there); a
pin at its line in the requirements file. What cannot be placed more precisely points at the
image's key in the manifest, else at the manifest's first line.

NOTE: this reads the manifest, the Dockerfiles and the requirements files again (the Report keeps
no line numbers); a file changed since the run only makes a place less precise, never an error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from packaging.utils import canonicalize_name

from stablebuild.errors import Problem, StablebuildError
from stablebuild.manifest.load import load_manifest
from stablebuild.manifest.model import ImageSpec, Manifest
from stablebuild.manifest.nodes import Node, compose
from stablebuild.manifest.profiles import apply
from stablebuild.report.format.source import (
    Place,
    line_text,
    read_lines,
    repo_path,
    work_tree_root,
)
from stablebuild.report.format.text import clean
from stablebuild.report.model import BuildStatus, CheckResult, CheckStatus, ImageReport, Report
from stablebuild.stages import Instruction, ParsedDockerfile, parse

MANIFEST_NAME = "stablebuild.yml"
RULE_PREFIX = "validate"
_STEP = re.compile(r"^Step \d+/\d+ : (.+)$")


@dataclass(frozen=True)
class Failure:
    """One thing that made the run fail: a build, a failed check or a check that errored."""

    image: str
    rule: str  # "validate.<family>", e.g. validate.imports, validate.build
    check: str  # the check id ("imports.fastapi"), or "build"
    status: str  # failed | error
    message: str  # ANSI escapes and control characters removed
    place: Place

    @property
    def title(self) -> str:
        return f"{self.image}: {self.check}"


def rule_id(family: str) -> str:
    return f"{RULE_PREFIX}.{family}"


def failures(report: Report) -> tuple[Path, list[Failure]]:
    """The work tree root, and every failure of `report` with its place, in report order."""
    locator = Locator(report)
    out: list[Failure] = []
    for image in report.images:
        if image.build.status in (BuildStatus.FAILED, BuildStatus.TIMEOUT):
            message = image.build.error or f"build {image.build.status.value}"
            if image.build.diagnosis is not None:
                d = image.build.diagnosis
                message += f" ({d.summary}; fix: {d.hint})"
            place = locator.build(image)
            out.append(
                Failure(image.name, rule_id("build"), "build", "failed", clean(message), place)
            )
        for check in image.checks:
            if check.status in (CheckStatus.FAILED, CheckStatus.ERROR):
                place = locator.check(image.name, check)
                message = check.message
                rule = rule_id(check.family)
                out.append(
                    Failure(image.name, rule, check.id, check.status.value, clean(message), place)
                )
    stack = report.stack_phase.checks if report.stack_phase is not None else []
    for check in stack:
        if check.status in (CheckStatus.FAILED, CheckStatus.ERROR):
            place = locator.stack_place(check.id)
            status, message = check.status.value, clean(check.message)
            out.append(Failure("stack", rule_id("stack"), check.id, status, message, place))
    return locator.tree, out


class Locator:
    """The places of one report's failures: the manifest's nodes, Dockerfiles, requirements."""

    def __init__(self, report: Report) -> None:
        self.path = Path(report.manifest) if report.manifest else Path(MANIFEST_NAME)
        self.path = self.path.absolute()
        self.tree = work_tree_root(self.path.parent)
        self.manifest_path = repo_path(self.tree, self.path)
        self.images, self.top = _layout(self.path, report.profile)
        self.stack = _load(self.path, report.profile)
        self.dockerfiles: dict[Path, ParsedDockerfile | None] = {}

    # --- the manifest ----------------------------------------------------------------------

    def key(self, image: str, *keys: str, item: str | None = None) -> Place | None:
        """The line of `images.<image>.<keys...>` (or of the entry `item` in that list)."""
        node = self.images.get(image)
        for key in keys:
            node = node.entries.get(key) if node is not None else None
        if node is None:
            return None
        if item is not None:
            match = next((n for n in node.items if n.text == item), None)
            if match is None:
                return None
            node = match
        return self._node_place(node.file, node.line)

    def top_key(self, key: str) -> Place | None:
        node = self.top.get(key)
        return self._node_place(node.file, node.line) if node is not None else None

    def stack_place(self, check_id: str) -> Place:
        """A stack check's entry in `stack:`: the compose files (up), the service waited on,
        the smoke step; else the `stack:` key itself."""
        node = self.top.get("stack")
        if node is None:
            return Place(self.manifest_path, 1, line_text(self.path, 1))
        entries = node.entries
        kind, _, name = check_id.removeprefix("stack.").partition(".")
        target: Node | None = None
        if kind == "up":
            target = entries.get("compose")
        elif kind == "healthy":
            wait = entries.get("wait")
            healthy = wait.entries.get("healthy") if wait is not None else None
            items = healthy.items if healthy is not None else []
            mapped = entries.get("services")
            target = (
                next((item for item in items if item.text == name), None)
                or (mapped.entries.get(name) if mapped is not None else None)
                or wait
            )
        elif kind == "smoke" and name.isdigit():
            smoke = entries.get("smoke")
            steps = smoke.items if smoke is not None else []
            target = steps[int(name) - 1] if 0 < int(name) <= len(steps) else smoke
        target = target or node
        return self._node_place(target.file, target.line)

    def image_place(self, image: str) -> Place:
        node = self.images.get(image)
        if node is not None:
            return self._node_place(node.file, node.line)
        return Place(self.manifest_path, 1, line_text(self.path, 1))

    def _node_place(self, file: str, line: int) -> Place:
        path = Path(file)
        return Place(repo_path(self.tree, path), line, line_text(path, line))

    # --- Dockerfiles and requirements ------------------------------------------------------

    def spec(self, image: str) -> ImageSpec | None:
        return self.stack.images.get(image) if self.stack is not None else None

    def chain(self, image: str) -> tuple[Path, list[Instruction]] | None:
        """The image's Dockerfile and every instruction of its target stage's FROM chain."""
        spec = self.spec(image)
        if spec is None:
            return None
        if spec.dockerfile not in self.dockerfiles:
            try:
                text = spec.dockerfile.read_text(encoding="utf-8", errors="replace")
                self.dockerfiles[spec.dockerfile] = parse(text)
            except (OSError, ValueError):
                self.dockerfiles[spec.dockerfile] = None
        parsed = self.dockerfiles[spec.dockerfile]
        stage = parsed.target(spec.target) if parsed is not None else None
        if parsed is None or stage is None:
            return None
        instructions = [i for s in parsed.chain(stage, dict(spec.args)) for i in s.instructions]
        return spec.dockerfile, instructions

    def instruction(
        self, image: str, keyword: str, pattern: re.Pattern[str] | None = None
    ) -> Place | None:
        """The last `keyword` instruction of the image's final stage chain (matching `pattern`)."""
        found = self.chain(image)
        if found is None:
            return None
        dockerfile, instructions = found
        for instruction in reversed(instructions):
            if instruction.keyword == keyword and (
                pattern is None or pattern.search(instruction.value)
            ):
                line = instruction.line
                if pattern is not None:  # the continuation line that names it, when there is one
                    root = self.stack.root if self.stack is not None else None
                    line = _line_matching(dockerfile, instruction.line, pattern, root) or line
                return self._node_place(str(dockerfile), line)
        return None

    def requirement(self, dist: str) -> Place | None:
        """The line pinning `dist` in one of the manifest's requirements files."""
        if self.stack is None:
            return None
        want = canonicalize_name(dist)
        for path in self.stack.requirements:
            for number, text in enumerate(read_lines(path, self.stack.root), 1):
                name = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", text)
                if name and canonicalize_name(name.group(1)) == want:
                    return self._node_place(str(path), number)
        return None

    # --- what goes where -------------------------------------------------------------------

    def build(self, image: ImageReport) -> Place:
        """The instruction of the last step the build log shows, else the image's key."""
        steps = [m.group(1) for line in image.build.log if (m := _STEP.match(clean(line).strip()))]
        found = self.chain(image.name)
        if steps and found is not None:
            dockerfile, instructions = found
            wanted = " ".join(steps[-1].split())
            for instruction in reversed(instructions):
                text = " ".join(f"{instruction.keyword} {instruction.value}".split())
                if text.lower() == wanted.lower() or wanted.lower().startswith(text.lower()[:60]):
                    return self._node_place(str(dockerfile), instruction.line)
        return self.key(image.name, "dockerfile") or self.image_place(image.name)

    def check(self, image: str, check: CheckResult) -> Place:
        return self._check(image, check) or self.image_place(image)

    def _check(self, image: str, check: CheckResult) -> Place | None:
        head, _, rest = check.id.partition(".")
        if head == "imports" and rest != "pip_check":
            return self.key(image, "imports", item=rest) or self.key(image, "imports")
        if head == "pins":
            return (self.requirement(rest) if rest != "drift" else None) or self.top_key(
                "requirements"
            )
        if head == "packages":
            kind, _, package = rest.partition(".")
            if kind == "forbid":
                word = re.compile(rf"(?<![\w.+-]){re.escape(package)}(?:-\d[\w.]*)?(?![\w.+-])")
                return self.instruction(image, "RUN", word) or self.key(
                    image, "packages", "forbid", item=package
                )
            return self.key(image, "packages", "require", item=package)
        if head == "user":
            return self.instruction(image, "USER") or self.key(image, "user")
        if head == "healthcheck":
            return self.instruction(image, "HEALTHCHECK") or self.key(image, "healthcheck")
        if head == "ffmpeg":
            kind, _, name = rest.partition(".")
            keys = {"encoder": "encoders", "smoke": "smoke"}
            if kind in keys:
                return self.key(image, "ffmpeg", keys[kind], item=name) or self.key(image, "ffmpeg")
            return self.key(image, "ffmpeg")
        if head == "nvenc":
            name = rest.partition(".")[2]
            return self.key(image, "gpu", "nvenc", item=name) or self.key(image, "gpu")
        if head == "files":
            return self.key(image, "files", item=rest) or self.key(image, "files")
        if head == "size":
            return self.key(image, "budgets", "size_mb") or self.key(image, "budgets")
        if head == "build_time":
            return self.key(image, "budgets", "build_seconds") or self.key(image, "budgets")
        if head == "runtime":
            return self.key(image, "run", "health" if rest == "health" else "command") or self.key(
                image, "run"
            )
        if head == "python":
            return self.key(image, "interpreter") if rest != "version" else self.top_key("python")
        return None


def _line_matching(
    path: Path, start: int, pattern: re.Pattern[str], root: Path | None
) -> int | None:
    """The first line of the instruction starting at `start` (continuations followed) that
    matches `pattern`."""
    lines = read_lines(path, root)
    for number in range(start, len(lines) + 1):
        text = lines[number - 1]
        if pattern.search(text):
            return number
        if not text.rstrip().endswith("\\"):
            return None
    return None


def _layout(path: Path, profile: str | None) -> tuple[dict[str, Node], dict[str, Node]]:
    """The manifest's images (each with what it inherits) and top-level keys, as nodes."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return {}, {}
    problems: list[Problem] = []
    root = compose(text, str(path), problems)
    if root is None or root.kind != "map":
        return {}, {}
    layout = apply(root.entries, profile, str(path), problems)
    return dict(layout.images), layout.top


def _load(path: Path, profile: str | None) -> Manifest | None:
    try:
        return load_manifest(path, profile)
    except (StablebuildError, OSError, ValueError):
        return None


__all__ = ["Failure", "Locator", "failures", "rule_id"]

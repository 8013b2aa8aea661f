"""From merged, shape-checked nodes to the frozen `Manifest`, checking what each value means.

Shape problems were reported by `schema`; here a value of the wrong shape simply reads as
absent. Every meaning problem (missing file, bad module name, root user...) is collected with
the line and key path of the value that caused it.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from stablebuild import config
from stablebuild.atomic import kind_of
from stablebuild.buildargs import arg_problem
from stablebuild.errors import Problem
from stablebuild.manifest import rules
from stablebuild.manifest.model import (
    AuditSpec,
    Budgets,
    EngineSpec,
    FfmpegSpec,
    GpuSpec,
    ImageSpec,
    Manifest,
    PackagesSpec,
    Placement,
    ReleaseSpec,
    RunSpec,
)
from stablebuild.manifest.nodes import Node
from stablebuild.manifest.profiles import Layout
from stablebuild.manifest.release import template_problem
from stablebuild.manifest.schema import (
    FAIL_ON,
    HADOLINT_SEVERITIES,
    PYTHON_MATCHES,
    Choice,
    Command,
    Flag,
    Number,
    Text,
    TextList,
    TextMap,
    TextOrList,
    Whole,
)
from stablebuild.manifest.stack import StackReader
from stablebuild.paths import is_inside, name_problem, shown
from stablebuild.suggest import closest

Rule = Callable[[str], "str | None"]


class ManifestBuilder:
    """Builds one `Manifest`; `problems` holds everything wrong with it."""

    def __init__(self, path: Path, file: str, problems: list[Problem]) -> None:
        self.path = path.resolve()
        self.root = self.path.parent
        self.file = file
        self.problems = problems
        self.secret_args: tuple[str, ...] = ()

    def build(self, layout: Layout, profile: str | None) -> Manifest:
        top = layout.top
        name = Text().read(top.get("name")) or self.root.name
        python, python_source = self._python(top.get("python"))
        python_match = Choice(PYTHON_MATCHES).read(top.get("python_match")) or "minor"
        if python is not None and python_match == "patch":
            self._check(top.get("python_match"), rules.patch_level(python))
        variables = {
            "python": python,
            "python_minor": rules.minor_of(python) if python else None,
            "name": name,
        }
        self.secret_args = self._secret_args(top.get("secret_args"))
        base_names = [n for n in layout.images if n not in layout.new_images]
        images = {}
        for image_name, node in layout.images.items():
            # An image only a profile defines may be a misspelling of a base image.
            known = base_names if image_name in layout.new_images else []
            image = self._image(image_name, node, variables, known)
            if image is not None:
                images[image_name] = image
        return Manifest(
            path=self.path,
            root=self.root,
            name=name,
            python=python,
            python_source=python_source,
            python_match=python_match,
            requirements=tuple(self._files(top.get("requirements"), TextOrList())),
            images=images,
            ca_bundle=self._existing(top.get("ca_bundle"), folder=False),
            audit=self._audit(top.get("audit")),
            profile=profile,
            version=Whole().read(top.get("version")) or 1,
            stack=StackReader(self, layout.images).read(top.get("stack")),
            history=self._history(top.get("history")),
            engines=self._engines(top.get("engines")),
            release=self._release(top.get("release")),
        )

    # -- top level ---------------------------------------------------------------------------

    def _python(self, node: Node | None) -> tuple[str | None, str]:
        """The pin and where it came from: a file such as `.python-version`, or a literal."""
        text = Text().read(node)
        if node is None or text is None:
            return None, ""
        named = self._regular_file(text)
        if named is not None:
            if not is_inside(named, self.root):
                self._report(node, self._outside(text, named))
                return None, ""
            pin_file = str(Path(self.file).parent / text)
            pin = rules.read_pin_file(named)
            if pin.error is not None:
                where = f" (named by `python:` at {self.file}:{node.line})"
                self.problems.append(Problem(pin_file, pin.line, pin.error + where, node.path))
                return None, text
            return pin.version, text
        if rules.python_version(text) is not None:
            self._report(
                node,
                f"{text!r} is neither an existing file (next to the manifest) "
                "nor a Python version (like 3.12 or 3.12.7)",
            )
            return None, ""
        return text, Path(self.file).name

    def _history(self, node: Node | None) -> str | None:
        """`history:` a postgresql:// URL without a password, `off`, or a SQLite file inside
        the stack folder (`sqlite:PATH` or PATH): a manifest never writes elsewhere."""
        text = Text().read(node)
        if node is None or text is None:
            return None
        if text.startswith(("postgresql://", "postgres://")):
            if re.match(r"[a-z]+://[^/@]*:[^/@]*@", text) or "password=" in text.lower():
                self._report(node, "holds a password, which would be committed with the manifest; "
                             "let libpq find it (PGPASSWORD or ~/.pgpass)")  # fmt: skip
        elif text != "off":
            path = text.removeprefix("sqlite:")
            if "://" in text or not path or Path(path).is_absolute() or ".." in Path(path).parts:
                self._report(node, "must be postgresql://USER@HOST:PORT/DB, off, or a SQLite "
                             "file inside the stack folder (sqlite:PATH)")  # fmt: skip
        return text

    def _audit(self, node: Node | None) -> AuditSpec:
        entries = node.entries if node is not None else {}
        default = AuditSpec()
        versions = entries.get("python_versions")
        for text, item in self._texts(versions, TextList()):
            self._check(item, rules.python_version(text))
        for text, item in self._texts(entries.get("platforms"), TextList()):
            self._check(item, rules.platform(text))
        platforms = TextList().read(entries.get("platforms"))
        return AuditSpec(
            exclude=TextList().read(entries.get("exclude")) or (),
            exact_pins=_flag(entries.get("exact_pins"), default.exact_pins),
            platforms=platforms if platforms is not None else default.platforms,
            python_versions=TextList().read(versions) or (),
            vuln_db=self._existing(entries.get("vuln_db"), folder=None),
            hadolint=_flag(entries.get("hadolint"), default.hadolint),
            hadolint_severity=Choice(HADOLINT_SEVERITIES).read(entries.get("hadolint_severity"))
            or default.hadolint_severity,
            **self._adoption(entries),
        )

    def _adoption(self, entries: dict[str, Node]) -> dict[str, Any]:
        """`audit:` rules, fail_on, baseline and index URLs (stablebuild.config merges them)."""
        levels: dict[str, str] = {}
        rules_node = entries.get("rules")
        if rules_node is not None and TextMap().read(rules_node) is not None:
            for rule, value in rules_node.entries.items():
                level = Text().convert(value).lower()
                problem = config.rule_problem(rule.upper()) or config.level_problem(level)
                self._check(value, problem)
                levels[rule.upper()] = level
        urls = []
        for text, item in [
            *self._texts(entries.get("index_url"), TextOrList()),
            *self._texts(entries.get("extra_index_urls"), TextList()),
        ]:
            self._check(item, config.committed_url_problem(text))
            urls.append(text.rstrip("/"))
        index = Text().read(entries.get("index_url"))
        return {
            "rules": tuple(sorted(levels.items())),
            "fail_on": Choice(FAIL_ON).read(entries.get("fail_on")),
            "baseline": self._inside(entries.get("baseline")),
            "index_url": urls[0] if index is not None else None,
            "extra_index_urls": tuple(urls[1:] if index is not None else urls),
        }

    def _inside(self, node: Node | None) -> Path | None:
        """A path inside the manifest's folder that need not exist yet (a file to write)."""
        text = Text().read(node)
        if node is None or text is None:
            return None
        problem = name_problem(text)
        if problem is not None:
            self._report(node, f"{_shown(text)}: {problem}")
            return None
        path = (self.root / text).resolve()
        if not is_inside(path, self.root):
            self._report(node, self._outside(text, path))
            return None
        return path

    # -- images ------------------------------------------------------------------------------

    def _image(
        self,
        name: str,
        node: Node,
        variables: dict[str, str | None],
        known: list[str],
    ) -> ImageSpec | None:
        self._check(node, rules.image_name(name))
        if node.kind != "map":
            return None
        entries = node.entries
        dockerfile = self._existing(entries.get("dockerfile"), folder=False)
        if "dockerfile" not in entries:
            close = closest(name, known)
            hint = f" (is it a misspelling of image {close!r}?)" if close else ""
            self._report(node, f"image {name!r} needs `dockerfile:`{hint}")
        if "context" in entries:
            context = self._existing(entries["context"], folder=True)
        else:
            context = self.root
        target = Text().read(entries.get("target"))
        if target is not None and dockerfile is not None:
            self._check_target(entries["target"], target, dockerfile)
        interpreter = Text().read(entries.get("interpreter")) or "python3"
        self._check(entries.get("interpreter"), rules.interpreter(interpreter))
        user = Text().read(entries.get("user"))
        if user is not None:
            self._check(entries.get("user"), rules.user(user))
        # Read every field before giving up on the image, so all its problems are reported.
        args = self._args(entries.get("args"), variables)
        imports = self._list(entries.get("imports"), rules.module_name)
        ffmpeg = self._ffmpeg(entries.get("ffmpeg"))
        gpu = self._gpu(entries.get("gpu"))
        packages = self._packages(entries.get("packages"))
        budgets = self._budgets(entries.get("budgets"))
        run = self._run(entries.get("run"))
        files = self._list(entries.get("files"), rules.image_path)
        placement = self._placement(entries.get("placement"))
        if dockerfile is None or context is None:
            return None
        return ImageSpec(
            name=name,
            dockerfile=dockerfile,
            context=context,
            target=target,
            args=args,
            interpreter=interpreter,
            imports=imports,
            ffmpeg=ffmpeg,
            gpu=gpu,
            user=user,
            packages=packages,
            healthcheck=_flag(entries.get("healthcheck"), False),
            budgets=budgets,
            run=run,
            files=files,
            secret_args=self.secret_args,
            placement=placement,
        )

    def _placement(self, node: Node | None) -> Placement | None:
        if node is None or node.kind != "map":
            return None
        engine = Text().read(node.entries.get("engine"))
        labels = TextList().read(node.entries.get("labels")) or ()
        if engine is not None and labels:
            self._report(node, "name an engine or labels, not both")
        return Placement(engine=engine, labels=labels)

    def _release(self, node: Node | None) -> ReleaseSpec:
        """`release:` a tag template naming {image} and {channel}, and how many sets to keep."""
        entries = node.entries if node is not None and node.kind == "map" else {}
        default = ReleaseSpec()
        tag, keep = Text().read(entries.get("tag")), Whole().read(entries.get("keep"))
        if tag is not None:
            self._check(entries["tag"], template_problem(tag))
        if keep is not None and not 0 <= keep <= 100:
            self._report(entries["keep"], "must be 0 to 100 (older sets kept after -previous)")
        return ReleaseSpec(
            tag if tag is not None else default.tag, keep if keep is not None else default.keep
        )

    def _engines(self, node: Node | None) -> tuple[EngineSpec, ...]:
        """`engines:` in order; an endpoint must be a URL Docker can reach."""
        if node is None or node.kind != "map":
            return ()
        engines = []
        for name, item in node.entries.items():
            entries = item.entries if item.kind == "map" else {}
            endpoint = Text().read(entries.get("endpoint"))
            if endpoint is not None and not endpoint.startswith(
                ("unix://", "tcp://", "ssh://", "npipe://")
            ):
                self._report(
                    entries["endpoint"],
                    "must be unix:///PATH, tcp://HOST:PORT or ssh://USER@HOST "
                    "(or leave it out to use the Docker context of that name)",
                )
            labels = TextList().read(entries.get("labels")) or ()
            engines.append(EngineSpec(name, endpoint, labels))
        return tuple(engines)

    def _check_target(self, node: Node, target: str, dockerfile: Path) -> None:
        stages = rules.dockerfile_stages(dockerfile)
        if stages is None or target.lower() in (stage.lower() for stage in stages):
            return
        named = f"its stages: {', '.join(stages)}" if stages else "it has no named stages"
        self._report(node, f"no build stage {target!r} in {dockerfile.name} ({named})")

    def _args(self, node: Node | None, variables: dict[str, str | None]) -> dict[str, str]:
        args: dict[str, str] = {}
        if node is None or TextMap().read(node) is None:
            return args
        for key, value_node in node.entries.items():
            value, wrong = rules.substitute(Text().convert(value_node), variables)
            for message in wrong:
                self._report(value_node, message)
            self._check(value_node, arg_problem(key, value))
            args[key] = value
        return args

    def _secret_args(self, node: Node | None) -> tuple[str, ...]:
        """The build arg names `secret_args:` marks, each a name a build arg could have."""
        names = []
        for text, item in self._texts(node, TextList()):
            self._check(item, arg_problem(text, ""))
            names.append(text)
        return tuple(sorted(set(names)))

    def _ffmpeg(self, node: Node | None) -> FfmpegSpec | None:
        if node is None or node.kind != "map":
            return None
        entries = node.entries
        return FfmpegSpec(
            encoders=TextList().read(entries.get("encoders")) or (),
            smoke=TextList().read(entries.get("smoke")) or (),
        )

    def _gpu(self, node: Node | None) -> GpuSpec | None:
        if node is None or node.kind != "map":
            return None
        return GpuSpec(nvenc=self._list(node.entries.get("nvenc"), rules.nvenc_encoder))

    def _packages(self, node: Node | None) -> PackagesSpec:
        entries = node.entries if node is not None else {}
        return PackagesSpec(
            forbid=self._list(entries.get("forbid"), rules.debian_package),
            require=self._list(entries.get("require"), rules.debian_package),
        )

    def _budgets(self, node: Node | None) -> Budgets:
        entries = node.entries if node is not None else {}
        return Budgets(
            size_mb=self._positive(entries.get("size_mb"), "size_mb"),
            build_seconds=self._positive(entries.get("build_seconds"), "build_seconds"),
        )

    def _run(self, node: Node | None) -> RunSpec | None:
        if node is None or node.kind != "map":
            return None
        entries = node.entries
        port = Whole().read(entries.get("port"))
        if port is not None:
            self._check(entries.get("port"), rules.port(port))
        health = Text().read(entries.get("health"))
        if health is not None:
            self._check(entries.get("health"), rules.health_path(health))
            if "port" not in entries:
                self._report(entries["health"], "a health endpoint needs `port:` to reach it on")
        start_seconds = self._positive(entries.get("start_seconds"), "start_seconds")
        if start_seconds is not None:
            limit = rules.MAX_START_SECONDS
            self._check(
                entries.get("start_seconds"), rules.at_most("start_seconds", start_seconds, limit)
            )
        return RunSpec(
            env=TextMap().read(entries.get("env")) or {},
            port=port,
            health=health,
            start_seconds=start_seconds if start_seconds is not None else 60.0,
            command=Command().read(entries.get("command")) or (),
        )

    # -- helpers -----------------------------------------------------------------------------

    def _report(self, node: Node, message: str) -> None:
        self.problems.append(node.problem(message))

    def _check(self, node: Node | None, message: str | None) -> None:
        if node is not None and message is not None:
            self._report(node, message)

    def _texts(self, node: Node | None, kind: TextList) -> Iterator[tuple[str, Node]]:
        """Each string of a list (or a lone string, for `TextOrList`) with its own node."""
        if node is None or kind.read(node) is None:
            return
        for item in node.items if node.kind == "seq" else [node]:
            yield Text().convert(item), item

    def _list(self, node: Node | None, rule: Rule) -> tuple[str, ...]:
        values = []
        for text, item in self._texts(node, TextList()):
            self._check(item, rule(text))
            values.append(text)
        return tuple(values)

    def _positive(self, node: Node | None, what: str) -> float | None:
        number = Number().read(node)
        if node is not None and number is not None:
            self._check(node, rules.positive(what, number))
        return number

    def _files(self, node: Node | None, kind: TextList) -> Iterator[Path]:
        for _text, item in self._texts(node, kind):
            path = self._existing(item, folder=False)
            if path is not None:
                yield path

    def _existing(self, node: Node | None, *, folder: bool | None) -> Path | None:
        """The path `node` names, resolved against the manifest's folder, if it exists there.

        `folder`: True must be a folder, False a regular file, None either. Every path must
        stay inside the manifest's folder, symbolic links followed: a manifest from a pull
        request must not make stablebuild read, build from or show a file elsewhere.
        """
        text = Text().read(node)
        if node is None or text is None:
            return None
        problem = name_problem(text)
        if problem is not None:
            self._report(node, f"{_shown(text)}: {problem}")
            return None
        try:
            path = (self.root / text).resolve()
        except (OSError, RuntimeError) as exc:  # a symbolic link loop
            self._report(node, f"{text!r} cannot be followed: {exc}")
            return None
        if not is_inside(path, self.root):
            self._report(node, self._outside(text, path))
            return None
        try:
            mode = os.stat(path).st_mode
        except FileNotFoundError:
            self._report(node, f"{text!r} does not exist (looked for {shown(path)})")
            return None
        except OSError as exc:
            self._report(node, f"{text!r} cannot be used: {exc.strerror or exc}")
            return None
        is_folder, is_file = stat.S_ISDIR(mode), stat.S_ISREG(mode)
        special = "" if is_folder or is_file else f" (it is {kind_of(mode)})"
        if folder is True and not is_folder:
            self._report(node, f"{text!r} is not a folder{special}")
            return None
        if folder is False and not is_file:
            self._report(node, f"{text!r} is not a file{special}")
            return None
        if folder is None and special:
            self._report(node, f"{text!r} is not a file or folder{special}")
            return None
        return path

    def _regular_file(self, text: str) -> Path | None:
        """`text` resolved against the manifest's folder, when it names a regular file there."""
        if name_problem(text) is not None:
            return None
        try:
            path = (self.root / text).resolve()
            return path if stat.S_ISREG(os.stat(path).st_mode) else None
        except (OSError, RuntimeError):
            return None

    def _outside(self, text: str, path: Path) -> str:
        return (
            f"{text!r} is outside the stack folder {shown(self.root)} (it leads to {shown(path)}); "
            "paths in the manifest must stay inside the manifest's folder"
        )


def _shown(text: str) -> str:
    """A value short enough for one line."""
    return repr(text if len(text) <= 80 else text[:40] + "..." + text[-20:])


def _flag(node: Node | None, default: bool) -> bool:
    value = Flag().read(node)
    return default if value is None else value

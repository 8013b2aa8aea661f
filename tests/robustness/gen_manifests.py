"""Broken manifests, generated from the real ones in this repository.

Two stacks are copied into the case folder: the reference stack (examples/ffmpeg-api) and this
project's own `stablebuild.yml`. Every case is a manifest file written beside one of them, so its
relative paths resolve to real files. Hostile classes come first (each with an exact expected
outcome: a broken manifest is exit 2); random mutations of the real manifests fill up to
MANIFEST_CASES, and those may be valid, so 0 or 2 is accepted, never a traceback or a hang.
The first case of each hostile class also goes through `validate` and `audit` on the CLI.
"""

from __future__ import annotations

import copy
import os
import random
import shutil
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml
from tests.robustness import hostile
from tests.robustness.harness import Case, Watch

MANIFEST_SEED = 14_006
MANIFEST_CASES = 320  # all manifest cases, hostile classes first, random mutations fill up
MANIFEST_TIMEOUT = 10.0  # seconds before a load counts as a hang
MANIFEST_BUDGET = 15.0  # seconds for a MiB-sized manifest (linear pure-Python YAML: ~4-6 s/MiB)
CLI_TIMEOUT = 20.0

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "ffmpeg-api"
SENTINEL = "@@FUZZ@@"
# Where a hostile value goes in the reference manifest: every kind of key the schema has.
POSITIONS: dict[str, tuple[str, ...]] = {
    "unknown-key": ("x-fuzz",),
    "name": ("name",),
    "imports": ("images", "api", "imports"),
    "args": ("images", "api", "args"),
    "run.env": ("images", "api", "run", "env"),
    "run.port": ("images", "api", "run", "port"),
    "run.start_seconds": ("images", "api", "run", "start_seconds"),
    "budgets.size_mb": ("images", "api", "budgets", "size_mb"),
    "healthcheck": ("images", "api", "healthcheck"),
    "defaults": ("defaults",),
    "profile.python": ("profiles", "airgap", "python"),
    "audit.exclude": ("audit", "exclude"),
}
RANDOM_VALUES: tuple[Any, ...] = (
    0,
    -1,
    65536,
    3.5,
    1e308,
    float("inf"),
    float("nan"),
    True,
    None,
    "",
    " ",
    "x" * 300,
    "../../etc/passwd",
    "/dev/zero",
    [],
    {},
    ["a", 1, None],
    {"a": [None, {"b": 1}]},
    "${python}",
    "${nope}",
    "$${x}",
    "a\nb",
    "\t",
    "é",
    "*",
    "-o",
)
HOSTILE_CHARS = (
    ":",
    "- ",
    "[",
    "]",
    "{",
    "}",
    "&a ",
    "*a",
    "!",
    "!!",
    "|",
    ">",
    "%",
    "@",
    "`",
    "#",
    "'",
    '"',
    "\t",
    "\n",
    "\r",
    "\x85",
    "\u2028",
    "\ufeff",
    "\x00",
    "\x1b",
    "<<: ",
    "? ",
    "---\n",
    "...\n",
)


class ManifestCases:
    """Writes the manifests and collects their cases."""

    def __init__(self, root: Path, watch: Watch, env: Mapping[str, str]) -> None:
        self.rng = random.Random(MANIFEST_SEED)
        self.root = root
        self.watch = watch
        self.env = dict(env)
        self.example = root / "example"
        shutil.copytree(EXAMPLE, self.example, ignore=shutil.ignore_patterns("README.md"))
        self.example_data = yaml.safe_load((EXAMPLE / "stablebuild.yml").read_text())
        self.main_data = yaml.safe_load((REPO / "stablebuild.yml").read_text())
        self.main = root / "main"
        for rel in _named_files(self.main_data):
            if (REPO / rel).is_file():
                (self.main / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(REPO / rel, self.main / rel)
        for pattern in (self.main_data.get("audit") or {}).get("exclude") or ():
            (self.main / pattern).mkdir(parents=True, exist_ok=True)
        outside = watch.canary.parent
        (outside / "reqs.txt").write_text("six==1.16.0\n")
        self.cases: list[Case] = []
        self.per_class: dict[str, int] = {}
        self.first: dict[str, Case] = {}
        self.serial = 0

    # -- writing -----------------------------------------------------------------------------

    def add(
        self,
        cls: str,
        content: str | bytes | None,
        expect: tuple[int, ...] = (2,),
        *,
        stack: Path | None = None,
        path: Path | None = None,
        profile: str | None = None,
        budget: float | None = None,
        watch_canary: bool = True,
        preserve: tuple[Mapping[str, Any], ...] = (),
        size: int | None = None,
        parser: str = "manifest",
    ) -> None:
        self.serial += 1
        if path is None:
            path = (stack or self.example) / f"fuzz-{self.serial:04d}.yml"
        if content is not None:
            data = content.encode("utf-8", "surrogatepass") if isinstance(content, str) else content
            path.write_bytes(data)
            size = len(data) if size is None else size
        number = self.per_class.get(cls, 0)
        self.per_class[cls] = number + 1
        case = Case(
            id=f"manifest/{cls}/{number:03d}",
            kind="manifest",
            cls=cls,
            action="load",
            manifest=str(path),
            profile=profile,
            expect=expect,
            # A budgeted case gets time to overrun its budget: "slow" routes better than "hang".
            timeout=MANIFEST_TIMEOUT if budget is None else max(MANIFEST_TIMEOUT, 2 * budget),
            budget=budget,
            watch_canary=watch_canary,
            preserve=preserve,
            parser=parser,
            size=size or 0,
        )
        self.cases.append(case)
        self.first.setdefault(cls, case)

    def example_with(self, position: str, fragment: str) -> str:
        data = copy.deepcopy(self.example_data)
        _set(data, POSITIONS[position], SENTINEL)
        return _dump(data).replace(f"'{SENTINEL}'", fragment)

    # -- hostile classes ---------------------------------------------------------------------

    def hostile(self) -> None:
        for data, stack in ((self.example_data, self.example), (self.main_data, self.main)):
            self.add("baseline", _dump(data), (0,), stack=stack)
        self.add("baseline", (EXAMPLE / "stablebuild.yml").read_text(), (0,))
        self.add("baseline", (REPO / "stablebuild.yml").read_text(), (0,), stack=self.main)
        self.add("baseline", "\ufeff" + _dump(self.example_data), (0, 2))  # a UTF-8 BOM
        self._yaml_structure()
        self._numbers()
        self._types()
        self._paths()
        self._files()
        self._large()

    def _yaml_structure(self) -> None:
        for position in ("unknown-key", "imports", "args", "run.env", "defaults"):
            self.add("alias_bomb", self.example_with(position, hostile.alias_bomb()))
            self.add("alias_bomb", self.example_with(position, hostile.map_bomb()))
        for position in ("imports", "unknown-key"):  # few keys when expanded: may even be valid
            self.add("alias_bomb", self.example_with(position, hostile.merge_bomb()), (2,))
        self.add(
            "alias_bomb",
            self.example_with("run.env", "{<<: *g11}").replace(
                "version: 1", "version: 1\nx-anchors: " + hostile.merge_bomb(), 1
            ),
        )
        for fragment in hostile.SELF_ALIASES:
            for position in self.rng.sample(sorted(POSITIONS), 3):
                self.add("alias_self", self.example_with(position, fragment))
        for tag in hostile.BAD_TAGS:
            for position in ("name", "run.port", "imports"):
                self.add("yaml_tag", self.example_with(position, tag))
        for depth in (100, 1_000, 10_000, 100_000):
            for opener in ("[", "{"):
                position = self.rng.choice(("imports", "unknown-key", "args"))
                text = self.example_with(position, hostile.deep_flow(depth, opener))
                self.add("deep_nesting", text, budget=MANIFEST_BUDGET)
        for depth in (200, 1_000):
            self.add("deep_nesting", _dump(self.example_data) + hostile.deep_block("x-deep", depth))
        base = _dump(self.example_data)
        for _ in range(6):
            at = self.rng.randrange(len(base))
            self.add("nul_byte", base[:at] + "\x00" + base[at:])
        self.add("nul_byte", "\x00" * 64)
        for bad in (b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\xc0\xaf", b"\xe9"):
            data = base.encode()
            at = self.rng.randrange(len(data))
            self.add("invalid_utf8", data[:at] + bad + data[at:])
        self.add("invalid_utf8", base.encode("utf-16"))
        self.add("invalid_utf8", "name: café\n".encode("latin-1") + base.encode())
        for char in ("\x1b", "\x7f", "\x01", "\ud800"):
            at = self.rng.randrange(len(base))
            self.add("control_char", base[:at] + char + base[at:])
        dup = base.replace("images:\n", "images: {}\nimages:\n", 1)
        self.add("duplicate_key", dup)
        self.add("duplicate_key", base.replace("  api:\n", "  api: {}\n  api:\n", 1))
        self.add("duplicate_key", base.replace("    port: 8000\n", "    port: 8000\n" * 2, 1))
        for text in ("", " \n\t\n", "# only a comment\n", "hello\n", "- a\n- b\n", "---\n...\n"):
            self.add("not_a_mapping", text)
        self.add("not_a_mapping", base + "---\nversion: 1\n")
        self.add("unknown_profile", base, profile="nope")
        self.add("unknown_profile", base, profile="")
        self.add("unknown_profile", base, profile="../airgap")

    def _numbers(self) -> None:
        huge = "9" * 5000
        values = {
            "run.port": ["99999999999999999999", huge, "-0", "0x10000", ".inf", ".nan", "1.0e+400"],
            "run.start_seconds": [".inf", "-.inf", ".nan", ".NaN", "1.0e+400", huge, "-5", "0"],
            "budgets.size_mb": [".inf", ".nan", "-1.0e+400", "1.0e-400", huge, "-" + huge],
        }
        for position, texts in values.items():
            for text in texts:
                special = "inf" in text or "nan" in text.lower() or "e+400" in text
                cls = "inf_nan" if special else "huge_number"
                self.add(cls, self.example_with(position, text))
        budget = ("images", "api", "budgets", "build_seconds")
        self.add("inf_nan", _dump(_with(self.example_data, budget, float("inf"))))

    def _types(self) -> None:
        wrong: list[tuple[tuple[str, ...], Any]] = [
            (("version",), "one"),
            (("version",), [1]),
            (("version",), 1.5),
            (("version",), 2),
            (("version",), None),
            (("name",), ["a"]),
            (("name",), {"a": "b"}),
            (("images",), ["api"]),
            (("images",), "api"),
            (("images", "api"), ["x"]),
            (("images", "api"), "x"),
            (("images", "api", "imports"), "fastapi"),
            (("images", "api", "imports"), {"a": "b"}),
            (("images", "api", "args"), ["A=1"]),
            (("images", "api", "run"), ["a"]),
            (("images", "api", "run"), 5),
            (("images", "api", "run", "port"), "8000"),
            (("images", "api", "run", "port"), 8000.5),
            (("images", "api", "run", "port"), True),
            (("images", "api", "run", "command"), {"a": "b"}),
            (("images", "api", "healthcheck"), "yes"),
            (("images", "api", "healthcheck"), 1),
            (("images", "api", "budgets", "size_mb"), "300"),
            (("images", "api", "budgets", "size_mb"), [300]),
            (("images", "api", "packages", "forbid"), "gcc"),
            (("images", "api", "user"), 0),
            (("images", "api", "user"), "root"),
            (("images", "api", "interpreter"), "venv/bin/python"),
            (("python_match",), "major"),
            (("requirements",), {"a": "b"}),
            (("profiles",), ["airgap"]),
            (("profiles", "airgap"), "x"),
            (("audit",), ["x"]),
            (("audit", "exclude"), "tests"),
            (("defaults",), ["x"]),
            (("images", "Bad Name"), {"dockerfile": "docker/api/Dockerfile"}),
        ]
        for path, value in wrong:
            data = copy.deepcopy(self.example_data)
            _set(data, path, value)
            self.add("wrong_type", _dump(data))

    def _paths(self) -> None:
        canary = self.watch.canary
        rel_canary = os.path.relpath(canary, self.example)
        fields = {
            "dockerfile": ("images", "api", "dockerfile"),
            "context": ("images", "api", "context"),
            "requirements": ("requirements",),
            "python": ("python",),
            "ca_bundle": ("ca_bundle",),
            "vuln_db": ("audit", "vuln_db"),
        }
        long_values = ["a" * 256, "a" * 300 + "/Dockerfile", "abc/" * 1100 + "x", "é" * 200]
        for path in fields.values():
            for value in long_values:
                self.add("long_path", _dump(_with(self.example_data, path, value)))
            for value in ("docker/api/Dockerfile\0", "\0", "a\0/../b"):
                self.add("nul_in_path", _dump(_with(self.example_data, path, value)))
        for field in ("interpreter", "files"):
            value: Any = "/opt/venv/bin/python\0" if field == "interpreter" else ["/app\0x"]
            self.add(
                "nul_in_path", _dump(_with(self.example_data, ("images", "api", field), value))
            )
        outside = os.path.relpath(canary.parent / "reqs.txt", self.example)
        for value in ([outside], [str(canary)], [rel_canary], ["docker/../" + rel_canary]):
            self.add("path_outside", _dump(_with(self.example_data, ("requirements",), value)))
        # The pin file may be anywhere; what it says must not be echoed.
        self.add(
            "path_outside",
            _dump(_with(self.example_data, ("python",), str(canary))),
            watch_canary=False,
        )
        for health in (
            "/api v1",
            "/api\tv1",
            "/api\nv1",
            "/api\r\nHost: evil",
            "/ ",
            "/api\x7f",
            "/api?x=a b",
            "/api#frag ment",
            "api/v1",
            "",
        ):
            data = _with(self.example_data, ("images", "api", "run", "health"), health)
            self.add("url_path", _dump(data))

    def _files(self) -> None:
        """The manifest itself is not a regular file: each in a folder of its own."""
        base = _dump(self.example_data)

        def folder(name: str) -> Path:
            place = self.root / name
            shutil.copytree(self.example, place, ignore=shutil.ignore_patterns("fuzz-*"))
            (place / "stablebuild.yml").unlink()
            return place / "stablebuild.yml"

        fifo = folder("fifo-manifest")
        self.add("manifest_node", None, path=fifo, preserve=(hostile.plant_fifo(fifo),))
        for device in ("zero", "urandom"):
            link = folder(f"{device}-link-manifest")
            planted = hostile.plant_symlink(link, f"/dev/{device}")
            self.add("manifest_node", None, path=link, preserve=(planted,))
        if hostile.can_mknod(self.root):
            node = folder("zero-node-manifest")
            self.add(
                "manifest_node", None, path=node, preserve=(hostile.plant_device(node, "zero"),)
            )
        sock = folder("socket-manifest")
        self.add("manifest_node", None, path=sock, preserve=(hostile.plant_socket(sock),))
        directory = folder("dir-manifest")
        directory.mkdir()
        self.add("manifest_node", None, path=directory)
        loop = folder("loop-manifest")
        self.add(
            "manifest_node", None, path=loop, preserve=(hostile.plant_symlink(loop, loop.name),)
        )
        sparse = folder("sparse-manifest")
        hostile.plant_sparse(sparse, 8 * 1024**3)
        self.add(
            "manifest_node",
            None,
            path=sparse,
            size=8 * 1024**3,
            budget=MANIFEST_BUDGET,
            parser="sparse 8 GiB file (to refuse unread)",
        )
        huge = folder("huge-manifest")
        huge.write_text(base + ("# " + "x" * 98 + "\n") * 20_000)  # 2 MiB of comments
        self.add(
            "large",
            None,
            path=huge,
            expect=(0, 2),
            size=huge.stat().st_size,
            budget=MANIFEST_BUDGET,
        )

    def _large(self) -> None:
        words = " ".join(["a"] * 500_000)
        for fragment, expect in (
            ("'echo " + words + "'", (0, 2)),  # a 1 MiB run.command: valid, must be quick
            ("\"'" + words + '"', (2,)),  # an unbalanced quote in it: refused, quickly
        ):
            data = copy.deepcopy(self.example_data)
            _set(data, ("images", "api", "run", "command"), SENTINEL)
            text = _dump(data).replace(f"'{SENTINEL}'", fragment)
            self.add("large", text, expect, budget=MANIFEST_BUDGET)
        data = copy.deepcopy(self.example_data)
        data["images"]["api"]["imports"] = [f"m{i}" for i in range(20_000)]
        self.add("large", _dump(data), (0, 2), budget=MANIFEST_BUDGET)
        data = copy.deepcopy(self.example_data)
        data["images"]["api"]["args"] = {f"A{i}": f"v{i}" for i in range(10_000)}
        self.add("large", _dump(data), (0, 2), budget=MANIFEST_BUDGET)
        data = copy.deepcopy(self.example_data)
        api = data["images"]["api"]
        data["images"] = {f"img{i}": api for i in range(1_000)}
        self.add("large", _dump(data), (0, 2), budget=MANIFEST_BUDGET)

    # -- random mutations --------------------------------------------------------------------

    def random_fill(self) -> None:
        mutations: list[tuple[str, Callable[[], tuple[str, Path, tuple[int, ...]]]]] = [
            ("random_delete", self._random_delete),
            ("random_type_swap", self._random_swap),
            ("random_duplicate_line", self._random_duplicate),
            ("random_text", self._random_text),
        ]
        index = 0
        while len(self.cases) < MANIFEST_CASES:
            cls, mutate = mutations[index % len(mutations)]
            text, stack, expect = mutate()
            self.add(cls, text, expect, stack=stack)
            index += 1

    def _pick(self) -> tuple[dict[str, Any], Path]:
        if self.rng.random() < 0.8:
            return copy.deepcopy(self.example_data), self.example
        return copy.deepcopy(self.main_data), self.main

    def _random_delete(self) -> tuple[str, Path, tuple[int, ...]]:
        data, stack = self._pick()
        for _ in range(self.rng.randint(1, 3)):
            paths = [p for p in _paths(data) if p]
            if not paths:
                break
            path = self.rng.choice(paths)
            parent = _get(data, path[:-1])
            del parent[path[-1]]
        return _dump(data), stack, (0, 2)

    def _random_swap(self) -> tuple[str, Path, tuple[int, ...]]:
        data, stack = self._pick()
        for _ in range(self.rng.randint(1, 2)):
            paths = [p for p in _paths(data) if p]
            path = self.rng.choice(paths)
            _get(data, path[:-1])[path[-1]] = copy.deepcopy(self.rng.choice(RANDOM_VALUES))
        return _dump(data), stack, (0, 2)

    def _random_duplicate(self) -> tuple[str, Path, tuple[int, ...]]:
        data, stack = self._pick()
        lines = _dump(data).splitlines(keepends=True)
        at = self.rng.randrange(len(lines))
        lines.insert(at, lines[at])
        key_line = ":" in lines[at] and not lines[at].lstrip().startswith(("-", "#"))
        return "".join(lines), stack, (2,) if key_line else (0, 2)

    def _random_text(self) -> tuple[str, Path, tuple[int, ...]]:
        data, stack = self._pick()
        text = _dump(data) if self.rng.random() < 0.7 else (stack / "stablebuild.yml").read_text()
        for _ in range(self.rng.randint(1, 4)):
            at = self.rng.randrange(len(text) + 1)
            roll = self.rng.random()
            if roll < 0.5:
                text = text[:at] + self.rng.choice(HOSTILE_CHARS) + text[at:]
            elif roll < 0.75:
                text = text[:at] + text[at + self.rng.randint(1, 40) :]
            else:
                end = min(len(text), at + self.rng.randint(1, 80))
                text = text[:at] + text[at:end] * self.rng.randint(2, 5) + text[end:]
        return text, stack, (0, 2)

    # -- the same manifests through the CLI --------------------------------------------------

    def via_cli(self) -> None:
        """The first case of each class through `validate` and `audit`: the exit codes hold."""
        for cls, case in self.first.items():
            if cls.startswith("random_") or cls == "large":
                continue
            manifest = Path(case.manifest)
            stack = str(manifest.parent)
            loads = 0 in case.expect
            cli_env = {**self.env}
            common = {
                "kind": "manifest",
                "cls": cls,
                "action": "cli",
                "env": cli_env,
                "timeout": CLI_TIMEOUT,
                "preserve": case.preserve,
                "watch_canary": case.watch_canary,
                "parser": "manifest",
                "size": case.size,
            }
            profile = ["--profile", case.profile] if case.profile is not None else []
            self.cases.append(
                Case(
                    id=f"{case.id}-validate",
                    argv=("validate", stack, "--manifest", str(manifest), *profile),
                    expect=(2, 3) if loads else (2,),
                    **common,
                )
            )
            self.cases.append(
                Case(
                    id=f"{case.id}-audit",
                    argv=(
                        "audit",
                        stack,
                        "--manifest",
                        str(manifest),
                        *profile,
                        "--offline",
                        "--no-hadolint",
                        "--format",
                        "json",
                    ),
                    expect=(0, 1, 2) if loads else (2,),
                    json_from="stdout",
                    audit_json=True,
                    **common,
                )
            )


def manifest_cases(root: Path, watch: Watch, env: Mapping[str, str]) -> list[Case]:
    cases = ManifestCases(root, watch, env)
    cases.hostile()
    cases.random_fill()
    cases.via_cli()
    return cases.cases


# -- helpers ------------------------------------------------------------------------------------


def _dump(data: Any) -> str:
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    return yaml.dump(data, Dumper=dumper, sort_keys=False, width=10**9, allow_unicode=True)


def _set(data: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    node = data
    for key in path[:-1]:
        if not isinstance(node.get(key), dict):
            node[key] = {}
        node = node[key]
    node[path[-1]] = value


def _with(data: dict[str, Any], path: tuple[str, ...], value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(data)
    _set(changed, path, value)
    return changed


def _get(data: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        data = data[key]
    return data


def _named_files(data: dict[str, Any]) -> list[str]:
    """The files a manifest names (pins, requirements, Dockerfiles), relative to its folder."""
    names = [data.get("python") or "", data.get("ca_bundle") or ""]
    requirements = data.get("requirements") or []
    names += [requirements] if isinstance(requirements, str) else list(requirements)
    for image in (data.get("images") or {}).values():
        names.append((image or {}).get("dockerfile") or "")
    return [name for name in names if isinstance(name, str) and name]


def _paths(data: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every key path and list index path in `data`."""
    yield prefix
    if isinstance(data, dict):
        for key, value in data.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from _paths(value, (*prefix, index))

"""Generated repositories for `stablebuild audit`: a small real-shaped service, made hostile.

Each case is a fresh folder holding the skeleton below (or a copy of examples/ffmpeg-api) with
one hostile change: a FIFO, a device node or a symlink to /dev/zero where a rule reads a file; a
symlink or a `-r` include reaching the canary outside the folder; YAML with alias cycles, bombs
or deep nesting; a Dockerfile with a 1 MiB RUN line or 10,000 stages; binary files, BOMs, CRLF.
Every audit must finish, exit 0 or 1 (2 for a broken manifest), print valid JSON with no SB000,
name the file it would not read, never show the canary's secret, and leave the planted nodes be.
The remaining cases up to REPO_CASES are random corruptions of the real files.
"""

from __future__ import annotations

import os
import random
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tests.robustness import hostile
from tests.robustness.harness import Case, Watch

REPO_SEED = 14_206
REPO_CASES = 140  # all repository cases, hostile classes first, random corruptions fill up
REPO_TIMEOUT = 10.0  # seconds before an audit counts as a hang (a normal one takes 0.1 s)
LARGE_TIMEOUT = 30.0
LARGE_BUDGET = 15.0  # seconds for a MiB-sized or 10,000-stage input (quadratic takes minutes)
MIB = 1024 * 1024

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "ffmpeg-api"
SKELETON = {
    "Dockerfile": (
        "# syntax=docker/dockerfile:1\n"
        "ARG PYTHON_VERSION=3.11\n"
        "FROM python:${PYTHON_VERSION}-slim AS build\n"
        "WORKDIR /src\n"
        "COPY requirements.txt .\n"
        "RUN pip install --no-cache-dir --prefix=/install -r requirements.txt\n"
        "FROM python:${PYTHON_VERSION}-slim AS runtime\n"
        "COPY --from=build /install /usr/local\n"
        "COPY app ./app\n"
        "USER 1000\n"
        'HEALTHCHECK CMD ["python", "-c", "print(1)"]\n'
        'CMD ["python", "-m", "app"]\n'
    ),
    "requirements.txt": "six==1.16.0\nrequests==2.32.3\n",
    ".python-version": "3.11\n",
    "app/__init__.py": "",
    "app/__main__.py": "print('hello')\n",
    "compose.yml": (
        "services:\n"
        "  api:\n"
        "    build: .\n"
        "    image: app:dev\n"
        "    ports: ['8000:8000']\n"
        "    env_file: .env\n"
    ),
    ".env": "APP_ENV=dev\n",
    ".dockerignore": ".git\n.venv\n",
    ".github/workflows/ci.yml": (
        "name: ci\n"
        "on:\n"
        "  push:\n"
        "    paths: ['app/**']\n"
        "jobs:\n"
        "  test:\n"
        "    runs-on: ubuntu-latest\n"
        "    steps:\n"
        "      - uses: actions/checkout@v4\n"
        "      - uses: actions/setup-python@v5\n"
        "        with: {python-version: '3.11'}\n"
        "      - run: pip install -r requirements.txt\n"
    ),
    ".gitlab-ci.yml": (
        "image: python:3.11\ntest:\n  script:\n    - pip install -r requirements.txt\n"
        "    - python -m app\n"
    ),
    "pyproject.toml": "[project]\nname = 'app'\nversion = '1.0'\nrequires-python = '>=3.11'\n",
}
# Files some rule family reads: where a hostile node does harm.
READ_NAMES = (
    "Dockerfile",
    ".python-version",
    "requirements.txt",
    "compose.yml",
    ".github/workflows/ci.yml",
    ".gitlab-ci.yml",
    "pyproject.toml",
)
YAML_NAMES = ("compose.yml", ".github/workflows/ci.yml", ".gitlab-ci.yml")
FORMATS = ("json", "sarif", "markdown", "table")
# Lines a corruption may splice in, per kind of file.
POOLS = {
    "Dockerfile": (
        "FROM",
        "FROM --platform=$X",
        "COPY --from= . .",
        "RUN \\",
        "ARG A=${A}",
        "ARG B=${B:-${C:-${D}}}",
        "ONBUILD ONBUILD RUN x",
        "# syntax=",
        "HEALTHCHECK CMD",
        "FROM scratch AS",
        "ENV A=1 B",
        "COPY --chown= ../../ /",
        "RUN ['broken",
        "\\",
        "FROM python:3.11 AS build",
        "USER",
    ),
    "requirements": (
        "-r",
        "-r requirements.txt",
        "-c",
        "--hash=sha256:",
        "-e .",
        "pkg @ file:///etc/passwd",
        "pkg[",
        "pkg==1.0; python_version >",
        "\\",
        "--index-url",
        "six===",
        "six==1.16.0 --hash",
        "#",
        "-r /dev/stdin",
        "git+https://example.invalid/x.git#egg=",
    ),
    "yaml": (
        "&a",
        "*a",
        "<<: *a",
        "? [a]: b",
        "!!binary x",
        "\t- x",
        "x: &x [*x]",
        "- [",
        "{",
        "key: |",
        "  <<: [*a, *a]",
        "%YAML 1.1",
        "---",
        "x: !!int abc",
    ),
    "text": ("3.11", "3", "python3.11", "", "\x00", "3.11.7.1", "# 3.12", "pypy3.10"),
}


class RepoCases:
    """Writes the repositories and collects their cases."""

    def __init__(self, root: Path, watch: Watch, env: Mapping[str, str]) -> None:
        self.rng = random.Random(REPO_SEED)
        self.root = root
        self.watch = watch
        self.env = dict(env)
        self.reports = root / "reports"
        self.reports.mkdir()
        self.mknod = hostile.can_mknod(root)
        self.outside = watch.canary.parent
        (self.outside / "Dockerfile").write_text(watch.canary.read_text())
        self.cases: list[Case] = []
        self.per_class: dict[str, int] = {}
        self.serial = 0

    # -- writing -----------------------------------------------------------------------------

    def repo(self, base: str = "skeleton") -> Path:
        self.serial += 1
        place = self.root / f"r{self.serial:03d}"
        if base == "example":
            shutil.copytree(EXAMPLE, place, ignore=shutil.ignore_patterns("README.md"))
        else:
            for name, text in SKELETON.items():
                path = place / name
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text)
        return place

    def add(
        self,
        cls: str,
        repo: Path,
        *,
        expect: tuple[int, ...] = (0, 1),
        must_name: tuple[str, ...] = (),
        preserve: tuple[Mapping[str, Any], ...] = (),
        absent: tuple[str, ...] = (),
        fmt: str = "json",
        hadolint: bool = False,
        budget: float | None = None,
        parser: str = "",
        size: int = 0,
        watch_canary: bool = True,
    ) -> None:
        number = self.per_class.get(cls, 0)
        self.per_class[cls] = number + 1
        argv = ["audit", str(repo), "--offline"]
        argv += [] if hadolint else ["--no-hadolint"]
        argv += ["--format", fmt]
        report = None
        if fmt in ("sarif", "markdown"):
            report = self.reports / f"{repo.name}.{fmt}"
            argv += ["-o", str(report)]
        self.cases.append(
            Case(
                id=f"repo/{cls}/{number:03d}",
                kind="repo",
                cls=cls,
                action="cli",
                argv=tuple(argv),
                env=self.env,
                expect=expect,
                timeout=LARGE_TIMEOUT if budget else REPO_TIMEOUT,
                budget=budget,
                json_from="stdout" if fmt == "json" else (str(report) if fmt == "sarif" else None),
                audit_json=fmt == "json",
                must_name=must_name if fmt == "json" else (),
                preserve=preserve,
                absent=absent,
                reports=(str(report),) if report else (),
                watch_canary=watch_canary,
                parser=parser,
                size=size,
            )
        )

    def fmt(self) -> str:
        return self.rng.choice(FORMATS)

    def replace(self, repo: Path, name: str) -> Path:
        path = repo / name
        if path.exists() or path.is_symlink():
            path.unlink()
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    # -- hostile classes ---------------------------------------------------------------------

    def hostile(self) -> None:
        self.add("baseline", self.repo())
        self.add("baseline", self.repo("example"))
        self.add("baseline", self.repo(), hadolint=True)
        self._nodes()
        self._outside()
        self._yaml()
        self._large()
        self._encodings()
        self._odd_paths()
        self._manifests()

    def _nodes(self) -> None:
        for name in READ_NAMES:
            repo = self.repo()
            planted = hostile.plant_fifo(self.replace(repo, name))
            self.add("fifo_named", repo, must_name=(name,), preserve=(planted,))
        repo = self.repo()
        planted = hostile.plant_fifo(self.replace(repo, "Dockerfile"))
        self.add("fifo_named", repo, must_name=("Dockerfile",), preserve=(planted,), hadolint=True)
        for index, name in enumerate((*READ_NAMES, "Dockerfile", "requirements.txt")):
            device = "zero" if index % 2 == 0 else "urandom"
            repo = self.repo()
            planted = hostile.plant_symlink(self.replace(repo, name), f"/dev/{device}")
            self.add("device_symlink", repo, must_name=(name,), preserve=(planted,))
        if self.mknod:
            for name, device in (
                ("Dockerfile", "zero"),
                ("requirements.txt", "urandom"),
                (".python-version", "zero"),
                ("compose.yml", "null"),
                (".gitlab-ci.yml", "zero"),
            ):
                repo = self.repo()
                planted = hostile.plant_device(self.replace(repo, name), device)
                self.add("device_node", repo, must_name=(name,), preserve=(planted,))
        for name in ("Dockerfile", "requirements.txt", ".python-version"):
            repo = self.repo()
            planted = hostile.plant_socket(self.replace(repo, name))
            self.add("socket_named", repo, must_name=(name,), preserve=(planted,))

    def _outside(self) -> None:
        canary = self.watch.canary
        names = (*READ_NAMES, ".env", "Dockerfile", "requirements.txt")
        for index, name in enumerate(names):
            repo = self.repo()
            path = self.replace(repo, name)
            target = str(canary) if index % 2 == 0 else os.path.relpath(canary, path.parent)
            planted = hostile.plant_symlink(path, target)
            fmt = FORMATS[index % len(FORMATS)]
            self.add("outside_symlink", repo, must_name=(name,), preserve=(planted,), fmt=fmt)
        repo = self.repo()
        planted = hostile.plant_symlink(repo / "docker", str(self.outside))
        self.add("outside_symlink", repo, preserve=(planted,), fmt="sarif")
        repo = self.repo()
        (repo / "deps").mkdir()
        (repo / "deps" / "requirements.txt").write_text("six==1.16.0\n")
        planted = hostile.plant_symlink(
            self.replace(repo, "requirements.txt"), "deps/requirements.txt"
        )
        self.add("inside_symlink", repo, preserve=(planted,))

        relative = os.path.relpath(canary, self.root / "rNNN")
        includes = [
            (f"-r {canary}\nsix==1.16.0\n", canary.name),
            (f"-r {relative}\n", canary.name),
            (f"--requirement={canary}\n", canary.name),
            (f"-c {canary}\nsix==1.16.0\n", canary.name),
            (f"--constraint {relative}\n", canary.name),
            ("-r /dev/zero\n", "/dev/zero"),
            ("-r /dev/stdin\n", "/dev/stdin"),
            ("-r /proc/self/environ\n", "/proc/self/environ"),
        ]
        for index, (text, named) in enumerate(includes):
            repo = self.repo()
            (repo / "requirements.txt").write_text(text)
            fmt = FORMATS[index % len(FORMATS)]
            self.add("include_outside", repo, must_name=(named,), fmt=fmt)
        repo = self.repo()
        (repo / "requirements.txt").write_text("-r sub/inner.txt\n")
        (repo / "sub").mkdir()
        (repo / "sub" / "inner.txt").write_text(f"-r ../{os.path.relpath(canary, repo)}\n")
        self.add("include_outside", repo, must_name=(canary.name,))
        repo = self.repo()
        (repo / "requirements.txt").write_text("-r pipe.txt\nsix==1.16.0\n")
        planted = hostile.plant_fifo(repo / "pipe.txt")
        self.add("include_outside", repo, must_name=("pipe.txt",), preserve=(planted,))
        repo = self.repo()
        rel = os.path.relpath(canary, repo)
        (repo / "Dockerfile").write_text(
            f"FROM python:3.11-slim\nCOPY {rel} /tmp/r.txt\nRUN pip install -r /tmp/r.txt\n"
        )
        self.add("include_outside", repo, fmt="sarif")
        repo = self.repo()
        (repo / "compose.yml").write_text(
            "services:\n  api:\n    build:\n"
            f"      context: {os.path.relpath(self.outside, repo)}\n"
            "      dockerfile: Dockerfile\n"
            f"    env_file: {canary}\n"
        )
        self.add("include_outside", repo)
        repo = self.repo()
        (repo / ".gitlab-ci.yml").write_text(
            f"include:\n  - local: /../{os.path.relpath(canary, repo)}\n  - '{canary}'\n"
            "test:\n  script: [echo]\n"
        )
        self.add("include_outside", repo)
        repo = self.repo()
        (repo / "requirements.txt").write_text(f"pkg @ file://{canary}\n-e file://{self.outside}\n")
        self.add("include_outside", repo)

    def _yaml(self) -> None:
        cycles = {
            "compose.yml": (
                "x-loop: &x [*x]\nservices:\n  api: {build: .}\n",
                "services: &s\n  api: {build: ., extends: *s}\n",
                "services:\n  api: &a\n    build: .\n    <<: *a\n",
            ),
            ".github/workflows/ci.yml": (
                "on: &x [push, *x]\njobs: {}\n",
                "on: push\njobs: &j\n  test: {runs-on: x, steps: [{run: echo}], needs: *j}\n",
                "on: push\njobs:\n  test:\n    runs-on: x\n    steps: &s [{run: echo}, *s]\n",
                "x-loop: &x {a: *x}\non: push\njobs: {}\n",
            ),
            ".gitlab-ci.yml": (
                "x: &x [*x]\ntest: {script: [echo]}\n",
                "test: &t {script: [echo], extends: *t}\n",
                "test: &t\n  <<: *t\n  script: [echo]\n",
                "default: &d {before_script: *d}\n",
            ),
        }
        for name, texts in cycles.items():
            for text in texts:
                repo = self.repo()
                (repo / name).write_text(text)
                self.add("yaml_alias_cycle", repo, parser=_parser(name), size=len(text))
        bombs = {
            "compose.yml": (
                f"x-bomb: {hostile.alias_bomb()}\nservices:\n  api: {{build: .}}\n",
                f"services:\n  api:\n    build: .\n    environment: {hostile.map_bomb()}\n",
                f"services:\n  api:\n    build: .\n    x-m: {hostile.merge_bomb()}\n",
            ),
            ".github/workflows/ci.yml": (
                f"on: push\nenv: {hostile.map_bomb()}\njobs: {{}}\n",
                f"on: push\njobs:\n  test:\n    runs-on: x\n    steps: {hostile.alias_bomb()}\n",
            ),
            ".gitlab-ci.yml": (
                f"variables: {hostile.map_bomb()}\ntest: {{script: [echo]}}\n",
                f"test:\n  script: {hostile.alias_bomb()}\n",
            ),
        }
        for name, texts in bombs.items():
            for text in texts:
                repo = self.repo()
                (repo / name).write_text(text)
                self.add("yaml_alias_bomb", repo, parser=_parser(name), size=len(text))
        for name in YAML_NAMES:
            for depth in (10_000, 100_000):
                repo = self.repo()
                text = f"x-deep: {hostile.deep_flow(depth, self.rng.choice('[{'))}\n"
                (repo / name).write_text(SKELETON[name] + text)
                self.add(
                    "yaml_deep_nesting",
                    repo,
                    budget=LARGE_BUDGET,
                    parser=_parser(name),
                    size=len(text),
                )
        repo = self.repo()
        marker = self.root / f"pwned-{self.serial}"
        (repo / "compose.yml").write_text(
            f"services:\n  api:\n    build: .\n"
            f"    x: !!python/object/apply:os.system ['touch {marker}']\n"
            "    ports: [!!int abc]\n"
        )
        self.add("yaml_tag", repo, absent=(str(marker),))
        repo = self.repo()
        (repo / ".gitlab-ci.yml").write_text(
            ".setup:\n  script: [pip install -r requirements.txt]\n"
            "test:\n  script:\n    - !reference [.setup, script]\n    - python -m app\n"
        )
        self.add("yaml_tag", repo)
        repo = self.repo()
        (repo / ".github/workflows/ci.yml").write_text(
            "on: !!python/name:os.system ''\njobs: !custom {a: 1}\n"
        )
        self.add("yaml_tag", repo)

    def _large(self) -> None:
        def big(cls: str, name: str, text: str, parser: str) -> None:
            repo = self.repo()
            (repo / name).write_text(text)
            self.add(cls, repo, budget=LARGE_BUDGET, parser=parser, size=len(text.encode()))

        head = "FROM python:3.11-slim\n"
        big(
            "dockerfile_long_run", "Dockerfile", head + "RUN echo " + "a" * MIB + "\n", "dockerfile"
        )
        big(
            "dockerfile_long_run",
            "Dockerfile",
            head + "RUN true" + " && echo x" * (MIB // 10) + "\n",
            "dockerfile",
        )
        big(
            "dockerfile_long_run",
            "Dockerfile",
            head + "RUN true \\\n" + "  && echo x \\\n" * (MIB // 14) + "  && true\n",
            "dockerfile",
        )
        packages = " ".join(f"p{i}==1.0" for i in range(MIB // 10))
        big(
            "dockerfile_long_run",
            "Dockerfile",
            head + f"RUN pip install {packages}\n",
            "dockerfile",
        )
        stages = ["FROM python:3.11-slim AS s0\n"]
        stages += [
            f"FROM python:3.11-slim AS s{i}\nCOPY --from=s{i - 1} /a /a\n" for i in range(1, 10_000)
        ]
        big("dockerfile_many_stages", "Dockerfile", "".join(stages), "dockerfile")
        stages = [f"FROM s{i - 1} AS s{i}\n" for i in range(1, 10_000)]
        big(
            "dockerfile_many_stages",
            "Dockerfile",
            head.replace("\n", " AS s0\n") + "".join(stages),
            "dockerfile",
        )
        args = ["ARG A0=x\n"] + [f"ARG A{i}=${{A{i - 1}}}\n" for i in range(1, 10_000)]
        big(
            "dockerfile_many_stages",
            "Dockerfile",
            "".join(args) + "FROM python:${A9999}\n",
            "dockerfile",
        )
        lines = "".join(f"pkg{i}==1.0.{i}\n" for i in range(20_000))
        big("requirements_large", "requirements.txt", lines, "requirements")
        big(
            "requirements_large",
            "requirements.txt",
            "six==1.16.0 " + "\\\n " * (MIB // 3) + "\n",
            "requirements",
        )
        repo = self.repo()
        for i in range(2_000):
            (repo / f"r{i}.txt").write_text(f"-r r{i + 1}.txt\npkg{i}==1.0\n")
        (repo / "requirements.txt").write_text("-r r0.txt\n")
        self.add("requirements_large", repo, budget=LARGE_BUDGET, parser="requirements", size=2_000)
        repo = self.repo()
        (repo / "requirements.txt").write_text("-r requirements.txt\nsix==1.16.0\n")
        self.add("requirements_large", repo)
        services = "".join(
            f"  s{i}:\n    build: {{context: ., dockerfile: Dockerfile}}\n    image: s{i}\n"
            for i in range(10_000)
        )
        big("compose_large", "compose.yml", "services:\n" + services, "compose")
        steps = "".join(f"      - run: python -m app --n {i}\n" for i in range(10_000))
        big(
            "workflow_large",
            ".github/workflows/ci.yml",
            "on: push\njobs:\n  test:\n    runs-on: x\n    steps:\n" + steps,
            "workflow",
        )
        repo = self.repo()
        text = head + "RUN echo " + "a" * (6 * MIB) + "\n"
        (repo / "Dockerfile").write_text(text)
        self.add(
            "big_file",
            repo,
            must_name=("Dockerfile",),
            budget=LARGE_BUDGET,
            parser="dockerfile",
            size=len(text),
        )
        for name in ("requirements.txt", "Dockerfile", ".github/workflows/ci.yml"):
            repo = self.repo()
            hostile.plant_sparse(self.replace(repo, name), 8 * 1024**3)
            self.add(
                "big_file",
                repo,
                must_name=(name,),
                budget=LARGE_BUDGET,
                parser="sparse 8 GiB file (to refuse unread)",
                size=8 * 1024**3,
            )

    def _encodings(self) -> None:
        for name in READ_NAMES:
            repo = self.repo()
            (repo / name).write_bytes(self.rng.randbytes(4096))
            self.add("binary_file", repo, must_name=(name,))
            repo = self.repo()
            noise = bytes(self.rng.randrange(0x80, 0x100) for _ in range(512))
            (repo / name).write_bytes(SKELETON[name].encode() + noise + b"\n")
            self.add("invalid_utf8", repo)
            repo = self.repo()
            (repo / name).write_bytes(b"\xef\xbb\xbf" + SKELETON[name].encode())
            self.add("bom", repo)
        for name in ("Dockerfile", "requirements.txt"):
            repo = self.repo()
            (repo / name).write_bytes(SKELETON[name].encode("utf-16"))
            self.add("bom", repo)
        repo = self.repo()
        for name in READ_NAMES:
            (repo / name).write_bytes(SKELETON[name].replace("\n", "\r\n").encode())
        self.add("crlf", repo)
        repo = self.repo()
        for name in READ_NAMES:
            (repo / name).write_bytes(SKELETON[name].replace("\n", "\r").encode())
        self.add("crlf", repo)

    def _odd_paths(self) -> None:
        repo = self.repo()
        (repo / ("r" * 239 + "requirements.txt")).write_text("six==1.16.0\n")
        self.add("path_limits", repo)
        repo = self.repo()
        hostile.plant_deep_path(repo, 18, "Dockerfile", SKELETON["Dockerfile"])
        self.add("path_limits", repo)
        repo = self.repo()
        planted = hostile.plant_symlink(self.replace(repo, "Dockerfile"), "Dockerfile")
        self.add("symlink_loop", repo, must_name=("Dockerfile",), preserve=(planted,))
        repo = self.repo()
        one = hostile.plant_symlink(
            self.replace(repo, "requirements.txt"), "other-requirements.txt"
        )
        two = hostile.plant_symlink(repo / "other-requirements.txt", "requirements.txt")
        self.add("symlink_loop", repo, must_name=("requirements.txt",), preserve=(one, two))
        repo = self.repo()
        planted = hostile.plant_symlink(repo / "app" / "loop", "..")
        self.add("symlink_loop", repo, preserve=(planted,))
        repo = self.repo()
        self.replace(repo, "Dockerfile").mkdir()
        (repo / "Dockerfile" / "x").write_text("x\n")
        (repo / "requirements").mkdir()
        (repo / "requirements" / "base.txt").mkdir()
        self.add("dir_named", repo)

    def _manifests(self) -> None:
        manifest = (
            "version: 1\nname: app\npython: .python-version\nrequirements: [requirements.txt]\n"
            "images:\n  app: {dockerfile: Dockerfile, target: runtime}\n"
        )
        repo = self.repo()
        (repo / "stablebuild.yml").write_text(manifest)
        self.add("manifest_in_repo", repo)
        repo = self.repo()
        (repo / "stablebuild.yml").write_text(manifest + f"x-bomb: {hostile.alias_bomb()}\n")
        self.add("manifest_in_repo", repo, expect=(2,))
        repo = self.repo()
        (repo / "stablebuild.yml").write_text(
            manifest.replace("[requirements.txt]", f"[{self.watch.canary}]")
        )
        self.add("manifest_in_repo", repo, expect=(2,))
        repo = self.repo()
        planted = hostile.plant_fifo(repo / "stablebuild.yml")
        self.add("manifest_in_repo", repo, expect=(0, 1, 2), preserve=(planted,))
        repo = self.repo()
        planted = hostile.plant_symlink(repo / "stablebuild.yml", str(self.watch.canary))
        self.add("manifest_in_repo", repo, expect=(0, 1, 2), preserve=(planted,))
        repo = self.repo()
        planted = hostile.plant_symlink(repo / "stablebuild.yml", "/dev/zero")
        self.add("manifest_in_repo", repo, expect=(0, 1, 2), preserve=(planted,))

    # -- random corruption -------------------------------------------------------------------

    def random_fill(self) -> None:
        while len(self.cases) < REPO_CASES:
            base = "example" if self.rng.random() < 0.3 else "skeleton"
            repo = self.repo(base)
            files = sorted(
                p for p in repo.rglob("*") if p.is_file() and p.suffix not in (".py", ".sh", ".md")
            )
            for path in self.rng.sample(files, min(len(files), self.rng.randint(1, 3))):
                path.write_bytes(self._corrupt(path))
            # The reference stack has a manifest: a corrupted file it names is a manifest error.
            expect = (0, 1, 2) if base == "example" else (0, 1)
            self.add("random_corruption", repo, expect=expect, fmt=self.fmt())

    def _corrupt(self, path: Path) -> bytes:
        data = path.read_bytes()
        name = path.name
        pool = POOLS["Dockerfile" if "Dockerfile" in name else "text"]
        if name.endswith((".yml", ".yaml")):
            pool = POOLS["yaml"]
        elif name.endswith(".txt"):
            pool = POOLS["requirements"]
        for _ in range(self.rng.randint(1, 4)):
            lines = data.split(b"\n")
            at = self.rng.randrange(len(lines) + 1)
            roll = self.rng.random()
            if roll < 0.45:
                lines.insert(at, self.rng.choice(pool).encode())
            elif roll < 0.6:
                lines[at:at] = lines[at : at + 3] * self.rng.randint(2, 20)
            elif roll < 0.75:
                lines = lines[:at]
            elif roll < 0.9:
                blob = self.rng.randbytes(self.rng.randint(1, 40))
                lines.insert(at, blob)
            else:
                lines = [line[: self.rng.randint(0, len(line))] if line else line for line in lines]
            data = b"\n".join(lines)
        return data


def _parser(name: str) -> str:
    if name.endswith(("compose.yml", "compose.yaml")):
        return "compose"
    if name.endswith(".gitlab-ci.yml"):
        return "gitlab-ci"
    if "workflows" in name:
        return "workflow"
    if "requirements" in name:
        return "requirements"
    if name == ".python-version":
        return "python-version"
    return "dockerfile"


def repo_cases(root: Path, watch: Watch, env: Mapping[str, str]) -> list[Case]:
    cases = RepoCases(root, watch, env)
    cases.hostile()
    cases.random_fill()
    return cases.cases

"""Command lines: random combinations of every option, good and bad values, hostile `-o` targets.

Each option value is tagged good, bad or unsure. Any bad value makes the expected exit code 2;
otherwise `audit` exits 0/1 and `validate`, `clean` and `base bootstrap` stop at 3, since no
engine answers in these cases (no build ever starts). Unsure values (a version string nobody
checks yet) accept either. Bad values include option names given as values (`--profile
--offline`), which must be refused, not swallowed. `-o` targets that are a FIFO, a symlink to
/dev/null, a device node, a folder or sit in a missing folder must be refused before any work
and left exactly as they were; a missing folder must not be created.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.robustness import hostile
from tests.robustness.gen_repos import SKELETON
from tests.robustness.harness import Case, Watch

CLI_SEED = 14_306
CLI_CASES = 120  # random option combinations; the fixed help/usage cases come on top
CLI_TIMEOUT = 20.0
MAX_OPTIONS = 4
BAD_SHARE = 0.3  # how often a chosen option gets a bad (or unsure) value

STACK_MANIFEST = """\
version: 1
name: fuzz
python: .python-version
requirements: [requirements.txt]
images:
  app:
    dockerfile: Dockerfile
    target: runtime
    interpreter: /usr/local/bin/python
    imports: [six]
profiles:
  airgap: {python: "3.11"}
"""
PEM = "-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n"


@dataclass(frozen=True)
class Opt:
    """One option as given, and whether the command must refuse it."""

    args: tuple[str, ...]
    verdict: str  # "good", "bad", "unsure"
    preserve: tuple[Mapping[str, Any], ...] = ()
    absent: tuple[str, ...] = ()
    report: str | None = None  # a report this option asks to be written
    label: str = ""  # how a failure is routed: the option and the kind of value

    def describe(self) -> str:
        if self.label:
            return self.label
        if len(self.args) == 2:
            value = self.args[1].replace("\n", "\\n")
            return f"{self.args[0]} {value[:24]!r}"
        return " ".join(self.args)


class CliCases:
    def __init__(self, root: Path, watch: Watch, env: Mapping[str, str]) -> None:
        self.rng = random.Random(CLI_SEED)
        self.root = root
        self.env = dict(env)
        self.watch = watch
        self.stack = root / "stack"
        for name, text in {**SKELETON, "stablebuild.yml": STACK_MANIFEST, "ca.pem": PEM}.items():
            path = self.stack / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        self.broken = root / "broken" / "stablebuild.yml"
        self.broken.parent.mkdir()
        self.broken.write_text(STACK_MANIFEST + f"x-bomb: {hostile.alias_bomb()}\n")
        self.mknod = hostile.can_mknod(root)
        self.cases: list[Case] = []
        self.per_class: dict[str, int] = {}
        self.serial = 0
        self.here = root

    def folder(self) -> Path:
        self.serial += 1
        self.here = self.root / f"t{self.serial:03d}"
        self.here.mkdir()
        return self.here

    def add(self, cls: str, argv: list[str], expect: tuple[int, ...], **extra: Any) -> None:
        number = self.per_class.get(cls, 0)
        self.per_class[cls] = number + 1
        self.cases.append(
            Case(
                id=f"cli/{cls}/{number:03d}",
                kind="cli",
                cls=cls,
                action="cli",
                argv=tuple(argv),
                env=self.env,
                expect=expect,
                timeout=CLI_TIMEOUT,
                parser="cli",
                size=sum(len(a) for a in argv),
                **extra,
            )
        )

    # -- values ------------------------------------------------------------------------------

    def pick(self, *choices: tuple[str, str]) -> tuple[str, str]:
        """Mostly a good value: one bad value per command line tests more than three do."""
        good = [c for c in choices if c[1] == "good"]
        other = [c for c in choices if c[1] != "good"]
        if good and (not other or self.rng.random() >= BAD_SHARE):
            return self.rng.choice(good)
        return self.rng.choice(other)

    def opt(self, name: str, *choices: tuple[str, str]) -> Opt:
        value, verdict = self.pick(*choices)
        return Opt((name, value), verdict)

    def fifo(self) -> tuple[str, dict[str, Any]]:
        path = self.here / f"fifo-{self.rng.randrange(10**6)}"
        return str(path), hostile.plant_fifo(path)

    def path_opt(self, name: str, good: str | None, option_like: str) -> Opt:
        """An option naming an existing input file: missing, a folder, a FIFO, an option."""
        roll = self.rng.randrange(4)
        if good is not None and self.rng.random() >= BAD_SHARE:
            return Opt((name, good), "good", label=f"{name} file")
        if roll == 0:
            return Opt((name, str(self.here / "no-such-file")), "bad", label=f"{name} missing")
        if roll == 1:
            return Opt((name, str(self.here)), "bad", label=f"{name} folder")
        if roll == 2:
            path, planted = self.fifo()
            return Opt((name, path), "bad", (planted,), label=f"{name} fifo")
        return Opt((name, option_like), "bad")

    def manifest_opt(self, name: str, option_like: str) -> Opt:
        """`--manifest`: the stack's, or missing, a folder, a FIFO, an option, an alias bomb."""
        if self.rng.random() < BAD_SHARE / 3:
            return Opt((name, str(self.broken)), "bad", label="--manifest alias bomb")
        return self.path_opt(name, str(self.stack / "stablebuild.yml"), option_like)

    def target(
        self, suffix: str, option_like: str
    ) -> tuple[str, str, tuple[Any, ...], tuple[str, ...], str]:
        """An output target: (path, verdict, preserve, absent, what kind of target)."""
        kind = self.rng.choice(("new", "existing"))
        if self.rng.random() < 0.5:
            kind = self.rng.choice(("fifo", "null-link", "device", "missing", "folder", "option"))
        here = self.here
        if kind == "new":
            return str(here / f"report{suffix}"), "good", (), (), kind
        if kind == "existing":
            path = here / f"old{suffix}"
            path.write_text("old report\n")
            return str(path), "good", (), (), kind
        if kind == "null-link":
            path = here / f"null{suffix}"
            return str(path), "bad", (hostile.plant_symlink(path, "/dev/null"),), (), kind
        if kind == "device" and self.mknod:
            path = here / f"device{suffix}"
            return str(path), "bad", (hostile.plant_device(path, "null"),), (), kind
        if kind in ("fifo", "device"):
            path = here / f"fifo{suffix}"
            return str(path), "bad", (hostile.plant_fifo(path),), (), "fifo"
        if kind == "missing":
            missing = here / "missing"
            return str(missing / "deeper" / f"r{suffix}"), "bad", (), (str(missing),), kind
        if kind == "folder":
            path = here / f"folder{suffix}"
            path.mkdir()
            (path / "keep").write_text("x\n")
            return str(path), "bad", (hostile.preserve(path),), (), kind
        return option_like, "bad", (), (), f"option-like {option_like}"

    # -- audit -------------------------------------------------------------------------------

    def audit_case(self) -> None:
        self.folder()
        stack = str(self.stack)
        options: list[Callable[[], Opt]] = [
            self._audit_output,
            lambda: self.opt(
                "--fail-on",
                ("error", "good"),
                ("warning", "good"),
                ("never", "good"),
                ("info", "bad"),
                ("", "bad"),
                ("--offline", "bad"),
            ),
            lambda: self.path_opt("--vuln-db", None, "--offline"),
            lambda: self.opt(
                "--python",
                ("3.11", "good"),
                ("3.12", "good"),
                ("abc", "unsure"),
                ("3", "unsure"),
                ("--offline", "bad"),
            ),
            lambda: self.opt(
                "--platform",
                ("manylinux_2_17_x86_64", "good"),
                ("musllinux_1_2_aarch64", "good"),
                ("weird", "unsure"),
                ("--offline", "bad"),
            ),
            lambda: self.opt(
                "--index-url",
                ("https://pypi.org/simple", "good"),
                ("not a url", "unsure"),
                (f"file://{self.watch.canary.parent}", "unsure"),
                ("--offline", "bad"),
            ),
            lambda: self.manifest_opt("--manifest", "--offline"),
            lambda: self.opt(
                "--profile",
                ("airgap", "good"),
                ("nope", "bad"),
                ("", "bad"),
                ("../airgap", "bad"),
                ("--offline", "bad"),
            ),
            lambda: Opt(("--online-vulns",), "good"),
        ]
        directory = self.rng.random()
        if directory < 0.8:
            head = Opt((stack,), "good", label="DIR")
        elif directory < 0.87:
            head = Opt((str(self.here / "missing"),), "bad", label="DIR missing")
        elif directory < 0.94:
            head = Opt((str(self.stack / "requirements.txt"),), "bad", label="DIR a file")
        else:
            path, planted = self.fifo()
            head = Opt((path,), "bad", (planted,), label="DIR fifo")
        chosen = [head, Opt(("--offline",), "good")]
        if self.rng.random() < 0.85:
            chosen.append(Opt(("--no-hadolint",), "good"))
        chosen += self.some(options, self._audit_output)
        if self.rng.random() < 0.7:  # most audits in CI ask for a machine format
            chosen.append(
                self.opt(
                    "--format",
                    ("table", "good"),
                    ("json", "good"),
                    ("json", "good"),
                    ("sarif", "good"),
                    ("markdown", "good"),
                    ("yaml", "bad"),
                    ("JSON", "bad"),
                    ("", "bad"),
                    ("--offline", "bad"),
                )
            )
        self._finish("audit", ["audit"], chosen, ok=(0, 1), unsure=(0, 1, 2))

    def some(self, options: list[Callable[[], Opt]], output: Callable[[], Opt]) -> list[Opt]:
        """A few options; an output target in about half the command lines (the costly bugs
        live there); now and then an unknown option or a stray argument."""
        picked = self.rng.sample(options, self.rng.randint(0, MAX_OPTIONS))
        if output not in picked and self.rng.random() < 0.4:
            picked.append(output)
        chosen = [make() for make in picked]
        if self.rng.random() < 0.05:
            chosen.append(Opt((self.rng.choice(("--bogus", "extra-argument")),), "bad"))
        return chosen

    def _audit_output(self) -> Opt:
        path, verdict, preserve, absent, kind = self.target(".json", "--offline")
        return Opt(("-o", path), verdict, preserve, absent, report=path, label=f"-o {kind}")

    # -- validate ----------------------------------------------------------------------------

    def validate_case(self) -> None:
        self.folder()
        options: list[Callable[[], Opt]] = [
            lambda: self.manifest_opt(self.rng.choice(("--manifest", "-m")), "--quiet"),
            lambda: self.opt(
                "--profile", ("airgap", "good"), ("nope", "bad"), ("", "bad"), ("--quiet", "bad")
            ),
            lambda: self.opt(
                self.rng.choice(("--format", "-f")),
                ("terminal", "good"),
                ("json", "good"),
                ("markdown", "good"),
                ("junit", "good"),
                ("sarif", "unsure"),
                ("yaml", "bad"),
                ("", "bad"),
                ("--quiet", "bad"),
            ),
            self._validate_output,
            self._validate_output,
            lambda: self.opt("-i", ("app", "good"), ("nope", "bad"), ("--quiet", "bad")),
            lambda: self.opt(
                "-j", ("1", "good"), ("4", "good"), ("0", "bad"), ("-1", "bad"), ("abc", "bad")
            ),
            lambda: Opt(
                (self.rng.choice(("--require-gpu", "--keep-images", "--no-cache")),), "good"
            ),
            lambda: Opt((self.rng.choice(("--changed", "-q", "--quiet")),), "good"),
            lambda: self.opt(
                "--build-arg",
                ("A=1", "good"),
                ("PYTHON_VERSION=3.11", "good"),
                ("A", "bad"),
                ("=1", "bad"),
                ("--quiet", "bad"),
                ("A=1\nRUN touch /tmp/injected", "unsure"),
            ),
            lambda: self.opt(
                "--build-timeout",
                ("60", "good"),
                ("1800.5", "good"),
                ("inf", "bad"),
                ("nan", "bad"),
                ("-5", "bad"),
                ("0", "bad"),
                ("1e400", "bad"),
                ("abc", "bad"),
                ("--quiet", "bad"),
            ),
            lambda: self.path_opt("--ca-bundle", str(self.stack / "ca.pem"), "--quiet"),
        ]
        roll = self.rng.random()
        if roll < 0.85:
            head = Opt((str(self.stack),), "good", label="DIR")
        elif roll < 0.93:
            head = Opt((str(self.here / "missing"),), "bad", label="DIR missing")
        else:
            head = Opt((str(self.here),), "bad", label="DIR without a manifest")
        chosen = [head]
        chosen += self.some(options, self._validate_output)
        named = any(o.label.endswith(" file") and o.args[0] in ("-m", "--manifest") for o in chosen)
        if named and head.label == "DIR without a manifest":
            chosen[0] = Opt(head.args, "good", label="DIR")  # the manifest is named: fine
        self._finish("validate", ["validate"], chosen, ok=(3,), unsure=(2, 3))

    def _validate_output(self) -> Opt:
        fmt, suffix = self.rng.choice((("json", ".json"), ("markdown", ".md"), ("junit", ".xml")))
        path, verdict, preserve, absent, kind = self.target(suffix, "--quiet")
        roll = self.rng.random()
        if path == "--quiet":
            value = path
        elif roll < 0.1:
            value, verdict, kind = f"yaml:{path}", "bad", "unknown format yaml:"
        elif roll < 0.2:
            value, verdict, kind = f"{path}.txt", "bad", "format not told (.txt)"
        elif roll < 0.25:
            value, verdict, kind = f"{fmt}:", "bad", "no path after the format"
        elif roll < 0.5:
            value = path if path.endswith(suffix) else f"{fmt}:{path}"
        else:
            value = f"{fmt}:{path}"
        return Opt(("-o", value), verdict, preserve, absent, label=f"-o {kind}")

    # -- clean and base ----------------------------------------------------------------------

    def clean_case(self) -> None:
        self.folder()
        options = [
            lambda: self.opt("--run-id", ("abc123", "good"), ("--prune", "bad")),
            lambda: Opt(("--prune",), "good"),
            lambda: Opt(("--bogus",), "bad"),
        ]
        chosen = [make() for make in self.rng.sample(options, self.rng.randint(0, 2))]
        self._finish("clean", ["clean"], chosen, ok=(3,), unsure=(2, 3))

    def base_case(self) -> None:
        self.folder()
        tag = self.opt(
            "--tag", ("fuzz/base:bookworm", "good"), ("--force", "bad"), ("Bad Tag!", "unsure")
        )
        options = [
            lambda: self.opt(
                "--suite", ("bookworm", "good"), ("--foreign", "bad"), ("../x", "unsure")
            ),
            lambda: self.opt(
                "--mirror",
                ("http://deb.debian.org/debian", "good"),
                ("--foreign", "bad"),
                ("file:///etc", "unsure"),
            ),
            lambda: self.opt(
                "--packages", ("curl,ca-certificates", "good"), ("a,--foreign", "unsure")
            ),
            lambda: self.path_opt("--ca-bundle", str(self.stack / "ca.pem"), "--force"),
            lambda: Opt(("--force",), "good"),
        ]
        missing = Opt((), "bad", label="--tag missing")  # --tag is required
        chosen = [tag] if self.rng.random() < 0.9 else [missing]
        for make in self.rng.sample(options, self.rng.randint(0, 3)):
            chosen.append(make())
        self._finish("base_bootstrap", ["base", "bootstrap"], chosen, ok=(3,), unsure=(2, 3))

    # -- assembling --------------------------------------------------------------------------

    def _finish(
        self,
        cls: str,
        argv: list[str],
        chosen: list[Opt],
        *,
        ok: tuple[int, ...],
        unsure: tuple[int, ...],
    ) -> None:
        verdicts = {opt.verdict for opt in chosen}
        expect = (2,) if "bad" in verdicts else unsure if "unsure" in verdicts else ok
        # The class routes a failure: the first bad value, else the first unsure one.
        first = next((o for o in chosen if o.verdict == "bad"), None)
        first = first or next((o for o in chosen if o.verdict == "unsure"), None)
        routed = f"{cls} [{first.describe() if first else 'valid'}]"
        args = [*argv, *(arg for opt in chosen for arg in opt.args)]
        fmt = next((opt.args[1] for opt in reversed(chosen) if opt.args[:1] == ("--format",)), None)
        report = next((opt.report for opt in chosen if opt.report), None)
        json_from = None
        if cls == "audit" and fmt in ("json", "sarif") and "bad" not in verdicts:
            json_from = report or "stdout"
        self.add(
            routed,
            args,
            expect,
            json_from=json_from,
            audit_json=json_from is not None and fmt == "json",
            preserve=tuple(p for opt in chosen for p in opt.preserve),
            absent=tuple(a for opt in chosen for a in opt.absent),
            reports=(report,) if report else (),
        )

    def fixed(self) -> None:
        for argv in (
            ["-h"],
            ["--help"],
            ["audit", "-h"],
            ["validate", "-h"],
            ["clean", "-h"],
            ["base", "bootstrap", "-h"],
        ):
            self.add("help", argv, (0,), help=True)
        self.add("help", ["--version"], (0,))
        self.add("help", [], (0, 2))
        for argv in (
            ["nosuch"],
            ["audit", "--fail-on"],
            ["validate", "-o"],
            ["validate", str(self.stack), "--build-timeout"],
            ["audit", str(self.stack), "--offline", "--profile", "--no-hadolint"],
            ["base", "bootstrap", "--tag", "fuzz/base:1", "--suite", "--foreign"],
        ):
            self.add("usage", argv, (2,))

    def random(self) -> None:
        makers = [self.audit_case] * 9 + [self.validate_case] * 8 + [self.clean_case]
        makers += [self.base_case] * 2
        for _ in range(CLI_CASES):
            self.rng.choice(makers)()


def cli_cases(root: Path, watch: Watch, env: Mapping[str, str]) -> list[Case]:
    cases = CliCases(root, watch, env)
    cases.fixed()
    cases.random()
    return cases.cases

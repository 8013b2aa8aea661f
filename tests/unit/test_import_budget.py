"""Start-up is the cost of a cached re-validate, or of an audit answered from its memo: what the
program imports, counted in modules.

Each case runs in a fresh interpreter and fails when a forbidden module is imported or the
module count passes its budget (counts, not seconds: they do not depend on the machine's load).
A budget that fails after a deliberate import: move the import into the function that needs it,
or raise the budget here and say why in the commit.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from stablebuild.cli import COMMANDS

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "ffmpeg-api"

# Each of these costs more than a whole cached re-validate: pydantic (Typer's option coercion),
# docker-py and requests (the full engine client), rich's live display and help renderers.
HEAVY = ("pydantic", "pydantic_core", "docker", "requests", "urllib3", "rich.progress")
RICH_HELP = ("rich.markdown", "rich.syntax", "rich.traceback", "rich.pretty")
# Every module that registers a command (`cli.COMMANDS`).
COMMAND_MODULES = tuple(sorted({f"stablebuild.cli.{m}" for m in COMMANDS.values()}))

# NOTE: a remembered answer ends with os._exit (no interpreter teardown); here it raises
# SystemExit instead, so that the modules it loaded can be listed. The same modules load.
_PROGRAM = """
import json, os, runpy, sys
def _exit(code):
    raise SystemExit(code)
os._exit = _exit
sys.argv = ["stablebuild", *sys.argv[1:]]
try:
    runpy.run_module("stablebuild", run_name="__main__")
except SystemExit:
    pass
sys.stdout.write("\\n@@" + json.dumps(sorted(sys.modules)))
"""

_IMPORTS = """
import json, sys
{imports}
sys.stdout.write("\\n@@" + json.dumps(sorted(sys.modules)))
"""


def _modules(code: str, *argv: str) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", code, *argv],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        check=False,
    )
    _, marker, tail = done.stdout.rpartition("\n@@")
    assert marker, f"no module list: {done.stderr[-2000:]}"
    return set(json.loads(tail))


def _forbidden(modules: set[str], names: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if any(m == n or m.startswith(f"{n}.") for n in names))


@pytest.mark.parametrize(
    ("argv", "budget", "forbidden"),
    [
        # NOTE: no command is loaded for these: the root's help lists them from cli.SUMMARIES
        (("--version",), 180, HEAVY + RICH_HELP + COMMAND_MODULES),
        (("--help",), 180, HEAVY + RICH_HELP + ("rich.console", *COMMAND_MODULES)),
        (("validate", "--help"), 400, HEAVY),
        (("audit", "--help"), 400, HEAVY),
        (
            ("audit", str(EXAMPLE), "--format", "json", "--history", "off"),
            360,
            (*HEAVY, *RICH_HELP, "rich.console"),
        ),
    ],
    ids=["version", "help", "validate-help", "audit-help", "audit-json"],
)
def test_the_program_imports_within_budget(
    argv: tuple[str, ...], budget: int, forbidden: tuple[str, ...]
) -> None:
    modules = _modules(_PROGRAM, *argv)
    assert _forbidden(modules, forbidden) == []
    assert len(modules) <= budget, f"{len(modules)} modules imported, budget {budget}"


def test_the_cache_hit_engine_path_is_stdlib_only() -> None:
    """What a cache hit needs from the engine and the cache: no engine client library, no
    rich, no pydantic."""
    imports = "import stablebuild.cache, stablebuild.engine.unixapi"
    modules = _modules(_IMPORTS.format(imports=imports))
    assert _forbidden(modules, (*HEAVY, "rich", "typer", "click")) == []
    assert len(modules) <= 190, f"{len(modules)} modules imported, budget 190"


def test_a_validate_on_a_local_engine_loads_no_engine_client_library() -> None:
    """What a validate of a stack without a `stack:` phase loads before its first engine call:
    its command alone (not audit's, history's or release's), the run, the engine over its unix
    socket. docker-py and requests (~0.3 s) only for tcp://, ssh://, TLS, contexts, pushes.
    The check families (and `packaging`, which they compare versions with) load on a thread
    while the first build runs; the build log's diagnosis only for a failed build."""
    imports = (
        "from stablebuild.cli import load; load(['validate']); "
        "import stablebuild.validate, stablebuild.engine.apiengine, stablebuild.engine.client"
    )
    modules = _modules(_IMPORTS.format(imports=imports))
    assert _forbidden(modules, HEAVY) == []
    assert _forbidden(modules, ("stablebuild.audit.runner", "stablebuild.stack")) == []
    assert _forbidden(modules, ("stablebuild.cli.audit", "stablebuild.cli.history")) == []
    later = ("stablebuild.checks.judging", "stablebuild.checks.imports", "packaging")
    assert _forbidden(modules, (*later, "stablebuild.diagnose")) == []
    assert len(modules) <= 280, f"{len(modules)} modules imported, budget 280"


def test_a_validate_loads_no_dataclasses_thread_pool_or_wheel_tags() -> None:
    """What a validate of one image loads on its way from the fast entry to its report: the
    manifest, the build, the checks, the history's session, the JSON report. `dataclasses`
    compiles ~1.2 ms of methods per class (57 were on this path, `stablebuild.values`); a
    thread pool (concurrent.futures, logging) only for a run of several chains; `packaging`'s
    version alone (its utils load the wheel tags: platform, sysconfig, the ELF readers);
    `importlib.resources` (its readers, zipfile, glob: ~10 ms) for no file the probe's own."""
    imports = "import " + ", ".join(
        (
            "stablebuild.cli.validating",
            "stablebuild.manifest.load",
            "stablebuild.validate",
            "stablebuild.engine.apiengine",
            "stablebuild.engine.containers",
            "stablebuild.facts",
            "stablebuild.probe",
            "stablebuild.checks.judging",
            "stablebuild.history.session",
            "stablebuild.verdict",
            "stablebuild.report.write",
            "stablebuild.report.format.json",
        )
    )
    modules = _modules(_IMPORTS.format(imports=imports))
    heavy = ("dataclasses", "concurrent.futures", "packaging.tags", "packaging.utils")
    heavy += ("importlib.resources", "zipfile")
    assert _forbidden(modules, (*HEAVY, *heavy)) == []


def test_a_well_formed_validate_line_is_read_without_typer(tmp_path: Path) -> None:
    """The program's fast entry reads `validate`'s options itself (cli/fastargs.py): a stack
    folder without a manifest is refused (exit 2) before Typer or click are loaded."""
    modules = _modules(_PROGRAM, "validate", str(tmp_path), "-f", "json", "-q")
    assert _forbidden(modules, (*HEAVY, "typer", "click", "stablebuild.cli.root")) == []
    assert len(modules) <= 310, f"{len(modules)} modules imported, budget 310"


def test_option_parsing_does_not_import_pydantic() -> None:
    """Every kind of value the commands take (Path, str, int, float, a choice, a list) parsed:
    `--jobs 0` is refused by its own check after all of them were coerced."""
    argv = ("validate", str(EXAMPLE), "-f", "json", "-o", "json:r.json", "-i", "api")
    argv += ("--build-timeout", "60", "--profile", "ci", "-j", "0")
    modules = _modules(_PROGRAM, *argv)
    assert _forbidden(modules, HEAVY) == []


# What an audit answered from its memo never loads: the CLI and its option parsing, the
# manifest loader, the settings' merging, the rule families and what they parse with.
AUDIT_MACHINERY = (*HEAVY, "typer", "click", "rich", "packaging", "yaml", "dockerfile_parse")
AUDIT_MACHINERY += ("stablebuild.cli", "stablebuild.manifest", "stablebuild.config.merge")
AUDIT_MACHINERY += ("stablebuild.audit.runner", "stablebuild.audit.catalog")
AUDIT_MACHINERY += ("dataclasses", "inspect")  # stablebuild.values


@pytest.mark.parametrize(
    ("fmt", "budget"),
    [("json", 145), ("sarif", 145), ("codequality", 145), ("github", 145)],
)
def test_an_audit_answered_from_its_memo_imports_within_budget(
    fmt: str, budget: int, tmp_path: Path
) -> None:
    """The reference stack audited twice (its history recorded, as by default): the second
    answer is remembered. SARIF, Code Quality and GitHub texts are kept as they were; JSON is
    rendered again (it says the run's duration)."""
    repo = tmp_path / "ffmpeg-api"
    shutil.copytree(EXAMPLE, repo, ignore=shutil.ignore_patterns(".stablebuild"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STABLEBUILD_", "GITHUB_"))}
    env |= {"XDG_CACHE_HOME": str(tmp_path / "cache"), "XDG_CONFIG_HOME": str(tmp_path / "c")}
    argv = ("audit", str(repo), "--offline", "-f", fmt)
    runs = []
    for _ in range(2):
        done = subprocess.run(
            [sys.executable, "-c", _PROGRAM, *argv],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=tmp_path,
            env=env,
            check=False,
        )
        _, marker, tail = done.stdout.rpartition("\n@@")
        assert marker, f"no module list: {done.stderr[-2000:]}"
        runs.append(set(json.loads(tail)))
    full, hit = runs
    assert "stablebuild.audit.runner" in full  # the first answer is the full command's
    assert _forbidden(hit, AUDIT_MACHINERY) == []
    assert len(hit) <= budget, f"{len(hit)} modules imported, budget {budget}"

"""The fuzz suite's session: the canary outside every case folder, one batch run per kind, and
the figures in the terminal summary (cases, tracebacks, hangs, wrong exit codes, largest inputs).

Each kind (manifests, repositories, command lines) is generated and run once per session, two
kinds at once, in worker processes; the tests then judge the outcomes one case class at a time,
so a failure names the class to route.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest
from tests.robustness.gen_cli import cli_cases
from tests.robustness.gen_manifests import manifest_cases
from tests.robustness.gen_repos import repo_cases
from tests.robustness.harness import (
    FIGURES,
    Case,
    Outcome,
    Watch,
    figures_lines,
    plant_canary,
    run_batch,
)
from tests.robustness.hostile import OFFLINE_ENV


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "robustness: the fuzz suite (generated hostile input, tests/robustness)"
    )


@pytest.fixture(scope="session")
def secret() -> str:
    """What the canaries hold: it must never show up in any output or report."""
    return f"sbcanary{secrets.token_hex(8)}"


@pytest.fixture(scope="session")
def fuzz_env(tmp_path_factory: pytest.TempPathFactory) -> Mapping[str, str]:
    return {**OFFLINE_ENV, "XDG_CACHE_HOME": str(tmp_path_factory.mktemp("fuzz-cache"))}


Generator = Callable[[Path, Watch, Mapping[str, str]], list[Case]]
# Fixture name -> (kind, generator), longest-running first: two run at once, one per core.
KINDS: dict[str, tuple[str, Generator]] = {
    "repo_outcomes": ("repos", repo_cases),
    "manifest_outcomes": ("manifests", manifest_cases),
    "cli_outcomes": ("cli", cli_cases),
}
PARALLEL_BATCHES = 2


@pytest.fixture(scope="session")
def _batches(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    secret: str,
    fuzz_env: Mapping[str, str],
) -> Iterator[dict[str, Future[list[Outcome]]]]:
    """Every kind this session's tests use, generated here and run in the background at once."""
    wanted = [f for f in KINDS if any(f in item.fixturenames for item in request.session.items)]
    pool = ThreadPoolExecutor(max_workers=PARALLEL_BATCHES, thread_name_prefix="fuzz")
    futures = {}
    for fixture in wanted:
        kind, make = KINDS[fixture]
        watch = plant_canary(tmp_path_factory.mktemp(f"outside-{kind}"), secret)
        planted = watch.canary.read_bytes()
        root = tmp_path_factory.mktemp(kind)
        cases = make(root, watch, fuzz_env)
        futures[fixture] = pool.submit(_judged, kind, cases, watch, root, fuzz_env, planted)
    yield futures
    pool.shutdown(wait=True, cancel_futures=True)


def _judged(
    kind: str,
    cases: list[Case],
    watch: Watch,
    root: Path,
    env: Mapping[str, str],
    planted: bytes,
) -> list[Outcome]:
    outcomes = run_batch(kind, cases, watch, root, env)
    assert watch.canary.read_bytes() == planted, f"{kind}: the canary outside was changed"
    return outcomes


@pytest.fixture(scope="session")
def manifest_outcomes(_batches: dict[str, Future[list[Outcome]]]) -> list[Outcome]:
    return _batches["manifest_outcomes"].result()


@pytest.fixture(scope="session")
def repo_outcomes(_batches: dict[str, Future[list[Outcome]]]) -> list[Outcome]:
    return _batches["repo_outcomes"].result()


@pytest.fixture(scope="session")
def cli_outcomes(_batches: dict[str, Future[list[Outcome]]]) -> list[Outcome]:
    return _batches["cli_outcomes"].result()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not FIGURES:
        return
    terminalreporter.section("robustness figures")
    for line in figures_lines():
        terminalreporter.write_line(line)

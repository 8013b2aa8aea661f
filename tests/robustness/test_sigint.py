"""SIGINT at seeded random moments of a real `stablebuild audit` process, from start-up to the
end: exit 130 (or the run's own 0/1 when it had already finished), never a traceback, never a
hang. A real process, as only a real one has a start-up to interrupt.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import pytest
from tests.robustness.harness import FIGURES, Case, Figures, Outcome
from tests.robustness.hostile import OFFLINE_ENV

pytestmark = pytest.mark.robustness

SIGINT_SEED = 14_406
SIGINT_CASES = 6
SIGINT_TIMEOUT = 20.0  # seconds after the signal before the process counts as hung
_RNG = random.Random(SIGINT_SEED)
DELAYS = sorted(_RNG.uniform(0.05, 1.5) for _ in range(SIGINT_CASES))
REPO = Path(__file__).resolve().parents[2]


def _entry() -> list[str]:
    script = Path(sys.executable).with_name("stablebuild")
    return [str(script)] if script.exists() else [sys.executable, "-m", "stablebuild"]


@pytest.fixture(scope="module")
def busy_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The reference stack plus a long lock file: an audit with time to be interrupted in."""
    repo = tmp_path_factory.mktemp("sigint") / "repo"
    shutil.copytree(REPO / "examples" / "ffmpeg-api", repo)
    pins = "".join(f"pkg{i}==1.0.{i}\n" for i in range(20_000))
    (repo / "docker" / "requirements-more.txt").write_text(pins)
    return repo


@pytest.mark.parametrize("delay", DELAYS, ids=[f"{d:.2f}s" for d in DELAYS])
def test_sigint_at_any_moment(
    busy_repo: Path, fuzz_env: Mapping[str, str], tmp_path: Path, delay: float
) -> None:
    argv = [*_entry(), "audit", str(busy_repo), "--offline", "--no-hadolint", "--format", "json"]
    proc = subprocess.Popen(
        argv,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, **OFFLINE_ENV, **fuzz_env},
        start_new_session=True,
    )
    time.sleep(delay)
    proc.send_signal(signal.SIGINT)
    started = time.perf_counter()
    try:
        _, err = proc.communicate(timeout=SIGINT_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        _record(delay, "hang", f"hang: still running {SIGINT_TIMEOUT:g} s after SIGINT")
        pytest.fail(f"SIGINT after {delay:.2f} s: still running {SIGINT_TIMEOUT:g} s later")
    stderr = err.decode(errors="replace")
    symptoms = []
    if "Traceback" in stderr:
        symptoms.append(f"traceback: {stderr.strip().splitlines()[-1][:200]}")
    # -SIGINT with nothing said: killed before Python installed its handler, as a shell's 130.
    killed_early = proc.returncode == -signal.SIGINT and not stderr.strip()
    if proc.returncode not in (130, 0, 1) and not killed_early:
        symptoms.append(f"exit {proc.returncode}, expected 130 (or 0/1 when already done)")
    _record(delay, "failed" if symptoms else "ok", *symptoms, seconds=time.perf_counter() - started)
    assert not symptoms, f"SIGINT after {delay:.2f} s: {'; '.join(symptoms)}\n{stderr[-1500:]}"


def _record(delay: float, status: str, *symptoms: str, seconds: float = 0.0) -> None:
    case = Case(id=f"sigint/{delay:.2f}s", kind="sigint", cls="sigint", action="signal")
    facts = {"seconds": seconds, "traceback": any(s.startswith("traceback") for s in symptoms)}
    FIGURES.setdefault("sigint", Figures()).add(Outcome(case, status, symptoms, facts))

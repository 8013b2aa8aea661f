"""The probe and trial containers really are limited (real engine): the containers read their
own cgroup limits, and a fork bomb in the probe is stopped at the process limit.

Both run on the bootstrapped base image (a shell, nothing else); every container is removed.
"""

from __future__ import annotations

import pytest
from tests.support import SESSION_RUN

from stablebuild.engine import Engine
from stablebuild.engine.client import LABEL_RUN
from stablebuild.engine.containers import (
    PROBE_PIDS,
    TRIAL_PIDS,
    probe_nano_cpus,
    run_locked,
    trial_run,
)

pytestmark = pytest.mark.docker

RUN_ID = f"{SESSION_RUN}-limits"
# cgroup v2 first, then v1's controllers; "<pids.max> <cpu quota> <cpu period>" on one line.
LIMITS = (
    "if [ -f /sys/fs/cgroup/pids.max ]; then "
    'echo "$(cat /sys/fs/cgroup/pids.max) $(cat /sys/fs/cgroup/cpu.max)"; else '
    'echo "$(cat /sys/fs/cgroup/pids/pids.max) $(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us)'
    ' $(cat /sys/fs/cgroup/cpu/cpu.cfs_period_us)"; fi'
)
# More background processes than the limit allows; the shell stops at the first refused fork.
FORK_BOMB = (
    f"i=0; while [ $i -lt {PROBE_PIDS + 100} ]; do sleep 30 & i=$((i+1)); done; echo all-started"
)


def _leftovers(engine: Engine) -> list[str]:
    found = engine.docker.containers(all=True, filters={"label": f"{LABEL_RUN}={RUN_ID}"})
    return [c["Id"] for c in found]


def test_probe_reads_its_process_and_cpu_limits(engine: Engine, base_image: str) -> None:
    result = run_locked(engine, base_image, ["sh", "-c", LIMITS], run_id=RUN_ID, timeout=60)
    assert result.exit_code == 0, result.stderr
    pids, quota, period = result.stdout.split()
    assert int(pids) == PROBE_PIDS
    assert int(quota) / int(period) == probe_nano_cpus(engine) / 1e9
    assert _leftovers(engine) == []


def test_a_fork_bomb_in_the_probe_stops_at_the_limit(engine: Engine, base_image: str) -> None:
    result = run_locked(engine, base_image, ["sh", "-c", FORK_BOMB], run_id=RUN_ID, timeout=120)
    assert not result.timed_out
    assert "all-started" not in result.stdout
    assert result.exit_code != 0 and "fork" in result.stderr.lower(), result.stderr
    assert _leftovers(engine) == []


def test_trial_reads_its_process_limit(engine: Engine, base_image: str) -> None:
    outcome = trial_run(
        engine,
        base_image,
        run_id=RUN_ID,
        env={},
        port=None,
        health_path=None,
        start_seconds=20,
        command=["sh", "-c", LIMITS],
    )
    assert outcome.exit_code == 0
    assert outcome.logs.split()[0] == str(TRIAL_PIDS)
    assert _leftovers(engine) == []

"""Every queue the API routes to is consumed by some worker (the original stack's lost jobs)."""

from __future__ import annotations

import pytest
from app.config import WORKER_TYPES
from app.queues import ACCELERATORS, CPU_QUEUE, GPU_QUEUE, queue_for, queues_consumed
from app.worker import worker_argv


def test_every_routed_queue_is_consumed() -> None:
    consumed = {queue for kind in WORKER_TYPES for queue in queues_consumed(kind)}
    assert {queue_for(acc) for acc in ACCELERATORS} <= consumed


def test_gpu_jobs_go_to_gpu_workers_only() -> None:
    assert queue_for("gpu") == GPU_QUEUE
    assert GPU_QUEUE in queues_consumed("gpu")
    assert GPU_QUEUE not in queues_consumed("cpu")


def test_gpu_worker_also_takes_cpu_jobs() -> None:
    assert queues_consumed("gpu") == (GPU_QUEUE, CPU_QUEUE)


def test_worker_command_line_uses_the_same_names() -> None:
    argv = worker_argv("gpu", 2)
    assert "--queues=gpu,cpu" in argv
    assert "--concurrency=2" in argv
    assert any(arg.startswith("--hostname=gpu@") for arg in argv)


@pytest.mark.parametrize("bad", ["", "GPU", "tpu"])
def test_unknown_names_are_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        queue_for(bad)
    with pytest.raises(ValueError):
        queues_consumed(bad)

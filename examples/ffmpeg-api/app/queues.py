"""Queue names, in one place: the API routes to them and the workers consume them.

A job sent to a queue that no worker consumes waits forever, so both sides derive their queue
names from the functions here rather than from strings of their own.
"""

from __future__ import annotations

CPU_QUEUE = "cpu"
GPU_QUEUE = "gpu"

ACCELERATORS = ("cpu", "gpu")


def queue_for(accelerator: str) -> str:
    """The queue a job asking for `accelerator` is sent to."""
    if accelerator == "gpu":
        return GPU_QUEUE
    if accelerator == "cpu":
        return CPU_QUEUE
    raise ValueError(f"unknown accelerator {accelerator!r}; expected one of {ACCELERATORS}")


def queues_consumed(worker_type: str) -> tuple[str, ...]:
    """The queues a worker of `worker_type` consumes.

    A GPU worker also takes CPU jobs (with software encoders), so CPU jobs never wait for a
    CPU worker when only GPU workers run; GPU jobs go to GPU workers only.
    """
    if worker_type == "gpu":
        return (GPU_QUEUE, CPU_QUEUE)
    if worker_type == "cpu":
        return (CPU_QUEUE,)
    raise ValueError(f"unknown worker type {worker_type!r}")

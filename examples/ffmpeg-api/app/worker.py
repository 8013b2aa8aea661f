"""The worker's entry point: probe encoders, publish them, consume this worker type's queues.

`python -m app.worker` (the image's CMD) builds the Celery command line from WORKER_TYPE, so the
queue names come from `app.queues`, the same module the API routes with.
"""

from __future__ import annotations

import logging
import socket
from typing import Any

from celery.signals import worker_init, worker_shutdown

from . import capabilities
from .celery_app import celery_app
from .config import get_settings
from .db import get_engine, init_db, session_scope
from .queues import queues_consumed

log = logging.getLogger(__name__)


def node_name(worker_type: str, hostname: str | None = None) -> str:
    """This worker's Celery node name; the health check pings exactly this name."""
    return f"{worker_type}@{hostname or socket.gethostname()}"


def worker_argv(worker_type: str, concurrency: int) -> list[str]:
    """The `celery worker` arguments for a worker of `worker_type`."""
    return [
        "worker",
        "--loglevel=INFO",
        f"--queues={','.join(queues_consumed(worker_type))}",
        f"--hostname={node_name(worker_type)}",
        f"--concurrency={concurrency}",
        "--without-gossip",
        "--without-mingle",
    ]


@worker_init.connect
def _on_worker_init(sender: Any = None, **_: Any) -> None:
    """In the main process, before the pool forks: probe once, then publish the results."""
    settings = get_settings()
    settings.ensure_dirs()
    caps = capabilities.current()
    init_db(get_engine())
    get_engine().dispose()  # no connection may cross the fork into the pool's processes
    with session_scope() as session:
        capabilities.publish(session, node_name(settings.worker_type), settings.worker_type, caps)
    selected = caps.selection()
    log.info("encoder selection (codec -> cpu/gpu jobs): %s", selected)


@worker_shutdown.connect
def _on_worker_shutdown(sender: Any = None, **_: Any) -> None:
    try:
        with session_scope() as session:
            capabilities.withdraw(session, node_name(get_settings().worker_type))
    except Exception:  # the database may already be gone at shutdown
        log.exception("could not withdraw this worker's capabilities")


def main() -> None:
    settings = get_settings()
    celery_app.worker_main(worker_argv(settings.worker_type, settings.worker_concurrency))


if __name__ == "__main__":
    main()

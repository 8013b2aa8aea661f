"""The Celery application shared by the API (which sends) and the workers (which consume)."""

from __future__ import annotations

from celery import Celery

from .config import Settings, get_settings
from .queues import CPU_QUEUE


def make_celery(settings: Settings) -> Celery:
    """A Celery app on `settings.broker_url`; job state lives in the database, not in results."""
    app = Celery("ffmpeg_api", broker=settings.broker_url, include=["app.tasks"])
    app.conf.update(
        task_default_queue=CPU_QUEUE,
        task_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        # A transcode is long and idempotent: acknowledge after it ran, fetch one at a time.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=True,
    )
    return app


celery_app = make_celery(get_settings())

"""ffmpeg-api: an HTTP API that queues FFmpeg transcoding jobs for Celery workers.

stablebuild's reference stack. The package has no import-time side effects beyond reading the
environment lazily, so `python -m app.healthcheck` starts fast.
"""

__version__ = "1.0.0"

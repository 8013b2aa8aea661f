"""The images' HEALTHCHECK: `python -m app.healthcheck api|worker`, exit 0 when healthy.

The API check uses only the standard library so it costs a few milliseconds per run; the
worker check asks Celery whether this very node answers a ping through the broker.
"""

from __future__ import annotations

import os
import sys
import urllib.request


def check_api(port: int, timeout_s: float = 4.0) -> bool:
    url = f"http://127.0.0.1:{port}/api/v1/health/live"
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:
            return bool(200 <= response.status < 300)
    except OSError:
        return False


def check_worker(timeout_s: float = 5.0) -> bool:
    from .celery_app import celery_app
    from .config import get_settings
    from .worker import node_name

    node = node_name(get_settings().worker_type)
    replies = celery_app.control.ping(destination=[node], timeout=timeout_s)
    return any(node in reply for reply in replies)


def main(argv: list[str]) -> int:
    role = argv[1] if len(argv) > 1 else "api"
    if role == "api":
        healthy = check_api(int(os.environ.get("PORT", "8000")))
    elif role == "worker":
        healthy = check_worker()
    else:
        print(f"usage: python -m app.healthcheck api|worker (not {role!r})", file=sys.stderr)
        return 2
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))

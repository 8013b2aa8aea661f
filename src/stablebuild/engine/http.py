"""One HTTP request to a port a stack published on the loopback interface, bounded in time and
size. No proxy is consulted: the service is on this host."""

from __future__ import annotations

import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass

MAX_BODY = 1024 * 1024  # an answer a smoke step judges is small JSON
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass(frozen=True)
class HttpAnswer:
    status: int | None  # None: no answer at all (`error` says why)
    body: str = ""
    error: str | None = None
    seconds: float = 0.0


def send(
    method: str,
    url: str,
    *,
    json_body: str | None = None,
    form: Mapping[str, str] | None = None,
    timeout: float = 30.0,
) -> HttpAnswer:
    """Send one request; any status is an answer, a refused or timed-out connection is not."""
    data: bytes | None = None
    headers = {"Accept": "application/json", "User-Agent": "stablebuild"}
    if json_body is not None:
        data = json_body.encode("utf-8")
        headers["Content-Type"] = "application/json"
    elif form:
        data = urllib.parse.urlencode(dict(form)).encode("ascii")
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    started = time.monotonic()
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            body = response.read(MAX_BODY)
            status = int(response.status)
    except urllib.error.HTTPError as exc:
        body = exc.read(MAX_BODY) if exc.fp is not None else b""
        status = exc.code
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return HttpAnswer(None, error=str(reason) or type(exc).__name__,
                          seconds=time.monotonic() - started)  # fmt: skip
    return HttpAnswer(status, body.decode("utf-8", "replace"), seconds=time.monotonic() - started)


__all__ = ["HttpAnswer", "send"]

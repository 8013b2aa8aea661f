"""URLs as users write them, credentials included: split them off, and never show them.

A package index URL may carry `user:password@` (or a lone token as the user). Users paste
passwords with `#`, `/` or `?` in them unencoded, which the standard parser reads as the end of
the host (`nonnumeric port: 's3cr'`, leaking half the secret in the error). `split` takes the
userinfo up to the last `@` of the authority instead, so such a URL works and shows masked.
"""

from __future__ import annotations

import re
import urllib.parse
from dataclasses import dataclass, field

MASK = "***"
# scheme://userinfo@ anywhere in a text: the userinfo may hold anything but spaces (users paste
# `#`, `/` and `?` unencoded), so it runs to the last `@` before the next space.
_USERINFO = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]*://)(?P<userinfo>[^\s@]*@)+")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_HOST = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[^\s/?#@:\[\]]*)(:\d*)?$")


@dataclass(frozen=True)
class Credentials:
    """What a URL's userinfo held; `password` is empty for a token written as the user."""

    user: str = field(repr=False)
    password: str = field(default="", repr=False)

    def secrets(self) -> tuple[str, ...]:
        """The values a text must never show: the password, and a token used as the user."""
        return tuple(v for v in (self.password, self.user if not self.password else "") if v)


def split(url: str) -> tuple[str, Credentials | None]:
    """`url` without its userinfo, and the credentials it held (percent-decoded); None when
    it held none. Never raises: a URL it cannot make sense of comes back as given."""
    match = _SCHEME.match(url)
    if match is None:
        return url, None
    rest = url[match.end() :]
    authority_end = _authority_end(rest)
    authority = rest[:authority_end]
    if "@" not in authority:
        return url, None
    userinfo, _, host = authority.rpartition("@")
    user, colon, password = userinfo.partition(":")
    creds = Credentials(urllib.parse.unquote(user), urllib.parse.unquote(password) if colon else "")
    return match.group(0) + host + rest[authority_end:], creds


def _authority_end(rest: str) -> int:
    """Where the authority (userinfo@host:port) ends. As the standard says, at the first `/`,
    `?` or `#`, when what comes before is a plausible `[userinfo@]host[:port]`. Otherwise a
    password holds one of those, and the authority runs on to an `@` followed by a plausible
    host: the first whose host has a dot, a port or is localhost (a password may hold `@`
    too), else the last."""
    end = _first_delimiter(rest)
    if _HOST.match(rest[:end].rpartition("@")[2]):
        return end
    candidates: list[tuple[int, str]] = []
    at = rest.find("@", end)
    while at >= 0:
        tail = rest[at + 1 :]
        host = tail[: _first_delimiter(tail)]
        if host and _HOST.match(host):
            candidates.append((at + 1 + len(host), host))
        at = rest.find("@", at + 1)
    for stop, host in candidates:
        if "." in host or ":" in host or host.lower() == "localhost":
            return stop
    return candidates[-1][0] if candidates else end


def _first_delimiter(text: str) -> int:
    return next((i for i, char in enumerate(text) if char in "/?#"), len(text))


def without_credentials(url: str) -> str:
    """`url` fit to print: the userinfo left out (`https://host/simple`)."""
    return split(url)[0]


def masked(text: str) -> str:
    """`text` with the userinfo of every URL in it replaced by `***` (`https://***@host/`)."""
    return _USERINFO.sub(lambda m: f"{m.group('scheme')}{MASK}@", text)


def secrets_of(urls: list[str] | tuple[str, ...]) -> frozenset[str]:
    """The secret values the URLs carry, to mask wherever they might appear alone."""
    found: set[str] = set()
    for url in urls:
        creds = split(url)[1]
        if creds is not None:
            found.update(creds.secrets())
    return frozenset(found)


__all__ = ["MASK", "Credentials", "masked", "secrets_of", "split", "without_credentials"]

"""Build args handled safely: values that cannot become instructions, and secret values hidden.

Two rules every layer shares (the manifest, the engine, the audit, the report):

- a build arg's value is one line: no line break or other control character, since some paths
  (the CA-trust Dockerfile) write values into Dockerfile text, where a line break would start
  a new instruction;
- a build arg is secret when its name says so (`GITHUB_TOKEN`, `PIP_INDEX_PASSWORD`,
  `AWS_SECRET_ACCESS_KEY`) or the manifest lists it in `secret_args`; its value is then replaced
  by `***` in every text stablebuild keeps (build logs, errors, reports, the cache).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from stablebuild.values import Frozen

MASK = "***"
# NOTE: shorter values are too common to hunt for in free text ("1", "yes", "dev" would mask
# every such word in a build log); a real credential is longer. They are still masked wherever
# the arg itself is shown by name.
MIN_SECRET_LENGTH = 4

_SEPARATORS = re.compile(r"[^A-Z0-9]+")
# Contained anywhere in the name: PGPASSWORD, DB_PASSWD, CLIENT_SECRET, OPENAI_APIKEY.
_SECRET_WORDS = ("PASSWORD", "PASSWD", "SECRET", "CREDENTIAL", "APIKEY")
# A whole word of the name: DB_PASS, SMTP_PASS, GITHUB_PAT (not PASSTHROUGH, not PATH).
_SECRET_PARTS = frozenset({"PASS", "PAT"})
# The last word says the value *refers to* a secret (POSTGRES_PASSWORD_FILE=/run/secrets/db,
# TOKEN_URL, SSH_KEY_PATH) or describes one; the value itself is not secret.
_REFERENCE = frozenset(
    {"FILE", "PATH", "DIR", "URL", "URI", "ENDPOINT", "HOST", "PORT", "NAME", "VERSION", "TYPE"}
)
# Public halves of key pairs: VAPID_PUBLIC_KEY, SSH_PUB_KEY, STRIPE_PUBLISHABLE_KEY.
_PUBLIC = frozenset({"PUBLIC", "PUB", "PUBLISHABLE"})
# `ENV GPG_KEY <fingerprint>` (the official python images): a key id to verify downloads.
_FINGERPRINT = frozenset({"GPG", "PGP"})
_BAD_NAME = re.compile(r"[\s=\x00-\x1f\x7f]")
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_CONTROL_NAMES = {"\n": "a line break (\\n)", "\r": "a carriage return (\\r)"}
# The password of a URL's user info: PIP_EXTRA_INDEX_URL=https://ci:TOKEN@pypi.example.com/simple
_URL_PASSWORD = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^/\s:@]*:([^/\s@]+)@")


def looks_secret(name: str) -> bool:
    """Whether a build arg (or ENV) named so probably holds a credential.

    Words are split at `_`, `-` and `.`, case-insensitively. Secret: a word ending in TOKEN
    (GITHUB_TOKEN, NPMTOKEN; not TOKENIZERS_PARALLELISM), PASSWORD, PASSWD, SECRET, CREDENTIAL
    or APIKEY anywhere, a word PASS or PAT, or a last word KEY after another (API_KEY,
    AWS_SECRET_ACCESS_KEY). Not secret: names whose last word makes them a reference (FILE,
    PATH, URL, NAME, VERSION...), public halves (PUBLIC_KEY, SSH_PUB_KEY) and GPG_KEY.
    """
    words = [w for w in _SEPARATORS.split(name.upper()) if w]
    if not words or words[-1] in _REFERENCE or _PUBLIC.intersection(words):
        return False
    if any(secret in word for word in words for secret in _SECRET_WORDS):
        return True
    if any(word.endswith(("TOKEN", "TOKENS")) or word in _SECRET_PARTS for word in words):
        return True
    return len(words) > 1 and words[-1] in ("KEY", "KEYS") and words[-2] not in _FINGERPRINT


def arg_problem(name: str, value: str) -> str | None:
    """Why the build arg `name=value` is refused, or None. Never repeats the value."""
    if not name or _BAD_NAME.search(name):
        return f"build arg name {name!r} is empty or holds a space, `=` or a control character"
    bad = _CONTROL.search(value)
    if bad is None:
        return None
    char = bad.group(0)
    what = _CONTROL_NAMES.get(char, f"a control character ({char!r})")
    return (
        f"build arg {name}: its value holds {what} at character {bad.start() + 1}; "
        "a build arg value must be one line (it could otherwise start a new Dockerfile "
        "instruction)"
    )


def secret_names(args: Iterable[str], marked: Iterable[str] = ()) -> frozenset[str]:
    """The names in `args` that are secret: marked ones (any case) and those that look so."""
    marks = {name.casefold() for name in marked}
    return frozenset(name for name in args if name.casefold() in marks or looks_secret(name))


def masked(args: Mapping[str, str], marked: Iterable[str] = ()) -> dict[str, str]:
    """`args` fit to show: each secret value replaced by `***`."""
    hidden = secret_names(args, marked)
    return {name: MASK if name in hidden else value for name, value in args.items()}


class Redactor(Frozen):
    """Replaces the literal values of secret build args with `***` in any text or JSON value.

    NOTE: `values` stays out of repr(), so a Redactor in a traceback or log shows nothing.
    """

    __slots__ = ("_pattern", "values")
    _uncompared = ("_pattern",)
    _unshown = ("values", "_pattern")
    values: frozenset[str]
    _pattern: re.Pattern[str] | None

    def __init__(self, values: frozenset[str] = frozenset()) -> None:
        # Longest first, so a secret that contains another is masked whole.
        ordered = sorted(values, key=lambda v: (-len(v), v))
        pattern = re.compile("|".join(re.escape(v) for v in ordered)) if values else None
        super().__init__(values=values, _pattern=pattern)

    def __bool__(self) -> bool:
        return bool(self.values)

    def text(self, text: str) -> str:
        pattern = self._pattern
        return text if pattern is None else pattern.sub(MASK, text)

    def lines(self, lines: Iterable[str]) -> list[str]:
        return [self.text(line) for line in lines]

    def data(self, value: Any) -> Any:
        """A copy of a JSON-like value (str, list, tuple, dict; keys too) with secrets masked."""
        if self._pattern is None:
            return value
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.data(k): self.data(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return type(value)(self.data(item) for item in value)
        return value


NO_SECRETS = Redactor()


def redactor_for(args: Mapping[str, str], marked: Iterable[str] = ()) -> Redactor:
    """The Redactor hiding the values of the secret args among `args`, and the password of any
    URL an arg holds (an index URL with credentials, whatever the arg is called)."""
    hidden = secret_names(args, marked)
    values = {value for name, value in args.items() if name in hidden}
    values.update(m.group(1) for value in args.values() for m in _URL_PASSWORD.finditer(value))
    return Redactor(frozenset(v for v in values if len(v) >= MIN_SECRET_LENGTH))


__all__ = [
    "MASK",
    "MIN_SECRET_LENGTH",
    "NO_SECRETS",
    "Redactor",
    "arg_problem",
    "looks_secret",
    "masked",
    "redactor_for",
    "secret_names",
]

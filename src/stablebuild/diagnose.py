"""Root cause of a failed image build, recognised in its log: what broke and what to do."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from stablebuild.report.model import Diagnosis

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


@dataclass(frozen=True)
class Cause:
    """One recognisable failure: a pattern on one log line, and how to explain a match."""

    id: str
    pattern: re.Pattern[str]
    summary: Callable[[re.Match[str]], str]
    hint: str
    # Holds for the whole log when the line alone does not decide (e.g. a FROM with a variable).
    context: Callable[[Sequence[str]], bool] | None = None


def _from_uses_variable(lines: Sequence[str]) -> bool:
    return any(re.search(r"\bFROM\s+\S*\$", line, re.IGNORECASE) for line in lines)


def _fixed(text: str) -> Callable[[re.Match[str]], str]:
    return lambda _match: text


ARG_SUMMARY = "the base image reference is invalid: a ${...} variable in FROM expanded to nothing"
ARG_HINT = (
    "declare the ARG before the first FROM (e.g. ARG PYTHON_VERSION=3.12 on line 1) so FROM can "
    "use it, and pass it with --build-arg / `args:`"
)

# Most specific and most "upstream" first: a TLS failure also produces "No matching
# distribution", a full disk makes everything fail, pg_config is why gcc was never reached.
CAUSES: tuple[Cause, ...] = (
    Cause(
        "out-of-disk",
        re.compile(r"no space left on device", re.IGNORECASE),
        _fixed("the build ran out of disk space"),
        "free space on the engine's disk (docker system df; docker builder prune) or move its "
        "data-root to a larger disk",
    ),
    Cause(
        "tls-verification",
        re.compile(
            r"CERTIFICATE_VERIFY_FAILED|certificate verify failed|"
            r"server certificate verification failed|x509: certificate signed by unknown "
            r"authority|SSL certificate problem",
            re.IGNORECASE,
        ),
        _fixed("TLS certificate verification failed inside the build (an intercepting proxy?)"),
        "pass your organisation's CA bundle to the build: --ca-bundle PATH or `ca_bundle:` in "
        "stablebuild.yml",
    ),
    Cause(
        "arg-after-from",
        re.compile(r"failed to parse stage name", re.IGNORECASE),
        _fixed(ARG_SUMMARY),
        ARG_HINT,
    ),
    Cause(
        "arg-after-from",
        re.compile(r"invalid reference format", re.IGNORECASE),
        _fixed(ARG_SUMMARY),
        ARG_HINT,
        context=_from_uses_variable,
    ),
    Cause(
        "pg-config-missing",
        re.compile(r"pg_config executable not found", re.IGNORECASE),
        _fixed(
            "psycopg2 is being built from source (no wheel for this Python/platform) and "
            "pg_config is missing (libpq-dev not installed)"
        ),
        "pin a psycopg2 version that ships a wheel for the image's Python, or use "
        "psycopg2-binary / psycopg[binary]; otherwise install libpq-dev and gcc in a builder "
        "stage and copy the venv into the runtime stage",
    ),
    Cause(
        "pin-unavailable",
        re.compile(
            r"No matching distribution found for (?P<req>\S+)|"
            r"Could not find a version that satisfies the requirement (?P<req2>\S+)",
            re.IGNORECASE,
        ),
        lambda m: (
            f"{m.group('req') or m.group('req2')} is not available for this Python/platform "
            "on the package index"
        ),
        "pick a version published for the image's Python and platform (check the files on "
        "PyPI), or change the image's Python; a private index needs --index-url",
    ),
    Cause(
        "apt-package-missing",
        re.compile(
            r"Unable to locate package (?P<pkg>\S+)|Package '?(?P<pkg2>[^' ]+)'? has no "
            r"installation candidate"
        ),
        lambda m: f"apt cannot find package {m.group('pkg') or m.group('pkg2')}",
        "run apt-get update in the same RUN as apt-get install, and check the package name "
        "exists in this Debian/Ubuntu release (packages.debian.org)",
    ),
    Cause(
        "compiler-missing",
        re.compile(
            r"gcc: (?:command )?not found|unable to execute '?gcc'?|"
            r"command '(?:\S*/)?gcc' failed: No such file|"
            r"error: command '(?:\S*/)?(?:gcc|cc|x86_64-linux-gnu-gcc)' failed",
            re.IGNORECASE,
        ),
        _fixed("a C extension needs a compiler (gcc) and headers the image does not have"),
        "prefer a dependency version with a wheel for the image's Python; else install gcc and the "
        "-dev headers in a builder stage only, and copy the built venv into the runtime stage",
    ),
    Cause(
        "copy-source-missing",
        re.compile(
            r"COPY failed: (?:file not found|stat|forbidden path)|failed to compute cache key|"
            r"failed to calculate checksum of ref",
            re.IGNORECASE,
        ),
        _fixed("a COPY/ADD source is missing from the build context"),
        "check the path is relative to the build context (`context:`) and not excluded by "
        ".dockerignore",
    ),
    Cause(
        "exec-format",
        re.compile(r"exec format error", re.IGNORECASE),
        _fixed("a binary in the build is for another CPU architecture"),
        "use a base image for the engine's platform (--platform / FROM --platform=...) or "
        "register qemu binfmt handlers for cross-building",
    ),
    Cause(
        "oom-killed",
        re.compile(r"returned a non-zero code: 137|exit code: 137|signal: killed", re.IGNORECASE),
        _fixed("a build step was killed (exit 137): out of memory"),
        "give the engine more memory, or build with fewer parallel jobs (--jobs, MAKEFLAGS=-j1, "
        "pip's own compiles)",
    ),
)


def _clean(line: str) -> str:
    return ANSI.sub("", line).strip()


def diagnose_build_log(lines: Sequence[str]) -> Diagnosis | None:
    """The root cause of a failed build, the log line that shows it as evidence; None if unknown."""
    cleaned = [_clean(line) for line in lines]
    for cause in CAUSES:
        if cause.context is not None and not cause.context(cleaned):
            continue
        for line in cleaned:
            match = cause.pattern.search(line)
            if match:
                return Diagnosis(cause.id, cause.summary(match), cause.hint, evidence=line)
    return None

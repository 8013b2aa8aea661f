"""What manifest values must mean: each rule takes a value and returns what is wrong, or None.

Pure functions over strings and paths; the loader attaches file, line and key path.
"""

from __future__ import annotations

import keyword
import re
from pathlib import Path
from typing import NamedTuple

from stablebuild import stages, textfile

MIN_PORT, MAX_PORT = 1, 65535
MAX_START_SECONDS = 3600.0  # a trial container that is not healthy within an hour never will be
# RFC 3986 path and query characters; anything else must be percent-encoded.
URL_PATH_CHAR = re.compile(r"[A-Za-z0-9\-._~!$&'()*+,;=:@/?]|%[0-9A-Fa-f]{2}")
_CONTROL_CHAR = re.compile(r"[\x00-\x1f\x7f]")
ROOT_USERS = {"0", "root"}
VARIABLE = re.compile(r"\$(\$?)\{([^}]*)\}")
# Docker's rule for a repository path component: the image name becomes part of a tag.
IMAGE_NAME = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*")
DEBIAN_PACKAGE = re.compile(r"[a-z0-9][a-z0-9+.-]+")
PIN_FILE_BYTES = 64 * 1024  # a `.python-version` is one line


def module_name(name: str) -> str | None:
    parts = name.split(".")
    if all(part.isidentifier() and not keyword.iskeyword(part) for part in parts):
        return None
    return f"{name!r} is not an importable module name (dotted Python identifiers, e.g. yaml.cyaml)"


def python_version(text: str) -> str | None:
    """A pin every image must match: a valid version with at least major.minor."""
    from packaging.version import InvalidVersion, Version  # NOTE: only for a stack that pins

    try:
        version = Version(text)
    except InvalidVersion:
        return f"{text!r} is not a Python version (like 3.12 or 3.12.7)"
    if len(version.release) < 2:
        return f"{text!r} is too loose a Python version: give at least major.minor, like 3.12"
    return None


def platform(text: str) -> str | None:
    """A platform to cover wheels for: a wheel platform tag or a Docker platform."""
    from stablebuild.audit.platforms import arch_of, parse_platform  # NOTE: only when named

    if parse_platform(text) is not None or arch_of(text) is not None:
        return None
    return (
        f"{text!r} is not a platform: write a wheel platform tag (manylinux_2_28_aarch64, "
        "musllinux_1_2_x86_64) or a Docker platform (linux/arm64)"
    )


def patch_level(text: str) -> str | None:
    """`python_match: patch` needs a version that names a patch level."""
    from packaging.version import InvalidVersion, Version

    try:
        release = Version(text).release
    except InvalidVersion:
        return None  # reported by python_version
    if len(release) < 3:
        return f"python_match: patch needs a full version like {text}.0, not {text!r}"
    return None


def minor_of(text: str) -> str:
    from packaging.version import Version

    release = Version(text).release
    return f"{release[0]}.{release[1]}"


class PinFile(NamedTuple):
    """The version a `.python-version`-style file pins, or what is wrong with it."""

    version: str | None
    line: int | None
    error: str | None


def read_pin_file(path: Path) -> PinFile:
    """First line that is neither blank nor a comment (pyenv's format)."""
    text = textfile.read_text(path, limit=PIN_FILE_BYTES, strict=True)
    if isinstance(text, textfile.Unreadable):
        return PinFile(None, text.line, f"cannot read {path.name}: {text.reason}")
    for number, raw in enumerate(text.splitlines(), start=1):
        text = raw.split("#", 1)[0].strip()
        if text:
            return PinFile(text, number, python_version(text))
    return PinFile(None, None, f"{path.name} names no Python version")


def user(name: str) -> str | None:
    if name.split(":", 1)[0] in ROOT_USERS:
        return f"user {name!r} is root, which is what the user check forbids; name a non-root user"
    return None


def port(number: int) -> str | None:
    if MIN_PORT <= number <= MAX_PORT:
        return None
    return f"port {number} is out of range ({MIN_PORT}-{MAX_PORT})"


def nvenc_encoder(name: str) -> str | None:
    if name.endswith("_nvenc"):
        return None
    return f"{name!r} is not an NVENC encoder (those end in _nvenc, e.g. h264_nvenc)"


def positive(what: str, number: float) -> str | None:
    return None if number > 0 else f"{what} must be more than 0, not {number:g}"


def at_most(what: str, number: float, limit: float) -> str | None:
    return None if number <= limit else f"{what} must be at most {limit:g}, not {number:g}"


def image_name(name: str) -> str | None:
    if IMAGE_NAME.fullmatch(name):
        return None
    return (
        f"image name {name!r} cannot be part of a Docker tag: "
        "use lowercase letters, digits and . _ -"
    )


def debian_package(name: str) -> str | None:
    if DEBIAN_PACKAGE.fullmatch(name):
        return None
    return f"{name!r} is not a Debian package name"


def interpreter(text: str) -> str | None:
    if _CONTROL_CHAR.search(text):
        return f"interpreter {text!r} contains a control character (a NUL, a line break...)"
    if "/" not in text or text.startswith("/"):
        return None
    return f"interpreter {text!r} must be an absolute path or a name on PATH"


def image_path(text: str) -> str | None:
    """A path inside the image: absolute, and something Linux can name (no NUL, no controls)."""
    if _CONTROL_CHAR.search(text):
        return f"{text!r} contains a control character (a NUL, a line break...)"
    return None if text.startswith("/") else f"{text!r} must be an absolute path in the image"


def health_path(text: str) -> str | None:
    """An HTTP path (and query) as sent on the wire: starts with /, no spaces or controls."""
    if not text.startswith("/"):
        return f"health path {text!r} must start with /"
    at = 0
    while at < len(text):
        match = URL_PATH_CHAR.match(text, at)
        if match is None:
            bad = text[at]
            what = "a % not followed by two hex digits" if bad == "%" else repr(bad)
            return (
                f"health path {text!r} is not a URL path: {what} at position {at + 1} "
                "must be percent-encoded (a space is %20)"
            )
        at = match.end()
    return None


def substitute(text: str, variables: dict[str, str | None]) -> tuple[str, list[str]]:
    """Replace `${name}` by its value; `$${x}` stays a literal `${x}`.

    Returns the text and the problems: unknown names, and known ones with no value.
    """
    problems: list[str] = []

    def one(match: re.Match[str]) -> str:
        escaped, name = match.group(1), match.group(2)
        if escaped:
            return "${" + name + "}"
        if name not in variables:
            known = ", ".join(f"${{{known}}}" for known in variables)
            problems.append(f"unknown variable ${{{name}}}; args may use {known}")
            return match.group(0)
        value = variables[name]
        if value is None:
            problems.append(f"${{{name}}} needs a valid `python:` at the top level")
            return match.group(0)
        return value

    return VARIABLE.sub(one, text), problems


def dockerfile_stages(path: Path) -> list[str] | None:
    """Names of the `FROM ... AS name` stages (lower case, as Docker compares them), or None
    when the file cannot be read. Parsed as the audit parses it: a regex over the text took
    quadratic time on a Dockerfile of blank lines."""
    text = textfile.read_text(path)
    if isinstance(text, textfile.Unreadable):
        return None
    return [stage.name for stage in stages.parse(text).stages if stage.name]

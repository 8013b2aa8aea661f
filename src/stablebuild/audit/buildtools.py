"""Which build tools (compilers, -dev headers) RUN instructions leave installed in a stage.

Reads apt-get/apt, apk and yum/dnf/microdnf install and removal commands; packages purged later
(in the same RUN or a later one, `apk del` of a `--virtual` group included) do not count.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable

from stablebuild import shellwords
from stablebuild.stages import Instruction

COMPILERS = frozenset(
    [
        "gcc",
        "g++",
        "cc",
        "c++",
        "clang",
        "cpp",
        "make",
        "cmake",
        "ninja-build",
        "build-essential",
        "build-base",
        "musl-dev",
        "linux-headers",
        "autoconf",
        "automake",
        "libtool",
        "gfortran",
        "rustc",
        "cargo",
    ]
)
_VERSIONED = re.compile(r"^(gcc|g\+\+|clang|cpp)-\d+(\.\d+)*$")
_SPLIT = re.compile(r"&&|\|\||;|\||\n")
_INSTALLERS = {
    "apt-get": ({"install"}, {"purge", "remove", "autoremove"}),
    "apt": ({"install"}, {"purge", "remove", "autoremove"}),
    "aptitude": ({"install"}, {"purge", "remove"}),
    "apk": ({"add"}, {"del"}),
    "yum": ({"install"}, {"remove", "erase"}),
    "dnf": ({"install"}, {"remove", "erase"}),
    "microdnf": ({"install"}, {"remove"}),
}
_OPTIONS_WITH_VALUE = {"-o", "-t", "-c", "--target-release", "--virtual", "--repository", "-X"}


def is_build_tool(package: str) -> bool:
    name = re.split(r"[=<>~]", package, maxsplit=1)[0].split(":")[0]
    return (
        name in COMPILERS
        or bool(_VERSIONED.match(name))
        or name.endswith(("-dev", "-devel", "-headers"))
    )


def _commands(run_value: str) -> Iterable[list[str]]:
    text = run_value.strip()
    if text.startswith("["):
        try:
            data = json.loads(text)
            text = " ".join(str(x) for x in data)
        except ValueError:
            pass
    for part in _SPLIT.split(text):
        try:
            words = shellwords.split(part)
        except ValueError:
            words = part.split()
        while words and (("=" in words[0] and not words[0].startswith("-")) or words[0] == "sudo"):
            words.pop(0)  # VAR=value prefixes, sudo
        if words:
            yield words


def _operands(words: list[str]) -> tuple[str | None, list[str], str | None]:
    """(subcommand, package operands, apk --virtual name) of one installer command."""
    sub: str | None = None
    packages: list[str] = []
    virtual: str | None = None
    i = 1
    while i < len(words):
        word = words[i]
        if word in _OPTIONS_WITH_VALUE:
            if word in ("--virtual", "-t") and words[0] == "apk" and i + 1 < len(words):
                virtual = words[i + 1]
            i += 2
            continue
        if word.startswith("--virtual="):
            virtual = word.split("=", 1)[1]
        elif not word.startswith("-"):
            if sub is None:
                sub = word
            elif not word.startswith("$"):
                packages.append(word)
        i += 1
    return sub, packages, virtual


def commands(run_value: str) -> list[list[str]]:
    """The words of each simple command of a RUN value (`VAR=x` and `sudo` prefixes removed)."""
    return list(_commands(run_value))


def installs(run_value: str) -> list[tuple[str, list[str]]]:
    """(package manager, package operands) for each install command of a RUN value."""
    out = []
    for words in _commands(run_value):
        tool = words[0].rsplit("/", 1)[-1]
        if tool in _INSTALLERS:
            sub, packages, _ = _operands(words)
            if sub in _INSTALLERS[tool][0]:
                out.append((tool, packages))
    return out


def build_tools(runs: Iterable[Instruction]) -> list[tuple[int, list[str]]]:
    """(line, packages) for each RUN whose build tools are still installed at the end."""
    installed: dict[str, int] = {}  # package -> line
    groups: dict[str, list[str]] = {}  # apk --virtual name -> packages
    for ins in runs:
        for words in _commands(ins.value):
            tool = words[0].rsplit("/", 1)[-1]
            if tool not in _INSTALLERS:
                continue
            install, remove = _INSTALLERS[tool]
            sub, packages, virtual = _operands(words)
            if sub in install:
                tools = [p for p in packages if is_build_tool(p)]
                for package in tools:
                    installed[re.split(r"[=<>~]", package, maxsplit=1)[0]] = ins.line
                if virtual:
                    groups[virtual] = [re.split(r"[=<>~]", p, maxsplit=1)[0] for p in packages]
            elif sub in remove:
                for package in packages:
                    for name in groups.pop(package, [package]):
                        installed.pop(name, None)
    by_line: dict[int, list[str]] = {}
    for package, line in installed.items():
        by_line.setdefault(line, []).append(package)
    return sorted(by_line.items())


__all__ = ["COMPILERS", "build_tools", "commands", "installs", "is_build_tool"]

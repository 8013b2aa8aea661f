"""Which Python an image runs when its base is not the official `python:` image.

Read from what the Dockerfile says, never guessed from the image's name alone: a tag naming a
Python (`uv:python3.12-bookworm`, `ubi9/python-311`), packages a RUN installs (`python3.11`,
`python311`), `uv python install`, `pyenv install`, `conda ... python=3.11`, `ENV UV_PYTHON=`,
and, weakest, the distribution's own `python3` when the base names its release
(`debian:bookworm` ships 3.11, `nvidia/cuda:...-ubuntu22.04` ships 3.10).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from stablebuild.audit import buildtools
from stablebuild.stages import Instruction, parse_assignments, split_words

# The `python3` each release installs (its default interpreter), by distribution and release.
DISTRO_PYTHON: dict[tuple[str, str], str] = {
    ("debian", "buster"): "3.7",
    ("debian", "bullseye"): "3.9",
    ("debian", "bookworm"): "3.11",
    ("debian", "trixie"): "3.13",
    ("ubuntu", "18.04"): "3.6",
    ("ubuntu", "20.04"): "3.8",
    ("ubuntu", "22.04"): "3.10",
    ("ubuntu", "24.04"): "3.12",
    ("ubuntu", "24.10"): "3.12",
    ("ubuntu", "25.04"): "3.13",
    ("alpine", "3.16"): "3.10",
    ("alpine", "3.17"): "3.10",
    ("alpine", "3.18"): "3.11",
    ("alpine", "3.19"): "3.11",
    ("alpine", "3.20"): "3.12",
    ("alpine", "3.21"): "3.12",
    ("alpine", "3.22"): "3.12",
}
_DEBIAN = {"10": "buster", "11": "bullseye", "12": "bookworm", "13": "trixie"}
_UBUNTU = {"bionic": "18.04", "focal": "20.04", "jammy": "22.04", "noble": "24.04"}
_CODENAME = re.compile(r"(?<![a-z])(buster|bullseye|bookworm|trixie|bionic|focal|jammy|noble)")
_UBUNTU_TAG = re.compile(r"ubuntu-?(\d{2})\.?(\d{2})")
_ALPINE_TAG = re.compile(r"alpine-?(3\.\d+)")
_TAG_PYTHON = re.compile(r"(?<![a-z0-9])(?:python|py|cp)-?3\.?(1[0-9]|[6-9])(?![0-9])")
_PACKAGE = re.compile(r"^python3\.?(1[0-9]|[6-9])(?:-[\w.+-]+)?(?:[=<>~].*)?$")
_CONDA_PYTHON = re.compile(r"^python[=<>]=?(3\.\d+)")
_VERSION = re.compile(r"^(3\.\d+)(?:\.\d+)?$")
_ENV_NAMES = {"PYTHON_VERSION", "PY_VERSION", "UV_PYTHON", "PYENV_VERSION"}
_PYTHON_TOOLS = re.compile(
    r"^(pip3?(\.\d+)?|python[23]?(\.\d+)?|uv|uvx|poetry|pipenv|pdm|hatch|conda|mamba|"
    r"micromamba|gunicorn|uvicorn|celery|daphne|hypercorn|django-admin)$"
)
_PYTHON_PACKAGES = re.compile(r"^(python3-pip|python3-venv|py3-pip|python3-devel|pipx)$")


@dataclass(frozen=True)
class ImagePython:
    """A Python version an image's stage runs, and how it was learnt."""

    version: str  # "3.11"
    line: int
    how: str  # shown in findings: "RUN installs python3.11"
    explicit: bool  # False: the distribution's default python3, inferred from the base's release


def release(image: str) -> tuple[str, str] | None:
    """(distribution, release) a base image reference names, e.g. ("ubuntu", "22.04")."""
    ref = image.split("@", 1)[0].lower()
    name, _, tag = ref.rpartition(":") if ":" in ref.rsplit("/", 1)[-1] else (ref, "", "")
    short = name.rsplit("/", 1)[-1]
    if short == "debian" and (tag.split("-")[0].split(".")[0] in _DEBIAN):
        return "debian", _DEBIAN[tag.split("-")[0].split(".")[0]]
    if short == "ubuntu":
        number = _UBUNTU.get(tag.split("-")[0], tag.split("-")[0])
        if ("ubuntu", number) in DISTRO_PYTHON:
            return "ubuntu", number
    if short == "alpine":
        minor = ".".join(tag.split(".")[:2])
        if ("alpine", minor) in DISTRO_PYTHON:
            return "alpine", minor
    if match := _UBUNTU_TAG.search(tag):
        return "ubuntu", f"{match.group(1)}.{match.group(2)}"
    if match := _ALPINE_TAG.search(tag):
        return "alpine", match.group(1)
    if match := _CODENAME.search(tag):
        codename = match.group(1)
        if codename in _UBUNTU:
            return "ubuntu", _UBUNTU[codename]
        return "debian", codename
    return None


def tag_python(image: str) -> str | None:
    """The Python an image reference names in its tag or name (`python3.12`, `python-311`)."""
    ref = image.split("@", 1)[0].lower()
    match = _TAG_PYTHON.search(ref.rsplit("/", 1)[-1])
    return f"3.{match.group(1)}" if match else None


def stage_pythons(base: str | None, base_line: int, body: list[Instruction]) -> list[ImagePython]:
    """Every Python a stage chain (`body`: its instructions, oldest stage first) is known to run.

    `base` is the external image at the root of the chain (None when it cannot be resolved).
    """
    found: list[ImagePython] = []
    if base and (version := tag_python(base)):
        found.append(ImagePython(version, base_line, f"the base image {base} names it", True))
    default_line: int | None = None  # a RUN that installs the distribution's python3
    for ins in body:
        if ins.keyword == "ENV":
            for name, value in parse_assignments(ins.value, legacy_space=True):
                match = _VERSION.match(value or "")
                if name in _ENV_NAMES and match:
                    found.append(ImagePython(match.group(1), ins.line, f"ENV {name}", True))
        if ins.keyword != "RUN":
            continue
        for words in buildtools.commands(ins.value):
            found += [ImagePython(v, ins.line, how, True) for v, how in _run_pythons(words)]
        for _tool, packages in buildtools.installs(ins.value):
            for package in packages:
                name = re.split(r"[=<>~]", package, maxsplit=1)[0]
                if name in ("python3", "python3-minimal", "python3-full"):
                    default_line = default_line or ins.line
                elif match := _PACKAGE.match(package):
                    version = f"3.{match.group(1)}"
                    found.append(ImagePython(version, ins.line, f"RUN installs {name}", True))
    distro = release(base) if base else None
    # NOTE: node images install python3 for node-gyp; only a stage that runs Python counts.
    runs = not found and uses_python(body)
    if default_line is not None and runs and distro and distro in DISTRO_PYTHON:
        how = f"{distro[0]} {distro[1]}'s python3 package"
        found.append(ImagePython(DISTRO_PYTHON[distro], default_line, how, False))
    return found


def _run_pythons(words: list[str]) -> list[tuple[str, str]]:
    tool = words[0].rsplit("/", 1)[-1]
    rest = words[1:]
    out: list[tuple[str, str]] = []
    if tool == "uv":
        if rest[:2] == ["python", "install"]:
            out += [
                (m.group(1), "RUN uv python install") for w in rest[2:] if (m := _VERSION.match(w))
            ]
        for i, word in enumerate(rest):
            value = rest[i + 1] if word in ("--python", "-p") and i + 1 < len(rest) else ""
            value = word.split("=", 1)[1] if word.startswith("--python=") else value
            if match := _VERSION.match(value):
                out.append((match.group(1), f"RUN uv {rest[0] if rest else ''} --python".strip()))
    elif tool == "pyenv" and rest[:1] in (["install"], ["global"]):
        out += [(m.group(1), f"RUN pyenv {rest[0]}") for w in rest[1:] if (m := _VERSION.match(w))]
    elif tool in ("conda", "mamba", "micromamba") and rest[:1] in (["install"], ["create"]):
        out += [
            (m.group(1), f"RUN {tool} {rest[0]}") for w in rest if (m := _CONDA_PYTHON.match(w))
        ]
    return out


def uses_python(instructions: list[Instruction]) -> bool:
    """Whether a Dockerfile runs Python at all: a Python tool in RUN/CMD/ENTRYPOINT, or pip."""
    for ins in instructions:
        if ins.keyword == "RUN":
            for words in buildtools.commands(ins.value):
                if _PYTHON_TOOLS.match(words[0].rsplit("/", 1)[-1]):
                    return True
            if any(
                _PYTHON_PACKAGES.match(p) for _, ps in buildtools.installs(ins.value) for p in ps
            ):
                return True
        elif ins.keyword in ("CMD", "ENTRYPOINT"):
            words = split_words(ins.value)
            if words and words[0] in ("sh", "/bin/sh", "bash", "/bin/bash") and "-c" in words:
                words = " ".join(words[words.index("-c") + 1 :]).split()
            if words and _PYTHON_TOOLS.match(words[0].rsplit("/", 1)[-1]):
                return True
    return False


__all__ = ["DISTRO_PYTHON", "ImagePython", "release", "stage_pythons", "tag_python", "uses_python"]

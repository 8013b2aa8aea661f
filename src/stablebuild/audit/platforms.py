"""Which platforms pip installs wheels for in an image, told from the image's base.

A Debian or Ubuntu release (named in the tag, `python:X-slim-<release>` included) gives its glibc,
and pip there takes every `manylinux_2_N` wheel with N up to it (and the `manylinux1/2010/2014`
aliases of 2.5/2.12/2.17); Alpine gives musl (1.2 from Alpine 3.13, 1.1 before) and
`musllinux_1_x`; RHEL-like, Amazon Linux, Fedora and the PyPA build images are known too. A plain
`python:X` tag is the Debian that tag points at now. A base that tells nothing is assumed to be
`manylinux_2_28` (glibc 2.28: Debian 10, Ubuntu 20.04 and RHEL 8 all have at least that), which
the wheel rules report as an assumption. The architecture is the one `FROM --platform=` names,
else both x86_64 and aarch64.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from stablebuild.audit.dockerfiles import parsed
from stablebuild.audit.project import Project
from stablebuild.audit.sources import per_project
from stablebuild.stages import split_flags, substitute


@dataclass(frozen=True, order=True)
class Libc:
    family: str  # "manylinux" (glibc) or "musllinux" (musl), as wheel tags name them
    version: tuple[int, int]

    @property
    def name(self) -> str:
        kind = "glibc" if self.family == "manylinux" else "musl"
        return f"{kind} {self.version[0]}.{self.version[1]}"

    @property
    def policy(self) -> str:
        return f"{self.family}_{self.version[0]}_{self.version[1]}"


DEFAULT_LIBC = Libc("manylinux", (2, 28))
DEFAULT_ARCHS = ("x86_64", "aarch64")  # the first is the usual CI builder; see `primary`

# glibc of each release, from the distributions' own package lists.
_DEBIAN = {
    "jessie": ("8", (2, 19)),
    "stretch": ("9", (2, 24)),
    "buster": ("10", (2, 28)),
    "bullseye": ("11", (2, 31)),
    "bookworm": ("12", (2, 36)),
    "trixie": ("13", (2, 41)),
    "forky": ("14", (2, 41)),  # NOTE: not released; trixie's glibc is its lower bound
    "sid": ("unstable", (2, 41)),
}
_DEBIAN_BY_NUMBER = {number: name for name, (number, _) in _DEBIAN.items()}
_UBUNTU = {
    "xenial": ("16.04", (2, 23)),
    "bionic": ("18.04", (2, 27)),
    "focal": ("20.04", (2, 31)),
    "jammy": ("22.04", (2, 35)),
    "noble": ("24.04", (2, 39)),
    "oracular": ("24.10", (2, 40)),
    "plucky": ("25.04", (2, 41)),
    "questing": ("25.10", (2, 42)),
}
_UBUNTU_BY_NUMBER = {number: name for name, (number, _) in _UBUNTU.items()}
_RHEL = {"7": (2, 17), "8": (2, 28), "9": (2, 34), "10": (2, 39)}  # CentOS, Rocky, Alma, UBI...
_RHEL_NAMES = {"centos", "rockylinux", "almalinux", "oraclelinux", "rhel", "ubi", "stream"}
_AMAZON = {"2": (2, 26), "2023": (2, 34)}
# Plain `python:X` tags: the Debian they point at now (since August 2025 trixie; the versions
# that went out of support earlier keep the release their last images were built on).
CURRENT_DEBIAN = "trixie"
_PYTHON_LAST_DEBIAN = {(2, 7): "buster", (3, 5): "buster", (3, 6): "bullseye"}
_PYTHON_LAST_DEBIAN |= {(3, 7): "bookworm", (3, 8): "bookworm"}

_CODENAME = re.compile(r"(?<![a-z0-9])(" + "|".join([*_DEBIAN, *_UBUNTU]) + r")(?![a-z])")
_UBUNTU_NUMBER = re.compile(r"ubuntu[-_]?(\d\d\.\d\d)")
_DEBIAN_NUMBER = re.compile(r"debian[-_]?(\d+)(?![\d.])")
_ALPINE = re.compile(r"(?<![a-z])alpine[-_:]?(\d+)\.(\d+)|(?<![a-z])alpine(?![a-z0-9.])")
_PYPA = re.compile(
    r"(manylinux|musllinux)_(\d+)_(\d+)_([a-z0-9_]+)"
    r"|(manylinux2014|manylinux2010|manylinux1)_([a-z0-9_]+)"
)
_POLICY = re.compile(r"(manylinux|musllinux)_(\d+)_(\d+)_(\w+)")
_LEGACY = {"manylinux2014": (2, 17), "manylinux2010": (2, 12), "manylinux1": (2, 5)}
_LEGACY_NAME = re.compile(r"(manylinux2014|manylinux2010|manylinux1)_(\w+)")
_ARCHS = {
    "amd64": "x86_64",
    "x86_64": "x86_64",
    "arm64": "aarch64",
    "aarch64": "aarch64",
    "arm": "armv7l",
    "386": "i686",
    "ppc64le": "ppc64le",
    "s390x": "s390x",
    "riscv64": "riscv64",
}


@dataclass(frozen=True)
class Platform:
    """One wheel platform: a libc policy on an architecture, e.g. manylinux_2_36_x86_64."""

    family: str
    version: tuple[int, int]
    arch: str

    @property
    def tag(self) -> str:
        return f"{self.family}_{self.version[0]}_{self.version[1]}_{self.arch}"

    def tags(self) -> list[str]:
        """Every platform tag pip accepts there, newest first (as `packaging.tags` orders a
        Linux host's): each older policy of the family, the legacy aliases, `linux_<arch>`."""
        major, minor = self.version
        out = []
        for m in range(minor, -1, -1):
            out.append(f"{self.family}_{major}_{m}_{self.arch}")
            if self.family == "manylinux" and major == 2:
                out += [f"{n}_{self.arch}" for n, v in _LEGACY.items() if v == (2, m)]
        out.append(f"linux_{self.arch}")
        return out


@dataclass(frozen=True)
class BaseLibc:
    libc: Libc
    why: str  # how it was told, for messages: "Debian 12 (bookworm)"
    arch: str | None = None  # the PyPA build images name theirs


def parse_platform(text: str) -> Platform | None:
    """`manylinux_2_28_aarch64`, `manylinux2014_x86_64`, `musllinux_1_2_x86_64`; None otherwise."""
    legacy = _LEGACY_NAME.fullmatch(text)
    if legacy:
        return Platform("manylinux", _LEGACY[legacy.group(1)], legacy.group(2))
    policy = _POLICY.fullmatch(text)
    if policy is None:
        return None
    version = (int(policy.group(2)), int(policy.group(3)))
    return Platform(policy.group(1), version, policy.group(4))


def arch_of(docker_platform: str) -> str | None:
    """`linux/arm64` -> aarch64; None for a variable or something not Linux."""
    parts = docker_platform.strip().lower().split("/")
    if len(parts) < 2 or parts[0] != "linux":
        return None
    return _ARCHS.get(parts[1])


def libc_of(image: str) -> BaseLibc | None:
    """What the base image's name and tag say about its C library; None when they say nothing."""
    ref = image.split("@", 1)[0].lower()
    last = ref.rsplit("/", 1)[-1]
    name, _, tag = last.partition(":")
    path = ref.rsplit(":", 1)[0] if ":" in last else ref
    pypa = _PYPA.search(ref)
    if pypa:
        if pypa.group(1):
            libc = Libc(pypa.group(1), (int(pypa.group(2)), int(pypa.group(3))))
            arch = pypa.group(4)
        else:
            libc, arch = Libc("manylinux", _LEGACY[pypa.group(5)]), pypa.group(6)
        return BaseLibc(libc, f"the PyPA image {libc.policy}", arch)
    told = _debian_or_ubuntu(ref) or _alpine(ref)
    if told is not None:
        return told
    if name == "debian":
        return _debian(_debian_tag(tag))
    if name == "ubuntu":
        if tag in ("", "latest") or tag.startswith("latest"):
            return _ubuntu("noble")
        return _ubuntu(_UBUNTU_BY_NUMBER.get(tag.split("-", 1)[0], ""))
    if name == "python" and tag.split("-", 1)[0] not in ("windowsservercore", "nanoserver"):
        return _python_default(tag)
    return _rhel_like(path, name, tag)


def _debian_or_ubuntu(ref: str) -> BaseLibc | None:
    match = _CODENAME.search(ref)
    if match:
        word = match.group(1)
        return _debian(word) if word in _DEBIAN else _ubuntu(word)
    number = _UBUNTU_NUMBER.search(ref)
    if number:
        return _ubuntu(_UBUNTU_BY_NUMBER.get(number.group(1), ""))
    debian = _DEBIAN_NUMBER.search(ref)
    if debian:
        return _debian(_DEBIAN_BY_NUMBER.get(debian.group(1), ""))
    return None


def _alpine(ref: str) -> BaseLibc | None:
    match = _ALPINE.search(ref)
    if match is None:
        return None
    if match.group(1) is None:
        return BaseLibc(Libc("musllinux", (1, 2)), "Alpine (latest: musl 1.2)")
    major, minor = int(match.group(1)), int(match.group(2))
    musl = (1, 2) if (major, minor) >= (3, 13) else (1, 1)
    return BaseLibc(Libc("musllinux", musl), f"Alpine {major}.{minor}")


def _debian_tag(tag: str) -> str:
    head = tag.split("-", 1)[0].split(".", 1)[0]
    if head in ("", "latest", "stable", "stable-slim", "slim"):
        return CURRENT_DEBIAN
    if head == "oldstable":
        return "bookworm"
    if head in ("testing", "unstable", "sid"):
        return "sid"
    return _DEBIAN_BY_NUMBER.get(head, head)


def _debian(codename: str) -> BaseLibc | None:
    if codename not in _DEBIAN:
        return None
    number, glibc = _DEBIAN[codename]
    return BaseLibc(Libc("manylinux", glibc), f"Debian {number} ({codename})")


def _ubuntu(codename: str) -> BaseLibc | None:
    if codename not in _UBUNTU:
        return None
    number, glibc = _UBUNTU[codename]
    return BaseLibc(Libc("manylinux", glibc), f"Ubuntu {number} ({codename})")


def _python_default(tag: str) -> BaseLibc | None:
    match = re.match(r"(\d+)\.(\d+)", tag)
    minor = (int(match.group(1)), int(match.group(2))) if match else None
    codename = _PYTHON_LAST_DEBIAN.get(minor, CURRENT_DEBIAN) if minor else CURRENT_DEBIAN
    told = _debian(codename)
    if told is None:
        return None
    return BaseLibc(told.libc, f"{told.why}, which plain python tags are built on")


def _rhel_like(path: str, name: str, tag: str) -> BaseLibc | None:
    words = re.split(r"[/:_.-]", path)
    major = re.match(r"(?:stream)?(\d+)", tag)
    if name == "amazonlinux":
        key = major.group(1) if major else ""
        glibc = _AMAZON.get(key)
        return BaseLibc(Libc("manylinux", glibc), f"Amazon Linux {key}") if glibc else None
    if name == "fedora" and major and 30 <= int(major.group(1)) < 100:
        n = int(major.group(1))
        return BaseLibc(Libc("manylinux", (2, n - 1)), f"Fedora {n}")
    ubi = next((w for w in words if re.fullmatch(r"ubi\d+", w)), None)
    if ubi is not None:
        key = ubi[3:]
    elif name in _RHEL_NAMES and major:
        key = major.group(1)
    else:
        return None
    glibc = _RHEL.get(key)
    return BaseLibc(Libc("manylinux", glibc), f"RHEL {key} family") if glibc else None


# -- images --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImagePlatform:
    """What one Dockerfile's stage is installed for: its libc and its architectures."""

    dockerfile: str
    line: int  # the FROM line of the stage judged
    base: str | None  # the external base image, ARGs substituted; None when it cannot be told
    libc: Libc
    libc_known: bool
    archs: tuple[str, ...]
    arch_declared: bool
    why: str

    def platforms(self) -> tuple[Platform, ...]:
        return tuple(Platform(self.libc.family, self.libc.version, a) for a in self.archs)


def image_platform(project: Project, rel: Path, line: int | None = None) -> ImagePlatform:
    """The platform of the stage holding `line` (an install), bounded by the final stage the
    wheels run in; without `line`, the final stage's."""
    key = f"platform:{rel.as_posix()}:{line}"
    return per_project(project, key, lambda: _image_platform(project, rel, line))


def _image_platform(project: Project, rel: Path, line: int | None) -> ImagePlatform:
    file = rel.as_posix()
    df = parsed(project, rel)
    if df is None or not df.stages:
        return _unknown(file, 1, None)
    final = df.stages[-1]
    stage = final
    if line is not None:
        stage = max((s for s in df.stages if s.line <= line), key=lambda s: s.line, default=final)
    base = df.base_image(stage)
    told = libc_of(base) if base else None
    if stage is not final:
        final_base = df.base_image(final)
        in_final = libc_of(final_base) if final_base else None
        if in_final is not None and (
            told is None or (told.libc.family == in_final.libc.family and in_final.libc < told.libc)
        ):
            told, base = in_final, final_base  # the wheels must also load where they run
    arch = None
    values = dict(df.from_values)
    defaults = df.global_defaults()
    for s in reversed(df.chain(stage)):
        flags, _ = split_flags(values.get(s.line, ""))
        if "platform" in flags:
            expanded = substitute(flags["platform"], defaults)
            arch = arch_of(expanded) if expanded else None
            break
    if arch is None and told is not None and told.arch is not None:
        arch = told.arch
    if told is None:
        return _unknown(file, stage.line, base, arch)
    archs = (arch,) if arch else DEFAULT_ARCHS
    why = f"{base}: {told.why}, {told.libc.name}"
    return ImagePlatform(file, stage.line, base, told.libc, True, archs, arch is not None, why)


def unknown_image() -> ImagePlatform:
    """What pins no Dockerfile installs are judged for: the documented default."""
    return _unknown("", 0, None)


def _unknown(file: str, line: int, base: str | None, arch: str | None = None) -> ImagePlatform:
    archs = (arch,) if arch else DEFAULT_ARCHS
    why = f"{base or 'the base image'} does not tell its C library"
    return ImagePlatform(file, line, base, DEFAULT_LIBC, False, archs, arch is not None, why)

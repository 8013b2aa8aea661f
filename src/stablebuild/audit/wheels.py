"""SB3xx: would pip get a wheel for every exact pin, on every target Python and platform?

Targets come from the SB1xx discovery (.python-version, Dockerfile ARG defaults and FROM tags,
compose build args, the manifest) plus the command line; platforms default to
manylinux_2_17_x86_64. The index's file list (PEP 691) decides, with `packaging.tags` and
`parse_wheel_filename`, honouring `requires-python` and yanked files as pip does.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from packaging.markers import Marker
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.tags import Tag, compatible_tags, cpython_tags
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from stablebuild.audit.finding import Finding, Severity
from stablebuild.audit.index import DistFile, Fetch, IndexAnswer, SimpleIndex
from stablebuild.audit.options import AuditOptions
from stablebuild.audit.pins import inventory
from stablebuild.audit.project import Project
from stablebuild.audit.python_version import discover, parse_version
from stablebuild.audit.requirements import Pin

DEFAULT_PLATFORM = "manylinux_2_17_x86_64"
_LEGACY = {"manylinux2014": (2, 17), "manylinux2010": (2, 12), "manylinux1": (2, 5)}
_POLICY = re.compile(r"(manylinux|musllinux)_(\d+)_(\d+)_(\w+)")
_LEGACY_NAME = re.compile(r"(manylinux2014|manylinux2010|manylinux1)_(\w+)")

# What a source build of a well-known package needs in the image (Debian package names).
BUILD_NEEDS = {
    "psycopg2": "pg_config (libpq-dev) and gcc",
    "psycopg2-binary": "pg_config (libpq-dev) and gcc",
    "mysqlclient": "mysql_config (default-libmysqlclient-dev), pkg-config and gcc",
    "lxml": "libxml2-dev, libxslt1-dev and gcc",
    "cryptography": "a Rust toolchain (rustc, cargo), libssl-dev and gcc",
    "bcrypt": "a Rust toolchain (rustc, cargo)",
    "orjson": "a Rust toolchain (rustc, cargo) and maturin",
    "pydantic-core": "a Rust toolchain (rustc, cargo) and maturin",
    "numpy": "gcc, g++ and a BLAS (libopenblas-dev); recent versions also meson and ninja",
    "scipy": "gfortran, g++, a BLAS/LAPACK (libopenblas-dev) and meson",
    "pandas": "gcc, g++ and numpy's headers",
    "pillow": "libjpeg-dev, zlib1g-dev and gcc",
    "pycairo": "libcairo2-dev, pkg-config and gcc",
    "uvloop": "gcc and make (it builds libuv)",
    "cffi": "libffi-dev and gcc",
    "grpcio": "g++ (and a build of many minutes)",
    "psutil": "gcc and the Python headers (python3-dev)",
    "pyodbc": "unixodbc-dev and g++",
    "confluent-kafka": "librdkafka-dev and gcc",
    "python-ldap": "libldap2-dev, libsasl2-dev and gcc",
    "h5py": "libhdf5-dev, pkg-config and gcc",
    "gevent": "gcc and make",
    "greenlet": "gcc",
    "asyncpg": "gcc",
}


@dataclass(frozen=True)
class Target:
    python: tuple[int, int]
    platform: str

    @property
    def label(self) -> str:
        return f"CPython {self.python[0]}.{self.python[1]} on {self.platform}"


@dataclass(frozen=True)
class _Verdict:
    rule: str  # "" when pip gets a wheel
    detail: str = ""


def run(project: Project, options: AuditOptions, fetch: Fetch | None = None) -> list[Finding]:
    targets = targets_of(project, options)
    pins = pins_to_check(project)
    if not pins or not targets:
        return []
    answers = SimpleIndex.from_options(options, fetch).lookup(p.name for p in pins)
    findings: list[Finding] = []
    stale = sorted({a.name for a in answers.values() if a.stale})
    if stale:
        findings.append(
            Finding(
                "SB307",
                Severity.INFO,
                pins[0].file,
                None,
                f"the index could not be reached; used older cached answers for {len(stale)} "
                f"project(s): {', '.join(stale[:5])}{' ...' if len(stale) > 5 else ''}",
                "re-run with network access to refresh the cache",
            )
        )
    grouped = {n: _group(a.page.files) for n, a in answers.items() if a.page is not None}
    for pin in pins:
        findings.extend(_judge_pin(pin, answers[pin.name], targets, grouped.get(pin.name, {})))
    return findings


def targets_of(project: Project, options: AuditOptions) -> list[Target]:
    pythons = set(discover(project).image_targets())
    for raw in options.python_targets:
        version = parse_version(raw)
        if version is not None:
            pythons.add((version.major, version.minor))
    platforms = options.platforms
    if not platforms and project.manifest is not None:
        platforms = project.manifest.audit.platforms
    return [Target(py, plat) for py in sorted(pythons) for plat in platforms or (DEFAULT_PLATFORM,)]


def pins_to_check(project: Project) -> list[Pin]:
    """Exact pins of the files images install (or the manifest names), each place once."""
    inv = inventory(project)
    files = [inv.files[f] for f in inv.wheel_files()]
    required = {p.name for f in files for p in f.entries if not p.constraint}
    seen: set[tuple[str, int]] = set()
    pins = []
    for f in files:
        for pin in f.entries:
            if pin.exact_version is None or pin.url is not None or pin.name not in required:
                continue
            if (pin.file, pin.line) not in seen:
                seen.add((pin.file, pin.line))
                pins.append(pin)
    return pins


def _judge_pin(
    pin: Pin, answer: IndexAnswer, targets: list[Target], grouped: dict[Version, list[DistFile]]
) -> list[Finding]:
    spec = f"{pin.name}=={pin.exact_version}"
    if answer.page is None:
        return [
            Finding(
                "SB306",
                Severity.WARNING,
                pin.file,
                pin.line,
                f"{spec}: wheel coverage not checked: {answer.problem}",
                "run once with network access (fills the cache), or point --index-url at a mirror",
            )
        ]
    page = answer.page
    assert pin.exact_version is not None
    try:
        wanted = Version(pin.exact_version)
    except InvalidVersion:
        return []
    files = grouped.get(wanted, [])
    if not page.found or not files:
        where = "the index has no project of that name" if not page.found else "no such version"
        newest = max((v for v in grouped if not v.is_prerelease), default=None)
        extra = f" (newest is {newest})" if newest else ""
        return [
            Finding(
                "SB303",
                Severity.ERROR,
                pin.file,
                pin.line,
                f"{spec}: {where}{extra}: pip stops with 'No matching distribution found'",
                "fix the name or version; check the pin against the index you build with",
            )
        ]
    findings: list[Finding] = []
    if all(f.yanked for f in files):
        reason = next((f.yanked_reason for f in files if f.yanked_reason), None)
        findings.append(
            Finding(
                "SB305",
                Severity.WARNING,
                pin.file,
                pin.line,
                f"{spec} is yanked from the index{f': {reason}' if reason else ''}",
                "move to a release that is not yanked",
            )
        )
    else:
        files = [f for f in files if not f.yanked]
    failing: dict[str, list[Target]] = {}
    details: dict[str, str] = {}
    for target in targets:
        if not _applies(pin, target):
            continue
        verdict = _verdict(pin.name, files, target)
        if verdict.rule:
            failing.setdefault(verdict.rule, []).append(target)
            details.setdefault(verdict.rule, verdict.detail)
    for rule, hit in failing.items():
        findings.append(_finding(pin, spec, rule, hit, details[rule], grouped))
    return findings


def _finding(
    pin: Pin,
    spec: str,
    rule: str,
    where: list[Target],
    detail: str,
    grouped: dict[Version, list[DistFile]],
) -> Finding:
    label = _labels(where)
    better = _first_covering(grouped, Version(pin.exact_version or "0"), where)
    upgrade = f"{pin.name}=={better} has wheels for it" if better else "no later release has"
    if rule == "SB304":
        return Finding(
            rule,
            Severity.ERROR,
            pin.file,
            pin.line,
            f"{spec} has nothing pip can install for {label}: {detail}",
            f"{upgrade}; or stay on a Python the pin supports",
        )
    needs = BUILD_NEEDS.get(pin.name)
    build = f"needs {needs}" if needs else "needs a compiler and the library's headers"
    severity = Severity.ERROR if rule == "SB301" else Severity.WARNING
    if rule == "SB302":
        build = "needs its build backend (it ships no wheels at all; usually pure Python)"
    return Finding(
        rule,
        severity,
        pin.file,
        pin.line,
        f"{spec} has no wheel for {label}: pip will build it from source and {build}",
        f"{upgrade}; or keep the previous Python, or install the build needs in a builder stage",
    )


def _labels(where: list[Target]) -> str:
    platforms = sorted({t.platform for t in where})
    pythons = sorted({t.python for t in where})
    names = ", ".join(f"{a}.{b}" for a, b in pythons)
    return f"CPython {names} on {', '.join(platforms)}"


def _applies(pin: Pin, target: Target) -> bool:
    if pin.marker is None:
        return True
    major, minor = target.python
    machine = target.platform.rsplit("_", 1)[-1] if "_" in target.platform else ""
    env = {
        "python_version": f"{major}.{minor}",
        "python_full_version": f"{major}.{minor}.99",
        "sys_platform": "linux",
        "platform_system": "Linux",
        "os_name": "posix",
        "platform_machine": "x86_64" if target.platform.endswith("x86_64") else machine,
        "implementation_name": "cpython",
        "platform_python_implementation": "CPython",
    }
    try:
        return Marker(pin.marker).evaluate(env)
    except Exception:
        return True


def _verdict(name: str, files: list[DistFile], target: Target) -> _Verdict:
    python = Version(f"{target.python[0]}.{target.python[1]}.99")
    allowed = [f for f in files if _python_ok(f.requires_python, python)]
    if not allowed:
        spec = files[0].requires_python
        return _Verdict("SB304", f"its files require Python {spec}")
    tags = tag_set(target.python, target.platform)
    wheels = [_wheel_tags(f.filename) for f in allowed if f.filename.endswith(".whl")]
    if any(t & tags for t in wheels if t):
        return _Verdict("")
    if any(not f.filename.endswith(".whl") for f in allowed):
        native = name in BUILD_NEEDS or any(_is_native(t) for t in wheels if t)
        return _Verdict("SB301" if native or wheels else "SB302")
    return _Verdict("SB304", "wheels exist only for other Pythons or platforms, and no sdist")


def _is_native(tags: frozenset[Tag]) -> bool:
    return any(t.platform != "any" or t.abi != "none" for t in tags)


@lru_cache(maxsize=4096)
def _python_ok(requires: str | None, python: Version) -> bool:
    if not requires:
        return True
    try:
        return SpecifierSet(requires).contains(python, prereleases=True)
    except InvalidSpecifier:
        return True  # pip ignores what it cannot parse


@lru_cache(maxsize=65536)
def _wheel_tags(filename: str) -> frozenset[Tag] | None:
    try:
        return parse_wheel_filename(filename)[3]
    except InvalidWheelFilename:
        return None


@lru_cache(maxsize=64)
def tag_set(python: tuple[int, int], platform: str) -> frozenset[Tag]:
    """Every tag pip on that CPython and platform accepts (manylinux_2_17 takes 2014, 2_5...)."""
    platforms = platform_tags(platform)
    interpreter = f"cp{python[0]}{python[1]}"
    tags = set(cpython_tags(python, abis=[interpreter], platforms=platforms))
    tags |= set(compatible_tags(python, interpreter, platforms))
    return frozenset(tags)


def platform_tags(platform: str) -> list[str]:
    legacy = _LEGACY_NAME.fullmatch(platform)
    if legacy:
        glibc = _LEGACY[legacy.group(1)]
        platform = f"manylinux_{glibc[0]}_{glibc[1]}_{legacy.group(2)}"
    policy = _POLICY.fullmatch(platform)
    if policy is None:
        return [platform]
    family, major, minor, arch = (
        policy.group(1),
        int(policy.group(2)),
        int(policy.group(3)),
        policy.group(4),
    )
    tags = [f"{family}_{major}_{m}_{arch}" for m in range(minor, -1, -1)]
    if family == "manylinux" and major == 2:
        tags += [f"{name}_{arch}" for name, glibc in _LEGACY.items() if glibc[1] <= minor]
    return tags


def _group(files: tuple[DistFile, ...]) -> dict[Version, list[DistFile]]:
    grouped: dict[Version, list[DistFile]] = {}
    for f in files:
        version = _file_version(f.filename)
        if version is not None:
            grouped.setdefault(version, []).append(f)
    return grouped


def _file_version(filename: str) -> Version | None:
    try:
        if filename.endswith(".whl"):
            return parse_wheel_filename(filename)[1]
        if filename.endswith((".tar.gz", ".zip")):
            return parse_sdist_filename(filename)[1]
        for suffix in (".tar.bz2", ".tgz", ".tar"):
            if filename.endswith(suffix):
                return parse_sdist_filename(filename[: -len(suffix)] + ".tar.gz")[1]
    except (InvalidWheelFilename, InvalidSdistFilename, InvalidVersion):
        return None
    return None


def _first_covering(
    grouped: dict[Version, list[DistFile]], after: Version, where: Iterable[Target]
) -> Version | None:
    """The oldest release newer than the pin that has wheels for every failing target."""
    for version in sorted(v for v in grouped if v > after and not v.is_prerelease):
        files = [f for f in grouped[version] if not f.yanked]
        if files and all(_verdict("", files, t).rule == "" for t in where):
            return version
    return None

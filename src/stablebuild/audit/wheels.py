"""SB3xx: would pip get a wheel for every exact pin, on every target Python and platform?

Each pin is judged for the images that install it: their Pythons (the SB1xx discovery: the
Dockerfile's own ARG/FROM/RUN, its compose build args, else its project's version) and their
platforms, told from each image's base (`platforms.py`: Debian bookworm takes up to
`manylinux_2_36`, Alpine `musllinux_1_2`, an unknown base `manylinux_2_28`, said in one SB308
note per Dockerfile); `--platform`/`audit.platforms` override. The index's file list (PEP 691 or
503) decides, with `packaging.tags` and `parse_wheel_filename`, honouring `requires-python` and
yanked files as pip does; a lockfile's recorded file list decides without the index. Pins are
looked up on the indexes their files and installs name (`--index-url`, `--extra-index-url`), so a
local version label (`torch==2.3.0+cpu`) is asked of the index that serves it, or reported as not
checked, never as missing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

from packaging.markers import InvalidMarker, Marker
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.tags import Tag, compatible_tags, cpython_tags
from packaging.version import InvalidVersion, Version

from stablebuild.audit import consulted
from stablebuild.audit import platforms as plat
from stablebuild.audit.finding import Finding, Severity
from stablebuild.audit.index import Fetch, IndexAnswer, SimpleIndex
from stablebuild.audit.options import AuditOptions
from stablebuild.audit.pins import inventory
from stablebuild.audit.project import Project
from stablebuild.audit.releases import DistFile, Releases
from stablebuild.audit.requirements import Pin
from stablebuild.audit.rule import Rule
from stablebuild.audit.wheel_targets import (
    Check,
    Target,
    plan,
)

SB301 = Rule(
    "SB301",
    "NoWheelSourceBuild",
    Severity.ERROR,
    "No wheel for a target: pip compiles from source (names what the build needs)",
    "No wheel for the target, and the package is known to be compiled (wheels for other "
    "targets, or a known native package): pip builds it from source, and the message names what "
    "that build needs (`psycopg2-binary==2.9.9 has no wheel for CPython 3.13 on "
    "manylinux_2_36_x86_64: pip will build it from source and needs pg_config (libpq-dev) and "
    "gcc`; `numpy==2.3.0`, whose wheels start at `manylinux_2_28`, on `centos:7`). A "
    "**warning** when only the assumed aarch64 fails.",
    "move to the first later release with wheels (the hint names it); or keep the previous "
    "Python; or install the build needs in a builder stage",
)
SB302 = Rule(
    "SB302",
    "SdistOnly",
    Severity.WARNING,
    "Only an sdist, no wheels at all (usually pure Python)",
    "The pinned release publishes no wheels at all, only an sdist (`leftpad==0.1`): pip builds "
    "it with its build backend. Usually pure Python, so the build is short.",
    "accept the source build, or pick a release with wheels",
)
SB303 = Rule(
    "SB303",
    "VersionNotOnIndex",
    Severity.ERROR,
    "Pinned version not on the index",
    "The project or the pinned version is on none of the indexes asked (`fastapi==0.0.0`; "
    "`torch==2.9.9+cpu` with `--extra-index-url https://download.pytorch.org/whl/cpu`, which "
    'does not list it): pip stops with "No matching distribution found".',
    "fix the name or version; check the pin against the index you build with",
)
SB304 = Rule(
    "SB304",
    "NothingInstallable",
    Severity.ERROR,
    "Files exist only for other Pythons or platforms",
    "Nothing installable for the target: wheels only for other Pythons or platforms and no "
    "sdist, or `requires-python` excludes the target (`numpy==1.26.4` on "
    "`manylinux_2_28_aarch64` with only x86_64 wheels listed). A **warning** when only the "
    "assumed aarch64 fails.",
    "upgrade to a release with files for the target, or change the target",
)
SB305 = Rule(
    "SB305",
    "YankedVersion",
    Severity.WARNING,
    "Pinned version is yanked",
    "Every file of the pinned release is yanked (`requests==2.32.0`); pip still installs an `==` "
    "pin, with a warning.",
    "move to a release that is not yanked",
)
SB306 = Rule(
    "SB306",
    "WheelCoverageUnchecked",
    Severity.WARNING,
    "Wheel coverage not checked (offline without cache, or index error)",
    "Not checked: offline with no cached answer, an index unreachable or answering with neither "
    "JSON nor HTML, or a local version label (`torch==2.3.0+cpu`) when no index that could serve "
    'it is named. Never a silent pass, and never "no such version" for what another index may '
    "hold.",
    "run once with network access (fills the cache), or point --index-url at a mirror; name "
    "the extra index where pip reads it",
)
SB307 = Rule(
    "SB307",
    "StaleIndexCache",
    Severity.INFO,
    "Index unreachable; older cached answers were used",
    "The index could not be reached, and cached answers older than 24 hours were used.",
    "re-run with network access to refresh the cache",
)

_NOT_LINUX = ("win", "macosx", "ios", "android")

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
class _Verdict:
    rule: Rule | None  # None when pip gets a wheel
    detail: str = ""


def run(
    project: Project,
    options: AuditOptions,
    fetch: Fetch | None = None,
    fetchers: Mapping[str, Fetch] | None = None,
) -> list[Finding]:
    """`fetch` answers for `options.index_url`; `fetchers` for other indexes, by URL (tests)."""
    inv = inventory(project)
    checks, findings = plan(project, options, inv)
    if not checks:
        return []
    wanted: dict[str, set[str]] = {}
    for check in checks:
        if not check.recorded:
            for url in check.indexes:
                wanted.setdefault(url, set()).add(check.pin.name)
    answers: dict[str, dict[str, IndexAnswer]] = {}
    dead: dict[str, str] = {}  # an index that gave no usable answer (shown URL) -> why
    for url in sorted(wanted):
        default = url == options.index_url.rstrip("/")
        source = fetch if default else (fetchers or {}).get(url)
        index = SimpleIndex(
            url,
            options.cache_dir,
            timeout=options.index_timeout,
            offline=options.offline,
            fetch=source,
        )
        answers[url] = consulted.lookup(index, wanted[url])
        if index.down is not None:
            dead[index.display] = index.down
    stale = sorted({a.name for by in answers.values() for a in by.values() if a.stale})
    if stale:
        findings.append(
            SB307.finding(
                checks[0].pin.file,
                None,
                f"the index could not be reached; used older cached answers for {len(stale)} "
                f"project(s): {', '.join(stale[:5])}{' ...' if len(stale) > 5 else ''}",
            )
        )
    judge = _Judge()
    unchecked: dict[str, list[Check]] = {}
    for check in checks:
        if check.recorded:
            findings.extend(judge.recorded(check))
        else:
            found = [answers[url][check.pin.name] for url in check.indexes]
            verdicts = judge.indexed(check, found)
            unasked = {a.index for a in found if a.page is None}
            if unasked and unasked <= dead.keys():  # said once per dead index, below
                verdicts = [f for f in verdicts if f.rule != SB306.id]
                for shown in unasked:
                    unchecked.setdefault(shown, []).append(check)
            findings.extend(verdicts)
    for shown, lost in unchecked.items():
        specs = [f"{c.pin.name}=={c.pin.exact_version}" for c in lost]
        why = dead[shown].removeprefix(shown).strip()
        findings.append(
            SB306.finding(
                lost[0].pin.file,
                lost[0].pin.line,
                f"package index {shown} {why}: wheel coverage of {len(lost)} pin(s) not "
                f"checked there ({', '.join(specs[:3])}{', ...' if len(specs) > 3 else ''})",
                "check the index URL and its credentials (--index-url, PIP_INDEX_URL, pip.conf, "
                "~/.netrc); --offline uses only cached answers",
            )
        )
    return findings


# -- judging ---------------------------------------------------------------------------------


class _Judge:
    """Verdicts, memoized per release and target: the same pin in many files is judged once."""

    def __init__(self) -> None:
        self._offers: dict[tuple[int, tuple[str, ...], tuple[int, int]], _Offer] = {}
        self._recorded: dict[tuple[DistFile, ...], Releases] = {}

    def recorded(self, check: Check) -> list[Finding]:
        pin = check.pin
        releases = self._recorded.get(check.recorded)
        if releases is None:
            releases = self._recorded[check.recorded] = Releases.of(check.recorded)
        keys = releases.matching(pin.exact_version or "") or list(releases)
        files = [f for key in keys for f in releases.files(key)]
        if _only_other_systems(files, releases):
            return []  # a package the lock records for Windows or macOS only
        upgrade = f"update {pin.name} in {pin.file} to a release with wheels for it"
        return self._coverage(check, files, releases, tuple(keys), upgrade)

    def indexed(self, check: Check, answers: list[IndexAnswer]) -> list[Finding]:
        pin = check.pin
        spec = f"{pin.name}=={pin.exact_version}"
        unasked = [a for a in answers if a.page is None]
        pages = [a.page for a in answers if a.page is not None and a.page.found]
        hits = [(p, p.releases.matching(pin.exact_version or "")) for p in pages]
        hits = [(p, keys) for p, keys in hits if keys]
        if not hits:
            return [self._missing(check, spec, answers, unasked)]
        page, keys = hits[0]
        files = [f for p, ks in hits for key in ks for f in p.releases.files(key)]
        findings: list[Finding] = []
        if all(f.yanked for f in files):
            reason = next((f.yanked_reason for f in files if f.yanked_reason), None)
            findings.append(
                SB305.finding(
                    pin.file,
                    pin.line,
                    f"{spec} is yanked from the index{f': {reason}' if reason else ''}",
                )
            )
        else:
            files = [f for f in files if not f.yanked]
        # NOTE: with the release on several indexes, the first page parses every file's tags
        covered = self._coverage(check, files, page.releases, tuple(keys), None, len(hits) > 1)
        if covered and unasked:
            problem = unasked[0].problem
            unchecked = SB306.finding(
                pin.file,
                pin.line,
                f"{spec}: wheel coverage not fully checked: {problem}; the indexes that "
                "answered have no wheel for every target",
                "run once with network access (fills the cache), or point --index-url at a mirror",
            )
            return [*findings, unchecked]
        return findings + covered

    def _missing(
        self,
        check: Check,
        spec: str,
        answers: list[IndexAnswer],
        unasked: list[IndexAnswer],
    ) -> Finding:
        pin = check.pin
        local = "+" in (pin.exact_version or "")
        if unasked:
            why = unasked[0].problem
            note = (
                " (a local version label: only the index that serves it can tell)" if local else ""
            )
            return SB306.finding(
                pin.file,
                pin.line,
                f"{spec}: wheel coverage not checked: {why}{note}",
                "run once with network access (fills the cache), or point --index-url at a mirror",
            )
        if local and not check.named_index and _is_pypi(answers[0].index):
            return SB306.finding(
                pin.file,
                pin.line,
                f"{spec}: not checked: a local version label, which {answers[0].index} never "
                "serves, and no file or install names the index that does",
                "name it where pip reads it: --extra-index-url URL in the requirements file "
                "(or on the pip command line, or PIP_EXTRA_INDEX_URL in the Dockerfile)",
            )
        found = [a.page for a in answers if a.page is not None and a.page.found]
        where = "no such version" if found else "the index has no project of that name"
        if check.named_index:
            where += " on " + " or ".join(a.index for a in answers)
        newest = max(
            (
                v
                for page in found
                for key in page.releases
                if not (v := page.releases.version(key)).is_prerelease
            ),
            default=None,
        )
        extra = f" (newest is {newest})" if newest else ""
        return SB303.finding(
            pin.file,
            pin.line,
            f"{spec}: {where}{extra}: pip stops with 'No matching distribution found'",
        )

    def _coverage(
        self,
        check: Check,
        files: list[DistFile],
        releases: Releases,
        keys: tuple[str, ...],
        upgrade: str | None,
        shared: bool = False,
    ) -> list[Finding]:
        """Findings for the targets `files` leave without a wheel; `shared`: the files come
        from several indexes, so the verdicts are not memoized under one page's release."""
        pin = check.pin
        failing: dict[Rule, list[Target]] = {}
        details: dict[Rule, str] = {}
        for target in check.targets:
            if not _applies(pin.marker, target):
                continue
            memo = (id(releases), keys, target.python)
            offer = None if shared else self._offers.get(memo)
            if offer is None:
                offer = _offer(files, target.python, releases)
                if not shared:
                    self._offers[memo] = offer
            verdict = offer.verdict(pin.name, target)
            if verdict.rule:
                failing.setdefault(verdict.rule, []).append(target)
                details.setdefault(verdict.rule, verdict.detail)
        spec = f"{pin.name}=={pin.exact_version}"
        out = []
        for rule, hit in failing.items():
            if upgrade is None:
                better = _first_covering(releases, pin.exact_version or "0", hit)
                upgrade_text = (
                    f"{pin.name}=={better} has wheels for it" if better else "no later release has"
                )
            else:
                upgrade_text = upgrade
            out.append(_finding(pin, spec, rule, hit, details[rule], upgrade_text))
        return out


def _is_pypi(url: str) -> bool:
    """PyPI refuses uploads with a local version label: it never has one."""
    host = url.split("://", 1)[-1].split("/", 1)[0].lower()
    return host in ("pypi.org", "pypi.python.org")


def _only_other_systems(files: list[DistFile], releases: Releases) -> bool:
    if not files or any(not f.filename.endswith(".whl") for f in files):
        return False
    for f in files:
        tags = releases.tags(f.filename)
        if tags is None or any(not t.platform.startswith(_NOT_LINUX) for t in tags):
            return False
    return True


def _finding(
    pin: Pin, spec: str, rule: Rule, where: list[Target], detail: str, upgrade: str
) -> Finding:
    label = _labels(where)
    only_assumed = all(t.assumed for t in where)
    arch_note = ""
    if only_assumed:
        arch_note = (
            "; the image does not name its architecture, so aarch64 (ARM builders: Apple "
            "silicon, Graviton) is checked as a warning: declare it with FROM --platform= or "
            "--platform"
        )
    # NOTE: a target the image does not declare (the assumed aarch64) is at most a warning.
    severity = Severity.WARNING if only_assumed else None
    if rule is SB304:
        return rule.finding(
            pin.file,
            pin.line,
            f"{spec} has nothing pip can install for {label}: {detail}",
            f"{upgrade}; or stay on a Python the pin supports{arch_note}",
            severity,
        )
    needs = BUILD_NEEDS.get(pin.name)
    build = f"needs {needs}" if needs else "needs a compiler and the library's headers"
    if rule is SB302:
        build = "needs its build backend (it ships no wheels at all; usually pure Python)"
    return rule.finding(
        pin.file,
        pin.line,
        f"{spec} has no wheel for {label}: pip will build it from source and {build}",
        f"{upgrade}; or keep the previous Python, or install the build needs in a builder "
        f"stage{arch_note}",
        severity,
    )


def _labels(where: list[Target]) -> str:
    platforms = sorted({t.platform for t in where})
    pythons = sorted({t.python for t in where})
    names = ", ".join(f"{a}.{b}" for a, b in pythons)
    return f"CPython {names} on {', '.join(platforms)}"


@lru_cache(maxsize=4096)
def _marker(text: str) -> Marker | None:
    try:
        return Marker(text)
    except InvalidMarker:
        return None


@lru_cache(maxsize=65536)
def _applies(marker: str | None, target: Target) -> bool:
    if marker is None:
        return True
    parsed = _marker(marker)
    if parsed is None:
        return True
    major, minor = target.python
    env = {
        "python_version": f"{major}.{minor}",
        "python_full_version": f"{major}.{minor}.99",
        "sys_platform": "linux",
        "platform_system": "Linux",
        "os_name": "posix",
        "platform_machine": _arch(target.platform),
        "implementation_name": "cpython",
        "platform_python_implementation": "CPython",
    }
    try:
        return parsed.evaluate(env)
    except Exception:  # NOTE: an undefined variable in a marker: judge rather than skip
        return True


def _arch(platform: str) -> str:
    parsed = plat.parse_platform(platform)
    if parsed is not None:
        return parsed.arch
    for arch in ("x86_64", "aarch64", "armv7l", "i686", "ppc64le", "s390x", "riscv64"):
        if platform.endswith(arch):
            return arch
    return ""


@dataclass(frozen=True)
class _Offer:
    """What one release offers one Python, whatever the platform: judged per target by one
    set intersection."""

    tags: frozenset[Tag]  # every tag of the wheels whose requires-python admits the Python
    wheels: bool  # some such wheel (readable or not)
    native: bool  # some such wheel is built for a platform or an ABI
    sdist: bool
    excluded_by: str | None = None  # requires-python, when no file admits the Python

    def verdict(self, name: str, target: Target) -> _Verdict:
        if self.excluded_by is not None:
            return _Verdict(SB304, f"its files require Python {self.excluded_by}")
        if self.tags & tag_set(target.python, target.platform):
            return _Verdict(None)
        if self.sdist:
            native = name in BUILD_NEEDS or self.native
            return _Verdict(SB301 if native or self.wheels else SB302)
        return _Verdict(SB304, "wheels exist only for other Pythons or platforms, and no sdist")


def _offer(files: Sequence[DistFile], python: tuple[int, int], releases: Releases) -> _Offer:
    version = Version(f"{python[0]}.{python[1]}.99")
    allowed = [f for f in files if _python_ok(f.requires_python, version)]
    if not allowed:
        return _Offer(frozenset(), False, False, False, files[0].requires_python if files else None)
    tags: set[Tag] = set()
    wheels = native = sdist = False
    for f in allowed:
        if not f.filename.endswith(".whl"):
            sdist = True
            continue
        wheels = True
        found = releases.tags(f.filename)
        if found:
            tags |= found
            native = native or _is_native(found)
    return _Offer(frozenset(tags), wheels, native, sdist)


def _verdict(name: str, files: list[DistFile], target: Target, releases: Releases) -> _Verdict:
    return _offer(files, target.python, releases).verdict(name, target)


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


@lru_cache(maxsize=256)
def tag_set(python: tuple[int, int], platform: str) -> frozenset[Tag]:
    """Every tag pip on that CPython and platform accepts (manylinux_2_17 takes 2014, 2_5...)."""
    platforms = platform_tags(platform)
    interpreter = f"cp{python[0]}{python[1]}"
    tags = set(cpython_tags(python, abis=[interpreter], platforms=platforms))
    tags |= set(compatible_tags(python, interpreter, platforms))
    return frozenset(tags)


def platform_tags(platform: str) -> list[str]:
    """The platform tags pip accepts on `platform` (a wheel platform tag), newest first."""
    parsed = plat.parse_platform(platform)
    return parsed.tags() if parsed is not None else [platform]


def _first_covering(releases: Releases, pinned: str, where: Iterable[Target]) -> Version | None:
    """The oldest release newer than the pin that has wheels for every failing target."""
    try:
        after = Version(pinned)
    except InvalidVersion:
        return None
    targets = list(where)
    newer = sorted(
        (v, key) for key in releases if (v := releases.version(key)) > after and not v.is_prerelease
    )
    for version, key in newer:
        files = [f for f in releases.files(key) if not f.yanked]
        if files and all(_verdict("", files, t, releases).rule is None for t in targets):
            return version
    return None

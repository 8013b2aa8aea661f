"""The settings of an audit, merged from five places; the first that sets a value wins:

    command line  >  STABLEBUILD_* variables  >  stablebuild.yml (`audit:`)
                  >  pyproject.toml ([tool.stablebuild.audit])  >  defaults

`pyproject.toml` is the nearest one walking up from the audited folder to the git work tree's
root. Rule levels (`audit.rules`) merge rule by rule, each from the most important place naming
it. The package index falls back on pip's own settings (`PIP_INDEX_URL`, `PIP_EXTRA_INDEX_URL`,
pip.conf: `stablebuild.pipconfig`) before PyPI. A bad value anywhere is a `UsageError` (exit 2)
naming the file and line, or the variable, and what to write instead; never a traceback.
`OPTIONS` is the one list of every option, its file key, variable and flag
(docs/configuration.md is checked against it).
"""

from __future__ import annotations

import difflib
import importlib
import math
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from stablebuild import pipconfig, textfile, urls
from stablebuild.errors import UsageError

if TYPE_CHECKING:
    from stablebuild.manifest.model import Manifest

DEFAULT_INDEX_URL = "https://pypi.org/simple"
FAIL_ON = ("error", "warning", "never")
LEVELS = ("off", "info", "warning", "error")
TRUE = ("1", "true", "yes", "on")
FALSE = ("0", "false", "no", "off")
PYPROJECT = "pyproject.toml"
TABLE = "tool.stablebuild"
MAX_PYPROJECT_BYTES = 1024 * 1024
MAX_SECONDS = 3600.0
_RULE_ID = re.compile(r"^SB\d{3}(:[A-Za-z0-9_-]+)?$")
_URL = re.compile(r"^(https?|file)://\S+$")


@dataclass(frozen=True)
class Option:
    """One setting: where it can be written. `key` is under `audit:` in stablebuild.yml and
    under [tool.stablebuild.audit] in pyproject.toml; "" where only the machine running the
    audit should decide (a cache folder, going offline)."""

    name: str
    key: str
    env: str
    flag: str
    kind: str  # fail_on | rules | path | url | urls | bool | seconds | list
    help: str


OPTIONS: tuple[Option, ...] = (
    Option("fail_on", "fail_on", "STABLEBUILD_FAIL_ON", "--fail-on", "fail_on",
           "the least severe finding that makes the exit code 1: error, warning or never"),
    Option("rules", "rules", "STABLEBUILD_RULES", "--rule", "rules",
           "per rule id: off, info, warning or error (SB301=off,SB405=error)"),
    Option("baseline", "baseline", "STABLEBUILD_BASELINE", "--baseline", "path",
           "known findings (written by --write-baseline): reported, but only new ones fail"),
    Option("index_url", "index_url", "STABLEBUILD_INDEX_URL", "--index-url", "url",
           "the package index (simple API root); then PIP_INDEX_URL, pip.conf, PyPI"),
    Option("extra_index_urls", "extra_index_urls", "STABLEBUILD_EXTRA_INDEX_URL",
           "--extra-index-url", "urls",
           "more indexes, as pip's extra-index-url; then PIP_EXTRA_INDEX_URL, pip.conf"),
    Option("vuln_db", "vuln_db", "STABLEBUILD_VULN_DB", "--vuln-db", "path",
           "vulnerability database: an OSV folder or zip, or safety-db's insecure_full.json"),
    Option("online_vulns", "", "STABLEBUILD_ONLINE_VULNS", "--online-vulns", "bool",
           "fetch the PyPA advisory database (cached a day) when no database is named"),
    Option("offline", "", "STABLEBUILD_OFFLINE", "--offline", "bool",
           "no network: cached index answers and local databases only"),
    Option("cache_dir", "", "STABLEBUILD_CACHE_DIR", "--cache-dir", "path",
           "where index answers and the fetched advisory database are kept"),
    Option("index_timeout", "", "STABLEBUILD_INDEX_TIMEOUT", "--index-timeout", "seconds",
           "seconds to wait for the package index"),
    Option("hadolint", "hadolint", "STABLEBUILD_HADOLINT", "--hadolint/--no-hadolint", "bool",
           "merge hadolint's Dockerfile lint when it is installed"),
    Option("platforms", "platforms", "STABLEBUILD_PLATFORMS", "--platform", "list",
           "wheel platforms to cover (linux/arm64, manylinux_2_28_x86_64); default: each base's"),
    Option("python_versions", "python_versions", "STABLEBUILD_PYTHON", "--python", "list",
           "more target Pythons for wheel coverage, added to those the files name"),
)  # fmt: skip
BY_NAME = {option.name: option for option in OPTIONS}


@dataclass(frozen=True)
class Flags:
    """What the command line set; None (or empty) where it was silent."""

    fail_on: str | None = None
    rules: tuple[str, ...] = ()  # SB301=off, as typed
    baseline: Path | None = None
    index_url: str | None = None
    extra_index_urls: tuple[str, ...] = ()
    vuln_db: Path | None = None
    online_vulns: bool | None = None
    offline: bool | None = None
    cache_dir: Path | None = None
    index_timeout: float | None = None
    hadolint: bool | None = None
    platforms: tuple[str, ...] = ()
    python_versions: tuple[str, ...] = ()


def default_cache_dir(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    base = env.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "stablebuild"


@dataclass(frozen=True)
class Settings:
    """Every option's value in force, and where each came from (`sources`: option name ->
    `--fail-on`, `STABLEBUILD_FAIL_ON`, `stablebuild.yml`, `pyproject.toml:12`, `PIP_INDEX_URL`,
    a pip.conf path; absent: the default). Index URLs may hold credentials: print `shown_*`."""

    fail_on: str = "error"
    rules: tuple[tuple[str, str], ...] = ()  # (rule id, level), sorted
    baseline: Path | None = None
    index_url: str = DEFAULT_INDEX_URL
    extra_index_urls: tuple[str, ...] = ()
    vuln_db: Path | None = None
    online_vulns: bool = False
    offline: bool = False
    cache_dir: Path = field(default_factory=default_cache_dir)
    index_timeout: float = 10.0
    hadolint: bool = True
    platforms: tuple[str, ...] = ()
    python_versions: tuple[str, ...] = ()
    pyproject: Path | None = None  # the pyproject.toml read, if any
    sources: Mapping[str, str] = field(default_factory=dict)

    @property
    def shown_index_url(self) -> str:
        return urls.without_credentials(self.index_url)

    def secrets(self) -> frozenset[str]:
        """Credentials the index URLs carry: masked wherever they might show."""
        return urls.secrets_of((self.index_url, *self.extra_index_urls))


# -- one layer each ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Value:
    value: Any
    source: str


Layer = dict[str, _Value]


def from_flags(flags: Flags) -> Layer:
    out: Layer = {}
    for option in OPTIONS:
        value = getattr(flags, option.name)
        if value is None or value == ():
            continue
        on, _, off = option.flag.partition("/")
        where = off if value is False and off else on
        if option.kind == "rules":
            value = _rules_from_text(",".join(value), option.flag)
        elif option.kind == "url":
            value = _url(value, option.flag)
        elif option.kind == "urls":
            value = tuple(_url(v, option.flag) for v in value)
        out[option.name] = _Value(value, where)
    return out


def from_env(env: Mapping[str, str]) -> Layer:
    out: Layer = {}
    for option in OPTIONS:
        raw = env.get(option.env, "").strip()
        if raw:
            out[option.name] = _Value(_from_text(option, raw), option.env)
    return out


def from_manifest(manifest: Manifest | None) -> Layer:
    """The manifest's `audit:` values (already checked, with lines, by the manifest loader)."""
    if manifest is None:
        return {}
    spec = manifest.audit
    where = manifest.path.name
    values: dict[str, Any] = {
        "fail_on": spec.fail_on,
        "rules": tuple(spec.rules) or None,
        "baseline": spec.baseline,
        "index_url": spec.index_url,
        "extra_index_urls": tuple(spec.extra_index_urls) or None,
        "vuln_db": spec.vuln_db,
        # NOTE: `hadolint: true` is also the default; only false says something
        "hadolint": False if not spec.hadolint else None,
        "platforms": tuple(spec.platforms) or None,
    }
    return {name: _Value(v, where) for name, v in values.items() if v is not None}


def from_pyproject(path: Path | None) -> Layer:
    """`[tool.stablebuild]` of one pyproject.toml; {} when there is none."""
    if path is None:
        return {}
    text = textfile.read_text(path, limit=MAX_PYPROJECT_BYTES)
    if isinstance(text, textfile.Unreadable):
        raise UsageError(f"{_shown(path)}: {text.reason}", "fix the file's permissions or size")
    if TABLE not in text:
        return {}
    data = _toml(path, text)
    table = data.get("tool", {}).get("stablebuild")
    if table is None:
        return {}
    where = _Locator(path, text)
    if not isinstance(table, dict):
        raise where.error((), "must be a table ([tool.stablebuild])")
    for key in table:
        if key != "audit":
            raise where.error((key,), _unknown(key, ["audit"]))
    audit = table.get("audit", {})
    if not isinstance(audit, dict):
        raise where.error(("audit",), "must be a table ([tool.stablebuild.audit])")
    keys = {o.key: o for o in OPTIONS if o.key}
    out: Layer = {}
    for key, value in audit.items():
        option = keys.get(key)
        if option is None:
            raise where.error(("audit", key), _unknown(key, list(keys)))
        source = where.place(("audit", key))
        out[option.name] = _Value(_from_toml(option, value, where, path.parent), source)
    return out


def from_pip(env: Mapping[str, str], home: Path | None = None, prefix: Path | None = None) -> Layer:
    """pip's index settings, below every stablebuild setting."""
    found = pipconfig.read_indexes(env, home=home, prefix=prefix)
    out: Layer = {}
    if found.index_url.value:
        source = found.index_url.source
        out["index_url"] = _Value(_url(found.index_url.value, source), source)
    if found.extra_index_urls:
        extra = tuple(_url(u, found.extra_source) for u in found.extra_index_urls)
        out["extra_index_urls"] = _Value(extra, found.extra_source)
    return out


# -- merging -------------------------------------------------------------------------------------


def merge(layers: Iterable[Layer], *, pyproject: Path | None = None) -> Settings:
    """Settings from layers, most important first; `rules` merge id by id."""
    ordered = list(layers)
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for option in OPTIONS:
        if option.kind == "rules":
            continue
        hit = next((layer[option.name] for layer in ordered if option.name in layer), None)
        if hit is not None:
            values[option.name] = hit.value
            sources[option.name] = hit.source
    rules: dict[str, str] = {}
    for layer in reversed(ordered):
        if "rules" in layer:
            rules.update(dict(layer["rules"].value))
            sources["rules"] = layer["rules"].source
    values["rules"] = tuple(sorted(rules.items()))
    return Settings(**values, pyproject=pyproject, sources=sources)


def resolve(
    root: Path,
    flags: Flags | None = None,
    manifest: Manifest | None = None,
    env: Mapping[str, str] | None = None,
    *,
    home: Path | None = None,
    prefix: Path | None = None,
) -> Settings:
    """The settings for auditing `root`: flags > env > manifest > pyproject > pip > defaults."""
    env = os.environ if env is None else env
    pyproject = find_pyproject(root)
    layers = [
        from_flags(flags or Flags()),
        from_env(env),
        from_manifest(manifest),
        from_pyproject(pyproject),
        from_pip(env, home, prefix),
    ]
    settings = merge(layers, pyproject=pyproject)
    if "cache_dir" not in settings.sources:
        settings = replace(settings, cache_dir=default_cache_dir(env))
    return settings


def find_pyproject(root: Path) -> Path | None:
    """The nearest pyproject.toml from `root` up to the git work tree's root (`root` alone
    outside a work tree): a monorepo's service folder takes its own, else the repository's."""
    start = Path(os.path.realpath(root))
    folders = [start, *start.parents]
    top = next((f for f in folders if (f / ".git").exists()), start)
    for folder in folders:
        candidate = folder / PYPROJECT
        if candidate.is_file():
            return candidate
        if folder == top:
            break
    return None


# -- values --------------------------------------------------------------------------------------


def rule_problem(rule: str) -> str | None:
    """Why `rule` is not a rule id a setting or suppression may name; None when it is."""
    if not _RULE_ID.match(rule):
        return f"{rule!r} is not a rule id (SB followed by three digits, e.g. SB301)"
    known = _catalogue()
    base = rule.split(":", 1)[0]
    if base not in known:
        close = difflib.get_close_matches(base, sorted(known), n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        return f"unknown rule id {base}{hint}; docs/rules.md lists them"
    return None


def _catalogue() -> Mapping[str, str]:
    # NOTE: the catalogue lives with the audit rules, a floor above this one; read only when a
    # rule id is named, so a run that names none never loads the audit.
    module: ModuleType = importlib.import_module("stablebuild.audit.format.catalog")
    rules: Mapping[str, str] = module.RULES
    return rules


def level_problem(level: str) -> str | None:
    if level in LEVELS:
        return None
    return f"must be one of {', '.join(LEVELS)}, not {level!r}"


def _rules_from_text(text: str, where: str) -> tuple[tuple[str, str], ...]:
    """`SB301=off,SB405=error` (spaces also separate)."""
    out: dict[str, str] = {}
    for item in re.split(r"[,\s]+", text.strip()):
        if not item:
            continue
        rule, sep, level = item.partition("=")
        rule, level = rule.strip().upper(), level.strip().lower()
        if not sep or not level:
            raise UsageError(f"{where} {item!r}: write RULE=LEVEL", "e.g. SB301=off")
        problem = rule_problem(rule) or level_problem(level)
        if problem is not None:
            raise UsageError(f"{where} {item}: {problem}", f"e.g. {where} SB301=off")
        out[rule] = level
    return tuple(sorted(out.items()))


def _from_text(option: Option, raw: str) -> Any:
    where = option.env
    if option.kind == "fail_on":
        value = raw.lower()
        if value not in FAIL_ON:
            raise UsageError(
                f"{where}={raw!r}: must be one of {', '.join(FAIL_ON)}",
                f"e.g. {where}=warning",
            )
        return value
    if option.kind == "rules":
        return _rules_from_text(raw, where)
    if option.kind == "bool":
        value = raw.lower()
        if value not in TRUE + FALSE:
            raise UsageError(f"{where}={raw!r}: must be true or false", f"e.g. {where}=1")
        return value in TRUE
    if option.kind == "seconds":
        return _seconds(raw, where)
    if option.kind == "path":
        return Path(raw).expanduser()
    if option.kind == "url":
        return _url(raw, where)
    if option.kind == "urls":
        return tuple(_url(u, where) for u in raw.split())
    return tuple(p for p in re.split(r"[,\s]+", raw) if p)


def _from_toml(option: Option, value: Any, where: _Locator, base: Path) -> Any:
    path: tuple[str, ...] = ("audit", option.key)
    if option.kind == "rules":
        if not isinstance(value, dict):
            raise where.error(path, 'must be a table of rule ids (SB301 = "off")')
        out: dict[str, str] = {}
        for rule, level in value.items():
            key = str(rule).upper()
            if not isinstance(level, str):
                raise where.error((*path, rule), level_problem(repr(level)) or "")
            problem = rule_problem(key) or level_problem(level.lower())
            if problem is not None:
                raise where.error((*path, rule), problem)
            out[key] = level.lower()
        return tuple(sorted(out.items()))
    if option.kind == "bool":
        if not isinstance(value, bool):
            raise where.error(path, f"must be true or false, not {value!r}")
        return value
    if option.kind in ("list", "urls"):
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise where.error(path, f'must be a list of strings (["{value}"])')
        if option.kind == "urls":
            for url in value:
                problem = committed_url_problem(url)
                if problem is not None:
                    raise where.error(path, problem)
            return tuple(url.strip().rstrip("/") for url in value)
        return tuple(value)
    if not isinstance(value, str):
        raise where.error(path, f"must be a string, not {value!r}")
    if option.kind == "fail_on":
        if value.lower() not in FAIL_ON:
            raise where.error(path, f"must be one of {', '.join(FAIL_ON)}, not {value!r}")
        return value.lower()
    if option.kind == "url":
        problem = committed_url_problem(value)
        if problem is not None:
            raise where.error(path, problem)
        return value.strip().rstrip("/")
    if option.kind == "path":
        named = Path(value).expanduser()
        return named if named.is_absolute() else base / named
    return value


def committed_url_problem(value: str) -> str | None:
    """Why an index URL cannot stand in a committed file (stablebuild.yml, pyproject.toml):
    not a URL, or it holds credentials, which every clone would then hold."""
    text = value.strip()
    if not _URL.match(text):
        return f"{urls.masked(text)!r} is not a URL (write https://host/simple)"
    if urls.split(text)[1] is not None:
        return (
            f"{urls.masked(text)!r} holds credentials, which would be committed with the file; "
            "give them in ~/.netrc, PIP_INDEX_URL or STABLEBUILD_INDEX_URL instead"
        )
    return None


def _url(value: str, where: str) -> str:
    """An http(s):// or file:// URL; the error shows it with its credentials masked."""
    text = value.strip()
    if not _URL.match(text):
        raise UsageError(
            f"{where}: {urls.masked(text)!r} is not a URL",
            "write http://, https:// or file:// followed by the rest, without spaces",
        )
    return text.rstrip("/")


def _seconds(raw: str, where: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or not 0 < value <= MAX_SECONDS:
        raise UsageError(
            f"{where}={raw!r}: must be a number of seconds above 0 and at most {MAX_SECONDS:.0f}",
            f"e.g. {where}=30",
        )
    return value


def _unknown(key: str, known: list[str]) -> str:
    close = difflib.get_close_matches(key, known, n=1)
    if close:
        return f"unknown key {key!r} (did you mean {close[0]!r}?)"
    return f"unknown key {key!r}; known keys: {', '.join(sorted(known))}"


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


# -- pyproject.toml ------------------------------------------------------------------------------


def _toml_loads() -> Callable[[str], dict[str, Any]] | None:
    for name in ("tomllib", "tomli"):  # NOTE: tomllib is 3.11+; 3.10 needs the tomli backport
        try:
            loads: Callable[[str], dict[str, Any]] = importlib.import_module(name).loads
        except ImportError:
            continue
        return loads
    return None


def _toml(path: Path, text: str) -> dict[str, Any]:
    loads = _toml_loads()
    if loads is None:
        raise UsageError(
            f"{_shown(path)}: has [{TABLE}] but this Python has no TOML parser",
            "pip install tomli, or run stablebuild on Python 3.11+",
        )
    try:
        return loads(text)
    except Exception as exc:  # tomllib.TOMLDecodeError; the module is loaded dynamically
        found = re.search(r"line (\d+)", str(exc))
        where = f"{_shown(path)}:{found.group(1)}" if found else _shown(path)
        reason = str(exc).split(" (at ")[0]
        raise UsageError(f"{where}: not valid TOML: {reason}", "fix the file") from None


class _Locator:
    """The line of a key under [tool.stablebuild], for messages (tomllib keeps no lines)."""

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.lines = text.splitlines()

    def line(self, keys: tuple[str, ...]) -> int | None:
        header = re.compile(r"^\s*\[\s*tool\s*\.\s*stablebuild\b([^\]]*)\]")
        inside = False
        first: int | None = None
        want = keys[-1] if keys else ""
        key = re.compile(rf"""(^|[\s.{{,])["']?{re.escape(want)}["']?\s*=""")
        for number, text in enumerate(self.lines, start=1):
            if text.lstrip().startswith("["):
                inside = header.match(text) is not None
                first = first or (number if inside else None)
                if inside and want and text.rstrip().rstrip("]").endswith(want):
                    return number
                continue
            if inside and want and key.search(text.split("#", 1)[0]):
                return number
        return first

    def place(self, keys: tuple[str, ...]) -> str:
        line = self.line(keys)
        return f"{_shown(self.path)}:{line}" if line else _shown(self.path)

    def error(self, keys: tuple[str, ...], message: str) -> UsageError:
        dotted = ".".join((TABLE, *keys))
        return UsageError(
            f"{self.place(keys)}: [{dotted}]: {message}",
            "fix the value; docs/configuration.md lists every key",
        )


__all__ = [
    "BY_NAME",
    "DEFAULT_INDEX_URL",
    "FAIL_ON",
    "LEVELS",
    "OPTIONS",
    "Flags",
    "Option",
    "Settings",
    "committed_url_problem",
    "default_cache_dir",
    "find_pyproject",
    "level_problem",
    "merge",
    "resolve",
    "rule_problem",
]

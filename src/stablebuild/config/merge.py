"""One layer of settings per place (flags, environment, manifest, pyproject.toml, pip), and
their merge: the first layer that sets an option wins; rule levels merge rule by rule."""

from __future__ import annotations

import os
from collections.abc import Collection, Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stablebuild import pipconfig
from stablebuild.config.options import OPTIONS, Flags, Layer, Settings, Sourced, default_cache_dir
from stablebuild.config.pyproject import find_pyproject, from_pyproject
from stablebuild.config.values import from_text, rules_from_text, url

if TYPE_CHECKING:
    from stablebuild.manifest.model import Manifest


def from_flags(flags: Flags) -> Layer:
    out: Layer = {}
    for option in OPTIONS:
        value = getattr(flags, option.name)
        if value is None or value == ():
            continue
        on, _, off = option.flag.partition("/")
        where = off if value is False and off else on
        if option.kind == "rules":
            value = rules_from_text(",".join(value), option.flag)
        elif option.kind == "url":
            value = url(value, option.flag)
        elif option.kind == "urls":
            value = tuple(url(v, option.flag) for v in value)
        out[option.name] = Sourced(value, where)
    return out


def from_env(env: Mapping[str, str]) -> Layer:
    out: Layer = {}
    for option in OPTIONS:
        raw = env.get(option.env, "").strip()
        if raw:
            out[option.name] = Sourced(from_text(option, raw), option.env)
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
    return {name: Sourced(v, where) for name, v in values.items() if v is not None}


def from_pip(
    env: Mapping[str, str],
    home: Path | None = None,
    prefix: Path | None = None,
    wanted: Collection[str] = ("index_url", "extra_index_urls"),
) -> Layer:
    """pip's index settings, below every stablebuild setting; only the `wanted` ones are read
    (a value pip would refuse is an error only when it would be used)."""
    if not wanted:
        return {}
    found = pipconfig.read_indexes(env, home=home, prefix=prefix)
    out: Layer = {}
    if found.index_url.value and "index_url" in wanted:
        source = found.index_url.source
        out["index_url"] = Sourced(url(found.index_url.value, source), source)
    if found.extra_index_urls and "extra_index_urls" in wanted:
        extra = tuple(url(u, found.extra_source) for u in found.extra_index_urls)
        out["extra_index_urls"] = Sourced(extra, found.extra_source)
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
    ]
    unset = [n for n in ("index_url", "extra_index_urls") if not any(n in la for la in layers)]
    layers.append(from_pip(env, home, prefix, unset))
    settings = merge(layers, pyproject=pyproject)
    if "cache_dir" not in settings.sources:
        settings = replace(settings, cache_dir=default_cache_dir(env))
    return settings

"""Where runs are recorded: flag, environment, manifest, default; passwords never shown."""

from __future__ import annotations

from pathlib import Path

import pytest

from stablebuild.errors import UsageError
from stablebuild.history.location import masked_url, parse_location, resolve_location


def test_the_flag_beats_the_environment_beats_the_manifest_beats_the_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    env = {"STABLEBUILD_HISTORY": "postgresql://ci@db:5432/builds"}
    root = tmp_path / "stack"
    flag = resolve_location("h.sqlite", env, "sqlite:m.sqlite", root)
    assert (flag.kind, flag.path) == ("sqlite", tmp_path / "h.sqlite")
    from_env = resolve_location(None, env, "sqlite:m.sqlite", root)
    assert (from_env.kind, from_env.url) == ("postgresql", "postgresql://ci@db:5432/builds")
    manifest = resolve_location(None, {}, "sqlite:m.sqlite", root)
    assert manifest.path == root / "m.sqlite" and not manifest.default
    default = resolve_location(None, {"STABLEBUILD_HISTORY": ""}, None, root)
    assert default.path == root / ".stablebuild" / "history.sqlite" and default.default
    assert resolve_location("off", env, None, root).kind == "off"


def test_sqlite_urls_and_paths(tmp_path: Path) -> None:
    assert parse_location("sqlite:///var/h.db", tmp_path, "x").path == Path("/var/h.db")
    assert parse_location("sqlite:rel/h.db", tmp_path, "x").path == tmp_path / "rel" / "h.db"
    assert parse_location("postgres://db/x", tmp_path, "x").kind == "postgresql"


def test_passwords_are_masked_wherever_a_url_is_shown() -> None:
    assert masked_url("postgresql://ci:s3cr3t@db:5432/b") == "postgresql://ci:***@db:5432/b"
    assert masked_url("postgresql://db/b?user=ci&password=s3cr3t") == (
        "postgresql://db/b?user=ci&password=***"
    )
    location = parse_location("postgresql://ci:s3cr3t@db/b", Path("."), "--history")
    assert "s3cr3t" not in location.where


def test_an_unknown_scheme_is_a_usage_error_without_the_password() -> None:
    with pytest.raises(UsageError) as caught:
        parse_location("mysql://root:pw@db/x", Path("."), "STABLEBUILD_HISTORY")
    assert "STABLEBUILD_HISTORY" in caught.value.message and "not a history store" in (
        caught.value.message
    )

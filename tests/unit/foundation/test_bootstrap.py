"""Bootstrap's refusals come before any work, each with what to do."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from stablebuild.base import rootfs as bootstrap_module
from stablebuild.base.rootfs import CA_PATH, BaseSpec, _changes, _sources_list, bootstrap
from stablebuild.errors import BootstrapError


class NoEngine:
    """Bootstrap must fail before touching the engine."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"engine used: {name}")


def test_missing_debootstrap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bootstrap_module.shutil, "which", lambda name: None)
    with pytest.raises(BootstrapError) as info:
        bootstrap(NoEngine(), BaseSpec(tag="t:1"))  # type: ignore[arg-type]
    assert "apt-get install -y debootstrap" in info.value.hint


def test_not_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bootstrap_module.shutil, "which", lambda name: "/usr/sbin/debootstrap")
    monkeypatch.setattr(bootstrap_module.os, "geteuid", lambda: 1000)
    with pytest.raises(BootstrapError) as info:
        bootstrap(NoEngine(), BaseSpec(tag="t:1"))  # type: ignore[arg-type]
    assert "root" in info.value.message


def test_missing_ca_bundle(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(bootstrap_module.shutil, "which", lambda name: "/usr/sbin/debootstrap")
    monkeypatch.setattr(bootstrap_module.os, "geteuid", lambda: 0)
    with pytest.raises(BootstrapError) as info:
        bootstrap(NoEngine(), BaseSpec(tag="t:1", ca_bundle=tmp_path / "none.pem"))  # type: ignore[arg-type]
    assert "none.pem" in info.value.message


def test_ca_bundle_lives_outside_the_path_apt_regenerates(tmp_path: Path) -> None:
    changes = _changes(BaseSpec(tag="t:1", ca_bundle=tmp_path / "ca.pem"))
    assert f"ENV PIP_CERT={CA_PATH}" in changes
    assert f"ENV SSL_CERT_FILE={CA_PATH}" in changes
    assert "/etc/ssl/certs/ca-certificates.crt" not in CA_PATH


def test_sources_include_updates_and_security() -> None:
    text = _sources_list("bookworm", "http://deb.debian.org/debian")
    assert "bookworm-updates" in text
    assert "http://deb.debian.org/debian-security bookworm-security" in text

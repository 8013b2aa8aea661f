"""user, packages.*, healthcheck, size, build_time, layers."""

from __future__ import annotations

from typing import Any

from stablebuild.checks.image import (
    check_build_time,
    check_healthcheck,
    check_image,
    check_layers,
    check_packages,
    check_size,
    check_user,
)
from stablebuild.checks.inputs import ImageMeta
from stablebuild.manifest.model import Budgets, PackagesSpec
from stablebuild.report.model import CheckStatus


def test_user_by_uid_passes(make_spec: Any, facts: dict[str, Any], meta: ImageMeta) -> None:
    result = check_user(make_spec(user="1000"), facts, meta)
    assert result.status is CheckStatus.PASSED
    assert result.value == "1000 (rendiff)"


def test_user_by_name_passes(make_spec: Any, facts: dict[str, Any], meta: ImageMeta) -> None:
    assert check_user(make_spec(user="rendiff"), facts, meta).status is CheckStatus.PASSED


def test_root_fails(make_spec: Any, facts: dict[str, Any], meta: ImageMeta) -> None:
    facts["identity"] = {"uid": 0, "gid": 0, "user": "root"}
    result = check_user(make_spec(), facts, meta._replace(user=""))
    assert result.status is CheckStatus.FAILED
    assert "root" in result.message


def test_other_user_fails(make_spec: Any, facts: dict[str, Any], meta: ImageMeta) -> None:
    facts["identity"] = {"uid": 1001, "gid": 1001, "user": "other"}
    result = check_user(make_spec(user="1000"), facts, meta)
    assert result.status is CheckStatus.FAILED
    assert "the manifest wants 1000" in result.message


def test_user_without_facts(make_spec: Any, meta: ImageMeta) -> None:
    root_meta = meta._replace(user="")
    assert check_user(make_spec(), None, root_meta).status is CheckStatus.FAILED
    # configured non-root, but nothing ran to prove it: an error, never a pass
    assert check_user(make_spec(), None, meta).status is CheckStatus.ERROR


def test_forbidden_package_fails(facts: dict[str, Any]) -> None:
    facts["dpkg"]["packages"]["gcc"] = "4:12.2.0-3"
    spec = PackagesSpec(forbid=("gcc", "libpq-dev"), require=("libpq5",))
    results = {r.id: r for r in check_packages(spec, facts)}
    assert results["packages.forbid.gcc"].status is CheckStatus.FAILED
    assert "gcc 4:12.2.0-3 is installed" in results["packages.forbid.gcc"].message
    assert results["packages.forbid.libpq-dev"].status is CheckStatus.PASSED
    assert results["packages.require.libpq5"].status is CheckStatus.PASSED


def test_forbidding_a_package_forbids_its_versioned_variant(facts: dict[str, Any]) -> None:
    facts["dpkg"]["packages"]["gcc-12:amd64"] = "12.2.0-14"
    result = check_packages(PackagesSpec(forbid=("gcc",)), facts)[0]
    assert result.status is CheckStatus.FAILED
    assert "gcc-12 12.2.0-14" in result.message
    assert result.value == ["gcc-12"]


def test_a_longer_name_is_not_a_versioned_variant(facts: dict[str, Any]) -> None:
    facts["dpkg"]["packages"]["gcc-12-base"] = "12.2.0-14"  # in every Debian image
    assert check_packages(PackagesSpec(forbid=("gcc",)), facts)[0].status is CheckStatus.PASSED


def test_required_package_missing_fails(facts: dict[str, Any]) -> None:
    result = check_packages(PackagesSpec(require=("libssl3",)), facts)[0]
    assert result.status is CheckStatus.FAILED


def test_no_dpkg_skips(facts: dict[str, Any]) -> None:
    facts["dpkg"] = {"available": False, "packages": {}}
    results = check_packages(PackagesSpec(forbid=("gcc",), require=("libpq5",)), facts)
    assert {r.status for r in results} == {CheckStatus.SKIPPED}
    assert "dpkg is not available" in results[0].message


def test_missing_dpkg_section_is_error(facts: dict[str, Any]) -> None:
    del facts["dpkg"]
    result = check_packages(PackagesSpec(require=("libpq5",)), facts)[0]
    assert result.status is CheckStatus.ERROR
    assert result.message == "probe did not report dpkg"


def test_healthcheck(meta: ImageMeta) -> None:
    assert check_healthcheck(meta).status is CheckStatus.PASSED
    missing = check_healthcheck(meta._replace(healthcheck=None))
    assert missing.status is CheckStatus.FAILED
    assert "no HEALTHCHECK" in missing.message
    disabled = check_healthcheck(meta._replace(healthcheck=("NONE",)))
    assert disabled.status is CheckStatus.FAILED


def test_size_budget(meta: ImageMeta) -> None:
    unbounded = check_size(Budgets(), meta)
    assert (unbounded.status, unbounded.value) == (CheckStatus.PASSED, 412.0)
    assert check_size(Budgets(size_mb=500), meta).status is CheckStatus.PASSED
    over = check_size(Budgets(size_mb=400), meta)
    assert over.status is CheckStatus.FAILED
    assert "over the 400 MB budget" in over.message


def test_build_time_budget(meta: ImageMeta) -> None:
    assert check_build_time(Budgets(build_seconds=60), meta).status is CheckStatus.PASSED
    slow = check_build_time(Budgets(build_seconds=30), meta)
    assert slow.status is CheckStatus.FAILED and slow.value == 42.5
    cached = check_build_time(Budgets(), meta._replace(build_seconds=None))
    assert cached.status is CheckStatus.SKIPPED


def test_layers_recorded(meta: ImageMeta) -> None:
    result = check_layers(meta)
    assert (result.status, result.value) == (CheckStatus.PASSED, 14)


def test_no_metadata_is_error(make_spec: Any, facts: dict[str, Any]) -> None:
    results = check_image(make_spec(healthcheck=True), facts, None)
    by_id = {r.id: r.status for r in results}
    assert by_id["healthcheck"] is CheckStatus.ERROR
    assert by_id["size"] is CheckStatus.ERROR
    assert by_id["layers"] is CheckStatus.ERROR

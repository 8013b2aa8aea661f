"""Image checks: the user it runs as, Debian packages, HEALTHCHECK, size, build time, layers."""

from __future__ import annotations

import re

from stablebuild.checks.inputs import ImageMeta
from stablebuild.checks.results import Facts, error, failed, not_reported, passed, section, skipped
from stablebuild.manifest.model import Budgets, ImageSpec, PackagesSpec
from stablebuild.report.model import CheckResult

NO_FACTS = "probe did not run: no facts"
NO_META = "image metadata unavailable (docker image inspect gave nothing)"


def _configured_user(meta_user: str) -> str:
    """Config.User without its group: "1000:1000" -> "1000"; "" means root."""
    return meta_user.split(":", 1)[0].strip()


def _is_root(user: str) -> bool:
    return user in ("", "0", "root")


def check_user(spec: ImageSpec, facts: Facts | None, meta: ImageMeta | None) -> CheckResult:
    """Non-root, and the required user by name or uid; judged on the uid the probe ran as."""
    expected = spec.user or "non-root"
    configured = _configured_user(meta.user) if meta is not None else None
    identity = section(facts, "identity") if facts is not None else None
    if identity is None or not isinstance(identity.get("uid"), int):
        if configured is not None and _is_root(configured):
            return failed(
                "user", "user", f"runs as root (Config.User is {meta.user if meta else ''!r})",
                "root", expected,
            )  # fmt: skip
        why = NO_FACTS if facts is None else not_reported(facts, "identity")
        return error("user", "user", f"{why}: cannot tell which uid the image runs as", configured)
    uid: int = identity["uid"]
    name = identity.get("user")
    seen = f"{uid} ({name})" if name else str(uid)
    if uid == 0:
        return failed(
            "user", "user", "runs as root (uid 0): add a USER instruction", seen, expected
        )
    if spec.user is not None:
        want = spec.user.strip()
        match = str(uid) == want if want.isdigit() else want in (name, configured)
        if not match:
            return failed("user", "user", f"runs as {seen}, the manifest wants {want}", seen, want)
    return passed("user", "user", f"runs as {seen}", seen, expected)


def check_packages(spec: PackagesSpec, facts: Facts | None) -> list[CheckResult]:
    ids = [f"packages.forbid.{p}" for p in spec.forbid] + [
        f"packages.require.{p}" for p in spec.require
    ]
    if facts is None:
        return [error("packages", "packages", NO_FACTS)]
    dpkg = section(facts, "dpkg")
    if dpkg is None:
        return [error(id, "packages", not_reported(facts, "dpkg")) for id in ids]
    if not dpkg.get("available"):
        why = "dpkg is not available in the image (not Debian-based?): packages cannot be listed"
        return [skipped(id, "packages", why) for id in ids]
    raw = dpkg.get("packages")
    installed = {k.split(":", 1)[0]: str(v) for k, v in (raw or {}).items()}
    results: list[CheckResult] = []
    for pkg in spec.forbid:
        id = f"packages.forbid.{pkg}"
        if pkg in installed:
            message = f"{pkg} {installed[pkg]} is installed: remove it from the runtime stage"
            results.append(failed(id, "packages", message, installed[pkg], "absent"))
        else:
            # NOTE: forbidding gcc forbids gcc-12 too: the versioned package is the compiler.
            related = sorted(p for p in installed if re.fullmatch(rf"{re.escape(pkg)}-\d[\w.]*", p))
            if related:
                found = ", ".join(f"{p} {installed[p]}" for p in related)
                message = f"{found} installed (a versioned {pkg}): remove it from the runtime stage"
                results.append(failed(id, "packages", message, related, "absent"))
            else:
                results.append(passed(id, "packages", f"{pkg} is not installed", None, "absent"))
    for pkg in spec.require:
        id = f"packages.require.{pkg}"
        if pkg in installed:
            message = f"{pkg} {installed[pkg]} is installed"
            results.append(passed(id, "packages", message, installed[pkg], "installed"))
        else:
            results.append(failed(id, "packages", f"{pkg} is not installed", None, "installed"))
    return results


def check_healthcheck(meta: ImageMeta | None) -> CheckResult:
    if meta is None:
        return error("healthcheck", "healthcheck", NO_META)
    test = meta.healthcheck
    if not test or test[0] == "NONE":
        return failed("healthcheck", "healthcheck", "no HEALTHCHECK defined in the image")
    command = " ".join(test[1:] if test[0] in ("CMD", "CMD-SHELL") else test)
    return passed("healthcheck", "healthcheck", f"HEALTHCHECK {command}", command)


def check_size(budgets: Budgets, meta: ImageMeta | None) -> CheckResult:
    if meta is None:
        return error("size", "size", NO_META)
    mb = round(meta.size_bytes / 1_000_000, 1)
    budget = budgets.size_mb
    if budget is None:
        return passed("size", "size", f"{mb} MB (no budget)", mb)
    if mb > budget:
        return failed("size", "size", f"{mb} MB is over the {budget:g} MB budget", mb, budget)
    return passed("size", "size", f"{mb} MB within the {budget:g} MB budget", mb, budget)


def check_build_time(budgets: Budgets, meta: ImageMeta | None) -> CheckResult:
    if meta is None:
        return error("build_time", "build_time", NO_META)
    seconds = meta.build_seconds
    budget = budgets.build_seconds
    if seconds is None:
        return skipped(
            "build_time", "build_time", "build time not measured (image reused)", None, budget
        )
    seconds = round(seconds, 1)
    if budget is None:
        return passed("build_time", "build_time", f"built in {seconds}s (no budget)", seconds)
    if seconds > budget:
        message = f"built in {seconds}s, over the {budget:g}s budget"
        return failed("build_time", "build_time", message, seconds, budget)
    message = f"built in {seconds}s within the {budget:g}s budget"
    return passed("build_time", "build_time", message, seconds, budget)


def check_layers(meta: ImageMeta | None) -> CheckResult:
    if meta is None:
        return error("layers", "layers", NO_META)
    return passed("layers", "layers", f"{meta.layers} layers", meta.layers)


def check_image(spec: ImageSpec, facts: Facts | None, meta: ImageMeta | None) -> list[CheckResult]:
    """Every image-family check the spec asks for, in report order."""
    results = [check_user(spec, facts, meta)]
    if spec.packages.forbid or spec.packages.require:
        results += check_packages(spec.packages, facts)
    if spec.healthcheck:
        results.append(check_healthcheck(meta))
    results += [check_size(spec.budgets, meta), check_build_time(spec.budgets, meta)]
    results.append(check_layers(meta))
    return results

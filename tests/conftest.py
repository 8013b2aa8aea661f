"""Test-session plumbing: the engine for `docker` tests, and the promise that nothing is left."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from tests.support import SESSION_RUN

from stablebuild.engine.client import LABEL_RUN

pytest_plugins = ["tests.history_support"]  # PostgreSQL for the history tests


@pytest.fixture(scope="session", autouse=True)
def _private_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Tests never read or write the user's stablebuild cache."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))
        yield


def _engine_or_none():  # type: ignore[no-untyped-def]
    from stablebuild.engine import connect
    from stablebuild.errors import EngineUnavailable

    try:
        return connect(timeout=600)
    except EngineUnavailable:
        return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not any("docker" in item.keywords for item in items):
        return
    if _engine_or_none() is not None:
        return
    if os.environ.get("CI"):
        raise pytest.UsageError(
            "CI: no Docker engine answers; `make engine` should have started one"
        )
    skip = pytest.mark.skip(reason="no Docker engine answers (run `make engine`)")
    for item in items:
        if "docker" in item.keywords:
            item.add_marker(skip)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """A test run leaves no containers, networks, volumes or tags behind: checked, not
    hoped."""
    engine = _engine_or_none()
    if engine is None:
        return
    # Containers are never meant to outlive a stablebuild run; tags only when asked to keep.
    # Only this session's own (fixture images, validate runs): a benchmark or another checkout
    # running beside the tests is not this run's leftover.
    leftovers = [
        c["Names"][0]
        for c in engine.docker.containers(all=True, filters={"label": LABEL_RUN})
        if (c.get("Labels") or {}).get(LABEL_RUN, "").startswith(SESSION_RUN)
    ]
    tags = [
        tag
        for image in engine.docker.images(filters={"label": LABEL_RUN})
        if (image.get("Labels") or {}).get(LABEL_RUN, "").startswith(SESSION_RUN)
        for tag in image.get("RepoTags") or []
        if tag != "<none>:<none>"
    ]
    ours = {"label": LABEL_RUN}
    leftovers += [
        f"network {n['Name']}"
        for n in engine.docker.networks(filters=ours)
        if (n.get("Labels") or {}).get(LABEL_RUN, "").startswith(SESSION_RUN)
    ]
    leftovers += [
        f"volume {v['Name']}"
        for v in engine.docker.volumes(filters=ours).get("Volumes") or []
        if (v.get("Labels") or {}).get(LABEL_RUN, "").startswith(SESSION_RUN)
    ]
    if leftovers or tags:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        message = f"tests left behind containers {leftovers} and image tags {tags}"
        if reporter is not None:
            reporter.write_line(f"ERROR: {message}", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED

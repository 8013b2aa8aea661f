"""An unchanged stack re-validates from the cache without starting a single container; a change
rebuilds and re-checks only the image it touched (real engine, events API as the witness)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from tests.integration.conftest import write_stack

from stablebuild.engine import Engine
from stablebuild.engine.client import LABEL_RUN
from stablebuild.manifest.load import load_manifest
from stablebuild.report.model import BuildStatus
from stablebuild.validate import ValidateOptions, Validation, validate

pytestmark = pytest.mark.docker


def _containers_created(engine: Engine, since: float, run_id: str) -> list[str]:
    events = engine.docker.events(
        since=int(since) - 1,
        until=int(time.time()) + 1,
        filters={"type": "container", "event": "create", "label": f"{LABEL_RUN}={run_id}"},
        decode=True,
    )
    return [e.get("id", "") for e in events]


@pytest.fixture
def stack(python_image: str, tmp_path: Path) -> Path:
    # NOTE: the cache folder (tmp_path / "cache") must not sit inside the build context.
    return write_stack(
        tmp_path / "stack",
        {
            "requirements.txt": "six==1.16.0\n",
            "a.Dockerfile": f'FROM {python_image}\nLABEL which="a"\n',
            "b.Dockerfile": f'FROM {python_image}\nLABEL which="b"\n',
            "stablebuild.yml": """
                version: 1
                name: cached
                python: "3.11"
                requirements: [requirements.txt]
                images:
                  a: {dockerfile: a.Dockerfile, interpreter: /opt/venv/bin/python, imports: [six]}
                  b: {dockerfile: b.Dockerfile, interpreter: /opt/venv/bin/python, imports: [six]}
            """,
        },
    )


def test_unchanged_stack_starts_no_container(engine: Engine, stack: Path, tmp_path: Path) -> None:
    options = ValidateOptions(cache_dir=tmp_path / "cache")
    first = validate(engine, load_manifest(stack), options)
    assert first.ok
    assert not any(image.from_cache for image in first.images)

    time.sleep(1.1)  # events have one-second resolution
    since = time.time()
    second = validate(engine, load_manifest(stack), options)
    assert second.ok
    assert [i.build.status for i in second.images] == [BuildStatus.CACHED] * 2
    assert all(image.from_cache for image in second.images)
    assert [c.id for c in second.images[0].checks] == [c.id for c in first.images[0].checks]
    assert _containers_created(engine, since, second.run_id) == []


def test_a_change_revalidates_only_what_it_touched(
    engine: Engine, stack: Path, tmp_path: Path
) -> None:
    options = ValidateOptions(cache_dir=tmp_path / "cache")
    assert validate(engine, load_manifest(stack), options).ok
    dockerfile = stack.parent / "b.Dockerfile"
    dockerfile.write_text(dockerfile.read_text() + 'LABEL changed="yes"\n')

    changed = Validation(
        engine,
        load_manifest(stack),
        ValidateOptions(cache_dir=tmp_path / "cache", changed_only=True),
    )
    assert [s.name for s in changed.selected()] == ["b"]

    report = validate(engine, load_manifest(stack), options)
    by_name = {i.name: i for i in report.images}
    assert by_name["a"].from_cache and by_name["a"].build.status is BuildStatus.CACHED
    assert not by_name["b"].from_cache and by_name["b"].build.status is BuildStatus.BUILT


def test_no_cache_rebuilds_and_rechecks(engine: Engine, stack: Path, tmp_path: Path) -> None:
    assert validate(engine, load_manifest(stack), ValidateOptions(cache_dir=tmp_path / "c")).ok
    report = validate(
        engine,
        load_manifest(stack),
        ValidateOptions(cache_dir=tmp_path / "c", use_cache=False, nocache=True),
    )
    assert report.ok
    assert all(i.build.status is BuildStatus.BUILT and not i.from_cache for i in report.images)

"""`promote --push`: every channel tag pushed and its digest checked at the registry,
transient errors retried, a refused push leaving the channel where it was."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.unit.engine.fake import FakeEngine

from stablebuild.errors import EngineError, EngineUnavailable
from stablebuild.history.interface import GitInfo, ImageRecord, RunKind, RunRecord
from stablebuild.history.releases import release_log
from stablebuild.history.sqlite import SqliteStore
from stablebuild.manifest import load_manifest
from stablebuild.manifest.model import Manifest
from stablebuild.release import Actor, PushFailed, promote, push_channel

MANIFEST = """\
version: 1
name: shop
images:
  api: {dockerfile: Dockerfile}
  worker: {dockerfile: Dockerfile}
release: {tag: "127.0.0.1:5000/{stack}/{image}:{channel}"}
"""


class RegistryEngine(FakeEngine):
    """The fake engine with a registry behind it: `failures` errors come first, in order."""

    def __init__(self, failures: list[EngineError] | None = None, lie: bool = False) -> None:
        super().__init__()
        self.failures = list(failures or [])
        self.lie = lie
        self.registry: dict[str, str] = {}
        self.pushes: list[str] = []

    def push(self, reference: str) -> str:
        self.pushes.append(reference)
        if self.failures:
            raise self.failures.pop(0)
        digest = "sha256:" + self.tags[reference].removeprefix("sha256:")
        self.registry[reference] = "sha256:other" if self.lie else digest
        return digest

    def registry_digest(self, reference: str) -> str | None:
        return self.registry.get(reference)


def _manifest(root: Path) -> Manifest:
    (root / "Dockerfile").write_text("FROM python:3.12-slim\n")
    (root / "stablebuild.yml").write_text(MANIFEST)
    return load_manifest(root / "stablebuild.yml")


def _promotable(tmp_path: Path, engine: FakeEngine, n: int = 1) -> SqliteStore:
    store = SqliteStore(tmp_path / "history.sqlite")
    for k in range(1, n + 1):
        images = tuple(
            ImageRecord(name, "built", 1.0, f"sha256:{name}-{k}", ok=True)
            for name in ("api", "worker")
        )
        run = RunRecord(
            f"run-{k}", RunKind.VALIDATE, "shop", f"2026-11-0{k}T09:00:00+00:00", "passed",
            images=images,
        )  # fmt: skip
        store.record(run)
        engine.images.update(i.image_id for i in images if i.image_id)
    return store


ACTOR = Actor("ci", GitInfo("c" * 40, "main", False), "2026-11-05T10:00:00+00:00")


def test_push_sends_each_channel_tag_and_records_the_digests(tmp_path: Path) -> None:
    engine = RegistryEngine()
    with _promotable(tmp_path, engine) as store:
        event = promote(_manifest(tmp_path), store, engine, "stable", actor=ACTOR, push=True)
        assert engine.registry == {
            "127.0.0.1:5000/shop/api:stable": "sha256:api-1",
            "127.0.0.1:5000/shop/worker:stable": "sha256:worker-1",
        }
        assert event.note == "pushed sha256:api-1 sha256:worker-1"
        assert release_log(store, "shop")[0].note == event.note


def test_transient_errors_are_retried_and_permanent_ones_are_not(tmp_path: Path) -> None:
    manifest = _manifest(tmp_path)
    flaky = RegistryEngine(
        [EngineUnavailable("lost"), EngineError("received unexpected HTTP status: 503")]
    )
    flaky.tags = {
        "127.0.0.1:5000/shop/api:stable": "sha256:a",
        "127.0.0.1:5000/shop/worker:stable": "sha256:w",
    }
    waits: list[float] = []
    assert len(push_channel(manifest, flaky, "stable", sleep=waits.append)) == 2
    assert waits == [1.0, 2.0] and flaky.pushes.count("127.0.0.1:5000/shop/api:stable") == 3

    denied = RegistryEngine(
        [EngineError("push: denied: requested access to the resource is denied")]
    )
    denied.tags = dict(flaky.tags)
    with pytest.raises(
        PushFailed, match=r"^push 127.0.0.1:5000/shop/api:stable failed: push: denied"
    ):
        push_channel(manifest, denied, "stable", sleep=waits.append)
    assert len(denied.pushes) == 1

    down = RegistryEngine([EngineError("connection refused")] * 3)
    down.tags = dict(flaky.tags)
    with pytest.raises(PushFailed, match=r"failed \(after 3 attempts\)"):
        push_channel(manifest, down, "stable", sleep=waits.append)


def test_a_digest_the_registry_does_not_hold_fails_and_the_channel_stays(tmp_path: Path) -> None:
    engine = RegistryEngine()
    with _promotable(tmp_path, engine, n=2) as store:
        manifest = _manifest(tmp_path)
        promote(manifest, store, engine, "stable", actor=ACTOR, run_id="run-1", push=True)
        engine.lie = True  # another push of the same tag lands in between
        with pytest.raises(PushFailed, match="the registry holds sha256:other, not sha256:api-2"):
            promote(manifest, store, engine, "stable", actor=ACTOR, run_id="run-2", push=True)
        assert engine.tags["127.0.0.1:5000/shop/api:stable"] == "sha256:api-1"
        assert [e.run_id for e in release_log(store, "shop")] == ["run-1"]


def test_an_engine_that_cannot_push_says_so() -> None:
    with pytest.raises(EngineError, match="the engine fake cannot push images"):
        FakeEngine().push("127.0.0.1:5000/shop/api:stable")

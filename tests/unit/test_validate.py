"""Validation's scheduling, without an engine."""

from __future__ import annotations

from pathlib import Path

from stablebuild.manifest.model import ImageSpec
from stablebuild.validate import build_chains


def test_images_of_one_dockerfile_build_in_one_chain(tmp_path: Path) -> None:
    api, worker = tmp_path / "api.Dockerfile", tmp_path / "worker.Dockerfile"
    specs = [
        ImageSpec("api", api, tmp_path),
        ImageSpec("worker-cpu", worker, tmp_path),
        ImageSpec("worker-gpu", worker, tmp_path),
    ]
    chains = build_chains(specs)
    assert [[s.name for s in chain] for chain in chains] == [["api"], ["worker-cpu", "worker-gpu"]]

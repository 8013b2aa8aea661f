"""A stack of the reference stack's shape (api, a CPU and a GPU worker of one Dockerfile)."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.unit.scheduling.test_validation_with_fake import DOCKERFILE, MANIFEST


@pytest.fixture
def stack(tmp_path: Path) -> Path:
    for name in ("api", "worker"):
        folder = tmp_path / "docker" / name
        folder.mkdir(parents=True)
        (folder / "Dockerfile").write_text(DOCKERFILE + f"# {name}\n")
    (tmp_path / "stablebuild.yml").write_text(MANIFEST)
    return tmp_path / "stablebuild.yml"

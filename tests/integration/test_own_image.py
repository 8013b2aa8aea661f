"""stablebuild's own image (docker/Dockerfile), validated as the root stablebuild.yml says:
`stablebuild validate . --profile airgap`, through the CLI, from the air-gapped base. The run
builds the CLI with hadolint and the Docker client library, and checks it imports, runs as a
non-root user and answers `stablebuild --version`; its reports pass their consumers' schemas."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.schemas.consumers import junit_problems, sarif_problems
from typer.testing import CliRunner

from stablebuild.cli import app

pytestmark = pytest.mark.docker

ROOT = Path(__file__).resolve().parents[2]


def test_own_image_validates(base_image: str, tmp_path: Path) -> None:
    report_path = tmp_path / "report.json"
    sarif_path = tmp_path / "report.sarif"
    junit_path = tmp_path / "report.xml"
    result = CliRunner().invoke(
        app,
        [
            "validate", str(ROOT), "--profile", "airgap", "--quiet",
            "-o", f"json:{report_path}", "-o", f"sarif:{sarif_path}", "-o", f"junit:{junit_path}",
        ],
    )  # fmt: skip
    assert report_path.is_file(), result.output
    report = json.loads(report_path.read_text(encoding="utf-8"))
    assert result.exit_code == 0, result.output
    [image] = report["images"]
    assert image["name"] == "stablebuild" and image["ok"] is True
    checks = {check["id"]: check for check in image["checks"]}
    for module in ("stablebuild", "stablebuild.cli", "docker", "typer"):
        assert checks[f"imports.{module}"]["status"] == "passed"
    assert checks["user"]["status"] == "passed" and checks["user"]["value"].startswith("1000")
    # `stablebuild --version && hadolint --version && exec sleep`: still up means both ran
    assert checks["runtime.start"]["status"] == "passed"
    assert checks["files./opt/stablebuild/bin/hadolint"]["status"] == "passed"
    assert checks["packages.forbid.gcc"]["status"] == "passed"
    assert sarif_problems(json.loads(sarif_path.read_text(encoding="utf-8"))) == []
    assert junit_problems(junit_path.read_text(encoding="utf-8")) == []

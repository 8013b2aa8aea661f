"""An extra CA bundle reaches builder stages and never the final image (real engine).

The fixture base trusts only pip's public certifi bundle, as an image behind a proxy that
re-signs HTTPS would: `pip download` fails there unless stablebuild injects the host's bundle.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.integration.conftest import write_stack

from stablebuild.engine import Engine
from stablebuild.engine.trust import BUILD_CA_PATH
from stablebuild.manifest.load import load_manifest
from stablebuild.report.model import BuildStatus, CheckStatus
from stablebuild.validate import ValidateOptions, validate

pytestmark = pytest.mark.docker

HOST_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
CERTIFI = "/opt/venv/lib/python3.11/site-packages/pip/_vendor/certifi/cacert.pem"


def _stack(root: Path, python_image: str) -> Path:
    return write_stack(
        root,
        {
            "noca.Dockerfile": f"""
                FROM {python_image}
                ENV PIP_CERT={CERTIFI} SSL_CERT_FILE={CERTIFI} REQUESTS_CA_BUNDLE={CERTIFI}
            """,
            "app.Dockerfile": """
                ARG BASE
                FROM ${BASE} AS builder
                RUN /opt/venv/bin/pip download --no-deps --disable-pip-version-check \\
                    -d /tmp/wheels six==1.16.0
                FROM ${BASE}
                COPY --from=builder /tmp/wheels /home/app/wheels
            """,
            "stablebuild.yml": f"""
                version: 1
                name: ca
                images:
                  app:
                    dockerfile: app.Dockerfile
                    args: {{BASE: "stablebuild-test/noca:ca"}}
                    files: [/home/app/wheels/six-1.16.0-py2.py3-none-any.whl, {BUILD_CA_PATH}]
            """,
        },
    )


@pytest.fixture(scope="module")
def noca_image(engine: Engine, python_image: str, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    from tests.integration.conftest import build_fixture, remove_fixture

    root = tmp_path_factory.mktemp("noca")
    _stack(root, python_image)
    tag = "stablebuild-test/noca:ca"
    build_fixture(engine, root / "noca.Dockerfile", tag, {})
    yield tag
    remove_fixture(engine, tag)


@pytest.mark.skipif(not HOST_BUNDLE.is_file(), reason="no host CA bundle")
def test_without_the_bundle_the_build_fails_and_says_why(
    engine: Engine, noca_image: str, python_image: str, tmp_path: Path
) -> None:
    manifest = load_manifest(_stack(tmp_path, python_image))
    report = validate(engine, manifest, ValidateOptions())
    outcome = report.images[0].build
    if outcome.status is BuildStatus.BUILT:
        pytest.skip("HTTPS is not re-signed on this machine: nothing to prove")
    assert outcome.diagnosis is not None
    assert outcome.diagnosis.cause == "tls-verification"


@pytest.mark.skipif(not HOST_BUNDLE.is_file(), reason="no host CA bundle")
def test_bundle_trusted_in_builder_only(
    engine: Engine, noca_image: str, python_image: str, tmp_path: Path
) -> None:
    manifest = load_manifest(_stack(tmp_path, python_image))
    report = validate(engine, manifest, ValidateOptions(ca_bundle=HOST_BUNDLE))
    image = report.images[0]
    assert image.build.status is BuildStatus.BUILT, image.build.log[-20:]
    assert any("builder stages: builder" in line for line in image.build.log)
    checks = {c.id: c for c in image.checks}
    assert checks["files./home/app/wheels/six-1.16.0-py2.py3-none-any.whl"].status is (
        CheckStatus.PASSED
    )
    # The bundle is absent from the final image: the files check says so by failing.
    assert checks[f"files.{BUILD_CA_PATH}"].status is CheckStatus.FAILED
    assert not engine.docker.images(name="stablebuild/trust-*")

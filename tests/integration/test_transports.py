"""Both transports of `EngineAPI` on the real engine: the standard-library unix socket (a local
engine) and docker-py's session (what tcp://, ssh:// and contexts use), giving the same answers
for what a validation run asks: a build, an inspect, a locked-down probe, a file read from a
created container, the run's cleanup."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import docker
import pytest
from tests.support import SESSION_RUN

from stablebuild.engine.apiengine import ApiEngine
from stablebuild.engine.build import BuildRequest
from stablebuild.engine.client import Engine
from stablebuild.engine.dockerpy import DockerPyTransport, engine_for
from stablebuild.engine.unixapi import EngineSocket
from stablebuild.report.model import BuildStatus

pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def engines(engine: Engine) -> Iterator[dict[str, ApiEngine]]:
    assert isinstance(engine.api.transport, EngineSocket)  # a local engine: no docker-py
    client = docker.APIClient(base_url=engine.api.endpoint, version="auto", timeout=300)
    through_docker_py = engine_for(client, client.info())
    assert isinstance(through_docker_py.api.transport, DockerPyTransport)
    yield {"socket": ApiEngine(engine), "docker-py": ApiEngine(through_docker_py)}
    client.close()


def test_the_same_build_probe_and_files_through_both(
    engines: dict[str, ApiEngine], base_image: str, tmp_path: Path
) -> None:
    (tmp_path / "Dockerfile").write_text(
        'ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nCOPY app /app\nUSER 1000\nHEALTHCHECK CMD ["true"]\n'
    )
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "main.py").write_text("print('ok')\n")
    (tmp_path / ".dockerignore").write_text("**/*.pyc\n")
    (tmp_path / "app" / "stale.pyc").write_bytes(b"\0")
    seen = {}
    for name, api_engine in engines.items():
        run_id = f"{SESSION_RUN}-{name}"
        label = f"{SESSION_RUN}-transports"  # NOTE: one label: the same image both ways
        request = BuildRequest(
            name, tmp_path, tmp_path / "Dockerfile", None, label, {"BASE_IMAGE": base_image}
        )
        outcome = api_engine.build(request)
        assert outcome.status is BuildStatus.BUILT, outcome.log
        assert outcome.image_id is not None
        meta = api_engine.inspect(outcome.image_id)
        probe = api_engine.run_probe(
            outcome.image_id,
            ["/bin/sh", "-c", "ls /app; id -u; echo to-stderr >&2; exit 3"],
            run_id=run_id,
            timeout=60,
            gpu=False,
        )
        facts = api_engine.interpreter(outcome.image_id, "python3", run_id=run_id, search_path=None)
        digest = api_engine.inputs_digest(
            context=tmp_path,
            dockerfile=tmp_path / "Dockerfile",
            args={"BASE_IMAGE": base_image},
            target=None,
            ca_bundle=None,
        )
        assert api_engine.remove_containers(run_id) == 0  # the probe removed its own
        seen[name] = (
            outcome.image_id,
            meta.user,
            meta.healthcheck,
            probe.exit_code,
            probe.stdout,
            probe.stderr,
            facts.end,
            digest,
        )
    assert seen["socket"] == seen["docker-py"]
    _image_id, user, healthcheck, code, out, err, _end, digest = seen["socket"]
    assert (user, healthcheck, code) == ("1000", ("CMD", "true"), 3)
    assert out == "main.py\n1000\n" and err == "to-stderr\n"  # the .pyc was not sent
    assert digest is not None


def test_a_probe_past_its_timeout_is_killed_and_removed(
    engines: dict[str, ApiEngine], base_image: str
) -> None:
    for name, api_engine in engines.items():
        run_id = f"{SESSION_RUN}-slow-{name}"
        result = api_engine.run_probe(
            base_image, ["/bin/sleep", "30"], run_id=run_id, timeout=1.5, gpu=False
        )
        assert result.timed_out and result.exit_code == -1, name
        assert api_engine.remove_containers(run_id) == 0, name

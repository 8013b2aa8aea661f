"""The engine seam: docker-py and requests are imported under stablebuild/engine/ only, and
docker-py's failures leave it as stablebuild errors naming the endpoint."""

from __future__ import annotations

import ast
from pathlib import Path

import docker.errors
import pytest
import requests.exceptions

from stablebuild.engine.api import ApiError, EngineLost, NotFound, TimedOut
from stablebuild.engine.apiengine import translated as api_translated
from stablebuild.engine.dockerpy import translated
from stablebuild.errors import EngineError, EngineUnavailable

SRC = Path(__file__).resolve().parents[3] / "src" / "stablebuild"
CLIENT_PACKAGES = {"docker", "requests"}


def imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def test_docker_and_requests_are_imported_only_by_the_engine_package() -> None:
    offenders = sorted(
        str(path.relative_to(SRC))
        for path in SRC.rglob("*.py")
        if "engine" not in path.relative_to(SRC).parts[:1]
        and imported_roots(path) & CLIENT_PACKAGES
    )
    assert offenders == []
    assert (SRC / "validate.py").is_file() and (SRC / "engine" / "dockerpy.py").is_file()


def test_the_check_sees_a_function_level_import(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from docker.errors import APIError\n    return APIError\n")
    assert imported_roots(module) == {"docker"}


def test_a_lost_connection_is_engine_unavailable_naming_the_endpoint() -> None:
    with pytest.raises(EngineUnavailable) as caught, translated("ssh://builder@gpu-host"):
        raise requests.exceptions.ConnectionError("Connection aborted.")
    assert "ssh://builder@gpu-host" in caught.value.message
    assert "Connection aborted." in caught.value.message
    assert caught.value.hint


def test_an_api_error_is_an_engine_error() -> None:
    with pytest.raises(EngineError) as caught, translated("unix:///var/run/docker.sock"):
        raise docker.errors.APIError("500 Server Error: no space left on device")
    assert not isinstance(caught.value, EngineUnavailable)
    assert "no space left on device" in caught.value.message


def test_an_empty_error_still_gives_a_message() -> None:
    with pytest.raises(EngineError, match="DockerException"), translated("tcp://10.0.0.5:2376"):
        raise docker.errors.DockerException()


def test_inside_the_engine_package_only_the_docker_py_modules_import_it() -> None:
    # NOTE: a local engine is spoken to with the standard library (engine/unixapi.py): the
    # modules a validation run loads must not pull docker-py in (~0.3 s of start-up).
    users = sorted(
        path.name
        for path in (SRC / "engine").glob("*.py")
        if imported_roots(path) & CLIENT_PACKAGES and _top_level_import(path)
    )
    assert users == ["dockerpy.py", "engines.py"]


def _top_level_import(path: Path) -> bool:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return any(
        isinstance(node, ast.Import | ast.ImportFrom)
        and (node.module if isinstance(node, ast.ImportFrom) else node.names[0].name or "").split(
            "."
        )[0]
        in CLIENT_PACKAGES
        for node in tree.body
    )


@pytest.mark.parametrize(
    ("failure", "unavailable"),
    [
        (EngineLost("/var/run/docker.sock: [Errno 111] Connection refused"), True),
        (TimedOut("no answer within 600 s"), True),
        (ApiError(500, "no space left on device"), False),
        (NotFound(404, "No such image: x"), False),
    ],
)
def test_the_api_s_failures_leave_the_seam_as_stablebuild_errors(
    failure: Exception, unavailable: bool
) -> None:
    with pytest.raises(EngineError) as caught, api_translated("unix:///run/docker.sock"):
        raise failure
    assert isinstance(caught.value, EngineUnavailable) is unavailable
    assert "unix:///run/docker.sock" in caught.value.message
    assert str(failure).split(": ", 1)[-1] in caught.value.message

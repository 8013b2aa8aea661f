"""The probe and trial containers are created with process and CPU limits (no engine)."""

from __future__ import annotations

from typing import Any

import pytest

from stablebuild.engine.client import Engine
from stablebuild.engine.containers import (
    PROBE_PIDS,
    TRIAL_PIDS,
    probe_nano_cpus,
    run_locked,
    trial_run,
)


class RecordingAPI:
    """Records the host config of each container (the Engine API's own words); every
    container exits at once."""

    def __init__(self) -> None:
        self.host_configs: list[dict[str, Any]] = []

    def create_container(self, config: dict[str, Any], name: str | None = None) -> str:
        self.host_configs.append(config["HostConfig"])
        return "c1"

    def inspect_image(self, image: str) -> dict[str, Any]:
        return {"Config": {}}

    def inspect_container(self, cid: str) -> dict[str, Any]:
        return {"State": {"Running": False, "ExitCode": 0}}

    def start(self, cid: str) -> None:
        pass

    def wait(self, cid: str, timeout: float) -> int:
        return 0

    def logs(self, cid: str, **_: Any) -> tuple[bytes, bytes]:
        return b"", b""

    def log_text(self, cid: str, **_: Any) -> bytes:
        return b""

    def remove_container(self, cid: str, volumes: bool = False) -> None:
        pass


@pytest.mark.parametrize(("ncpu", "nano"), [(64, 2_000_000_000), (2, 2_000_000_000), (1, 10**9)])
def test_probe_gets_two_cpus_or_the_engine_s_count(ncpu: int, nano: int) -> None:
    api = RecordingAPI()
    run_locked(Engine(api=api, info={"NCPU": ncpu}), "img", ["python3", "-c", "1"], run_id="r")
    config = api.host_configs[0]
    assert config["PidsLimit"] == PROBE_PIDS
    assert config["NanoCpus"] == nano
    assert config["Memory"] == 2 * 1024**3
    assert config["CapDrop"] == ["ALL"] and config["SecurityOpt"] == ["no-new-privileges"]
    assert config["NetworkMode"] == "none" and config["ReadonlyRootfs"] is True


def test_an_engine_without_a_cpu_count_still_limits_the_probe() -> None:
    assert probe_nano_cpus(Engine(api=None, info={})) == 2_000_000_000
    assert probe_nano_cpus(Engine(api=None, info={"NCPU": "n/a"})) == 2_000_000_000


def test_trial_gets_a_process_limit() -> None:
    api = RecordingAPI()
    trial_run(
        Engine(api=api, info={}),
        "img",
        run_id="r",
        env={},
        port=None,
        health_path=None,
        start_seconds=1,
    )
    assert api.host_configs[0]["PidsLimit"] == TRIAL_PIDS
    assert api.host_configs[0]["Memory"] == 2 * 1024**3

"""The run's compose file, made from `compose config` output (v1 and v2 shapes) as pure data."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from stablebuild.engine.composefile import (
    Port,
    cpu_limits,
    ports_of,
    project_name,
    run_file,
    unrunnable,
)

LABELS = {"org.stablebuild.run": "20260101-ab12"}

# What Debian's docker-compose 1.29.2 printed for examples/ffmpeg-api (compose.yml +
# compose.airgap.yml + compose.stable.yml), trimmed to the parts the run file changes.
V1_CONFIG = yaml.safe_load("""
services:
  api:
    build: {context: /src/examples/ffmpeg-api, dockerfile: docker/api/Dockerfile, target: runtime}
    environment: {BROKER_URL: "redis://redis:6379/0", STORAGE_DIR: /data}
    image: ffmpeg-api/api:local
    ports:
    - published: 8000
      target: 8000
    restart: unless-stopped
    volumes: ["media:/data:rw"]
  postgres:
    build: {args: {BASE_IMAGE: "stablebuild/airgap:bookworm"}, context: /src/docker/postgres}
    container_name: shop-db
    healthcheck: {interval: 5s, retries: 10, test: [CMD-SHELL, pg_isready], timeout: 5s}
    image: ffmpeg-api/postgres:airgap
    volumes: ["pgdata:/var/lib/postgresql/data:rw"]
  redis:
    image: redis:7
    labels: ["team=media"]
    ports: ["127.0.0.1:6379:6379/tcp", "9121"]
  worker-cpu:
    build: {args: {WORKER_TYPE: cpu}, context: /src/examples/ffmpeg-api}
    image: ffmpeg-api/worker-cpu:local
    volumes: ["media:/data:rw"]
version: '3.9'
volumes:
  media: {}
  pgdata: {}
  shared: {external: true}
""")

# What docker compose v2 prints: a name, long port syntax with strings, named networks.
V2_CONFIG = yaml.safe_load("""
name: ffmpeg-api
services:
  api:
    image: ffmpeg-api/api:local
    build: {context: /src, dockerfile: docker/api/Dockerfile}
    networks: {default: null}
    ports:
    - {mode: ingress, target: 8000, published: "8000", protocol: tcp}
    - {mode: ingress, host_ip: 0.0.0.0, target: 9000, published: "9000-9001", protocol: udp}
networks:
  default: {name: ffmpeg-api_default}
""")


def model(config: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    return run_file(config, labels=LABELS, images={"api": "sha256:aaa"}, **kwargs)


def test_mapped_services_run_their_validated_image_and_are_never_built() -> None:
    out = model(V1_CONFIG)
    api = out["services"]["api"]
    assert api["image"] == "sha256:aaa"
    assert "build" not in api
    assert api["environment"] == V1_CONFIG["services"]["api"]["environment"]
    assert api["restart"] == "unless-stopped"


def test_fixed_host_ports_become_ephemeral_loopback_ports() -> None:
    out = model(V1_CONFIG)
    assert out["services"]["api"]["ports"] == ["127.0.0.1::8000/tcp"]
    assert out["services"]["redis"]["ports"] == ["127.0.0.1::6379/tcp", "127.0.0.1::9121/tcp"]
    v2 = model(V2_CONFIG)["services"]["api"]
    assert v2["ports"] == ["127.0.0.1::8000/tcp", "127.0.0.1::9000/udp"]


def test_smoke_ports_are_published_and_host_networking_is_left_alone() -> None:
    config = {
        "services": {
            "api": {"image": "a", "ports": ["8000"]},
            "worker": {"image": "w"},
            "sidecar": {"image": "s", "network_mode": "service:api", "ports": ["1"]},
        }
    }
    out = model(config, publish={"api": [8000, 8080], "worker": [9000]})
    assert out["services"]["api"]["ports"] == ["127.0.0.1::8000/tcp", "127.0.0.1::8080/tcp"]
    assert out["services"]["worker"]["ports"] == ["127.0.0.1::9000/tcp"]
    assert out["services"]["sidecar"]["ports"] == ["1"]


def test_every_container_network_and_volume_carries_the_run_label() -> None:
    out = model(V1_CONFIG)
    for name, service in out["services"].items():
        assert service["labels"]["org.stablebuild.run"] == "20260101-ab12", name
    assert out["services"]["redis"]["labels"]["team"] == "media"  # v1's list form is kept
    assert out["volumes"]["media"] == {"labels": LABELS}
    assert out["volumes"]["pgdata"] == {"labels": LABELS}
    assert out["volumes"]["shared"] == {"external": True}  # not the project's: not labelled
    assert out["networks"] == {"default": {"labels": LABELS}}
    v2 = model(V2_CONFIG)
    assert v2["networks"]["default"] == {"name": "ffmpeg-api_default", "labels": LABELS}
    assert "name" not in v2  # the project name is the run's, given on the command line


def test_fixed_container_names_are_dropped() -> None:
    assert "container_name" not in model(V1_CONFIG)["services"]["postgres"]


def test_built_services_get_the_runs_tag_and_label() -> None:
    tag = "stablebuild/shop-postgres:20260101-ab12"
    out = model(V1_CONFIG, build_tags={"postgres": tag})
    postgres = out["services"]["postgres"]
    assert postgres["image"] == tag
    assert postgres["build"]["context"] == "/src/docker/postgres"
    assert postgres["build"]["args"] == {"BASE_IMAGE": "stablebuild/airgap:bookworm"}
    assert postgres["build"]["labels"] == LABELS
    # A service neither mapped nor built keeps its image and build section: `up --no-build`
    # runs what the engine has, never builds it.
    assert out["services"]["redis"]["image"] == "redis:7"
    assert out["services"]["worker-cpu"]["build"]["context"] == "/src/examples/ffmpeg-api"


def test_waited_services_check_health_every_second_with_their_own_test() -> None:
    out = model(V1_CONFIG, waited=["postgres", "api"], wait_seconds=90)
    assert out["services"]["postgres"]["healthcheck"] == {
        "interval": "1s", "retries": 10, "test": ["CMD-SHELL", "pg_isready"], "timeout": "5s",
        "start_period": "90s",
    }  # fmt: skip
    # No test: the image's own HEALTHCHECK runs on this schedule.
    assert out["services"]["api"]["healthcheck"] == {"interval": "1s", "start_period": "90s"}
    assert "healthcheck" not in out["services"]["redis"]
    disabled = {"services": {"api": {"image": "a", "healthcheck": {"disable": True}}}}
    assert model(disabled, waited=["api"])["services"]["api"]["healthcheck"] == {"disable": True}


def test_the_input_is_not_changed() -> None:
    before = yaml.safe_dump(V1_CONFIG)
    model(V1_CONFIG, waited=["api"], build_tags={"postgres": "t"})
    assert yaml.safe_dump(V1_CONFIG) == before


def test_services_that_only_build_must_be_mapped_or_built() -> None:
    config = {"services": {"api": {"build": "."}, "job": {"build": "."}, "db": {"image": "pg"}}}
    assert unrunnable(config, {"api": "api"}, []) == ["job"]
    assert unrunnable(config, {"api": "api"}, ["job"]) == []
    config["services"]["job"]["profiles"] = ["batch"]  # not started unless the profile is on
    assert unrunnable(config, {"api": "api"}, []) == []
    assert unrunnable(config, {"api": "api"}, [], ["batch"]) == ["job"]


@pytest.mark.parametrize(
    ("entry", "port"),
    [
        ("8000", Port("8000")),
        ("8000:80", Port("80")),
        ("127.0.0.1:8000:80/udp", Port("80", "udp")),
        ("127.0.0.1::80", Port("80")),
        ("[::1]:8000:80", Port("80")),
        ("9000-9005:9000-9005", Port("9000-9005")),
        (8000, Port("8000")),
        ({"target": 80, "published": "8080", "protocol": "udp"}, Port("80", "udp")),
    ],
)
def test_ports_in_every_syntax(entry: object, port: Port) -> None:
    assert ports_of({"ports": [entry]}) == [port]


def test_project_names_are_unique_to_the_run_and_valid_for_compose() -> None:
    assert (
        project_name("ffmpeg-api", "20260101120000-ab12cd") == "sb-ffmpeg-api-20260101120000-ab12cd"
    )
    assert project_name("My Stack!", "CI.42/x") == "sb-my-stack-ci-42-x"
    assert project_name("a" * 80, "r") == "sb-" + "a" * 24 + "-r"


def test_cpu_limits_above_the_engines_cpus_are_lowered_and_named() -> None:
    config = {
        "services": {
            "worker": {"image": "w", "deploy": {"resources": {"limits": {"cpus": 4.0}}}},
            "api": {"image": "a", "cpus": "1.5", "deploy": {"resources": {"limits": {}}}},
        }
    }
    out = model(config, max_cpus=2.0)
    assert out["services"]["worker"]["deploy"]["resources"]["limits"]["cpus"] == "2"
    assert out["services"]["api"]["cpus"] == "1.5"  # within what the engine has: unchanged
    assert cpu_limits(config, 2.0) == ["worker cpus 4"]
    assert config["services"]["worker"]["deploy"]["resources"]["limits"]["cpus"] == 4.0
    assert model(config)["services"]["worker"]["deploy"]["resources"]["limits"]["cpus"] == 4.0

"""The Markdown report's engine table: shown when a run used several engines."""

from __future__ import annotations

from stablebuild.engine.interface import Capabilities
from stablebuild.report.format.markdown import MarkdownFormat
from stablebuild.report.model import BuildOutcome, BuildStatus, ImageReport, Report

LOCAL = Capabilities(
    "local",
    "unix:///var/run/docker.sock",
    "20.10.24+dfsg1",
    "1.41",
    ("io.containerd.runc.v2", "runc"),
    os_arch="linux/x86_64",
    cpus=2,
    memory_bytes=8 * 1024**3,
)
GPU = Capabilities(
    "gpu-host",
    "ssh://builder@gpu-host.internal",
    None,
    "",
    unreachable="the engine at ssh://builder@gpu-host.internal stopped answering: a|b",
)


def image(name: str, engine: str) -> ImageReport:
    report = ImageReport(name, BuildOutcome(BuildStatus.BUILT, 42.0, None, "sha256:" + "a" * 64))
    report.engine = engine
    return report


def report(engines: list[Capabilities]) -> Report:
    return Report(
        stack="ffmpeg-api",
        run_id="20261129034500-abc123",
        started_at="2026-11-29T03:45:00+00:00",
        complete=True,
        images=[
            image("api", "local"),
            image("worker-gpu", "local (retried: engine gpu-host stopped answering)"),
        ],
        engine={**engines[0].to_json(), "engines": [e.to_json() for e in engines]},
    )


def test_several_engines_get_a_table_with_what_each_built() -> None:
    text = MarkdownFormat().format(report([LOCAL, GPU]))
    lines = text.splitlines()
    head = lines.index(
        "| engine | endpoint | version | OS/arch | CPUs | memory | runtimes | images |"
    )
    assert lines[head + 2] == (
        "| local | `unix:///var/run/docker.sock` | 20.10.24+dfsg1 | linux/x86_64 | 2 | 8.0 GiB "
        "| io.containerd.runc.v2, runc | `api`, `worker-gpu` (retried) |"
    )
    assert lines[head + 3] == (
        "| gpu-host | `ssh://builder@gpu-host.internal` | ⚠️ unreachable: the engine at "
        "ssh://builder@gpu-host.internal stopped answering: a\\|b |  |  |  |  | — |"
    )


def test_one_engine_gets_no_table() -> None:
    one = report([LOCAL])
    del one.engine["engines"]
    assert "| engine |" not in MarkdownFormat().format(one)
    assert "| engine |" not in MarkdownFormat().format(report([LOCAL]))  # a list of one

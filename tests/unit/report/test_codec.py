"""The report model as JSON data and back (`report/codec.py`): what the result cache, the stack
verdicts and remembered answers keep. The layout is pinned: data written by an earlier version
(the same keys, in the same order) must read back as the same report."""

from __future__ import annotations

import json

from stablebuild.report.codec import from_data, to_data
from stablebuild.report.model import (
    BuildOutcome,
    BuildStatus,
    CheckResult,
    CheckStatus,
    Diagnosis,
    ImageReport,
    Report,
    StackReport,
)

CHECK = CheckResult("python.version", "python", CheckStatus.PASSED, "3.12.7", "3.12.7", "3.12")
DIAGNOSIS = Diagnosis("pg-config-missing", "no pg_config", "install libpq-dev", "pg_config")


def _report() -> Report:
    failed = BuildOutcome(BuildStatus.FAILED, 3.5, log=["step 1"], error="exit 1")
    failed.diagnosis = DIAGNOSIS  # NOTE: filled in after the build, as validate does
    return Report(
        stack="shop",
        run_id="20261129000000-aaaaaa",
        started_at="2026-11-29T00:00:00+00:00",
        finished_at="2026-11-29T00:00:01+00:00",
        images=[
            ImageReport(
                "api",
                BuildOutcome(BuildStatus.CACHED, 1.0, "shop-api:1", "sha256:ab", 10, 3, ["ok"]),
                [CHECK],
                {"python": {"version": [3, 12, 7]}},
                from_cache=True,
                engine="default",
            ),
            ImageReport("worker", failed),
        ],
        engine={"server_version": "20.10.24", "runtimes": ["runc"]},
        manifest="/stack/stablebuild.yml",
        stack_phase=StackReport("sb-shop-1", "docker-compose 1.29.2", 41.0, [CHECK], True),
    )


def test_the_data_layout_is_the_one_earlier_versions_wrote() -> None:
    data = to_data(_report())
    assert list(data) == [
        "stack",
        "run_id",
        "started_at",
        "finished_at",
        "complete",
        "profile",
        "images",
        "engine",
        "manifest",
        "stack_phase",
    ]
    api, worker = data["images"]
    assert list(api) == ["name", "build", "checks", "facts", "from_cache", "engine"]
    assert api["build"] == {
        "status": "cached",
        "seconds": 1.0,
        "tag": "shop-api:1",
        "image_id": "sha256:ab",
        "size_bytes": 10,
        "layers": 3,
        "log": ["ok"],
        "error": None,
        "diagnosis": None,
    }
    assert api["checks"] == [
        {
            "id": "python.version",
            "family": "python",
            "status": "passed",
            "message": "3.12.7",
            "value": "3.12.7",
            "expected": "3.12",
        }
    ]
    assert worker["build"]["diagnosis"] == {
        "cause": "pg-config-missing",
        "summary": "no pg_config",
        "hint": "install libpq-dev",
        "evidence": "pg_config",
    }
    assert data["stack_phase"]["checks"] == api["checks"]


def test_a_report_read_back_is_equal_and_shares_nothing_with_the_original() -> None:
    report = _report()
    data = to_data(report)
    again = from_data(json.loads(json.dumps(data)))
    assert again == report
    assert again != _report_with_other_run()
    assert repr(again) == repr(report)
    assert "run_id='20261129000000-aaaaaa'" in repr(report)
    data["images"][0]["facts"]["python"]["version"].append(99)  # the data is a copy
    assert report.images[0].facts == {"python": {"version": [3, 12, 7]}}


def test_every_list_a_run_fills_in_is_its_own() -> None:
    one, two = Report("a", "r1", "t"), Report("a", "r2", "t")
    one.images.append(ImageReport("api", BuildOutcome(BuildStatus.BUILT)))
    one.images[0].checks.append(CHECK)
    assert two.images == [] and ImageReport("x", BuildOutcome(BuildStatus.BUILT)).checks == []
    assert StackReport().checks == [] and BuildOutcome(BuildStatus.BUILT).log == []


def _report_with_other_run() -> Report:
    report = _report()
    report.run_id = "20261129000001-bbbbbb"
    return report

"""The KPI table's numbers, from runs with known values."""

from __future__ import annotations

import pytest
from tests.unit.history.factories import api_image, broken_image, run_record, series, worker_image

from stablebuild.history.kpi import image_kpi, kpi_table, median, percentile, sparkline
from stablebuild.report.model import BuildStatus


def test_median_and_nearest_rank_p90() -> None:
    assert median([]) is None and percentile([], 90) is None
    assert median([3.0, 1.0, 2.0]) == 2.0 and median([4.0, 1.0, 3.0, 2.0]) == 2.5
    assert percentile([float(n) for n in range(1, 11)], 90) == 9.0
    assert percentile([5.0], 90) == 5.0


def test_build_time_counts_only_builds_that_ran() -> None:
    runs = [
        run_record(0, [api_image(build_s=40.0)]),
        run_record(1, [api_image(build_s=99.0, cached=True)]),  # reused: not a build time
        run_record(2, [api_image(build_s=50.0)]),
    ]
    kpi = image_kpi("api", [r.image("api") for r in runs])
    assert kpi.build_median == 45.0 and kpi.build_p90 == 50.0
    assert kpi.build_times == (40.0, None, 50.0)


def test_rates_sizes_health_and_failing_checks() -> None:
    table = kpi_table("ffmpeg-api", series(14), order=["worker", "api"])
    assert [k.image for k in table.images] == ["worker", "api"]
    api = table.images[1]
    assert api.runs == 14 and api.success_rate == 1.0
    assert api.pass_rate == pytest.approx(12 / 14)  # runs 6 and 13 fail imports.fastapi
    assert api.failing == (("imports.fastapi", 2),)
    assert (api.size_first, api.size_now, api.size_min) == (400_000_000, 413_000_000, 400_000_000)
    assert api.size_change == pytest.approx(0.0325)
    assert api.health_rate == 1.0 and api.healthy_median == pytest.approx(2.1)
    assert table.runs == 14 and table.first_at == "2026-11-01T09:00:00+00:00"


def test_a_failed_build_lowers_the_success_rate_and_an_interrupted_one_does_not() -> None:
    interrupted = broken_image()
    interrupted.build.status = BuildStatus.SKIPPED
    runs = [
        run_record(0, [api_image(), broken_image()]),
        run_record(1, [api_image(), interrupted], complete=False),
        run_record(2, [api_image(), worker_image()]),
    ]
    table = kpi_table("ffmpeg-api", runs)
    migrate = next(k for k in table.images if k.image == "migrate")
    assert migrate.runs == 1 and migrate.success_rate == 0.0 and migrate.size_now is None
    assert migrate.failing == ()  # a build failure is the build's, not a check's
    worker = next(k for k in table.images if k.image == "worker")
    assert worker.runs == 1 and worker.sizes == (None, None, 900.0)


def test_sparklines_span_eight_levels_and_keep_gaps() -> None:
    assert sparkline([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]) == "▁▂▃▄▅▆▇█"
    assert sparkline([5.0, None, 5.0]) == "▁ ▁"
    assert sparkline([None, None]) == ""
    long = sparkline([float(n) for n in range(100)], width=10)
    assert len(long) == 10 and long[0] == "▁" and long[-1] == "█"

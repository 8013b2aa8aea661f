"""Regression gates: limits as written on the command line, baselines, and the judgment."""

from __future__ import annotations

import pytest
from tests.unit.history.factories import api_image, run_record

from stablebuild.errors import UsageError
from stablebuild.history.regression import METRICS, baseline, judge_image, parse_limits
from stablebuild.report.model import CheckStatus


def test_limits_parse_as_fractions() -> None:
    assert parse_limits("size=10%,build=25%,start=50%") == {
        "size": 0.10, "build": 0.25, "start": 0.50,
    }  # fmt: skip
    assert parse_limits(" size = 2.5 % ") == {"size": 0.025}


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("memory=10%", "unknown metric 'memory'; the metrics are size, build, start"),
        ("size=-1%", "expected METRIC=PERCENT"),
        ("size", "expected METRIC=PERCENT"),
        ("", "no limit given"),
    ],
)
def test_bad_limits_say_what_to_write(text: str, words: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_limits(text)
    assert words in f"{caught.value.message}; {caught.value.hint}"


def _history(*sizes: float, failing: tuple[int, ...] = ()) -> list:  # type: ignore[type-arg]
    return [
        run_record(n, [api_image(size, failed=("user",) if n in failing else ())])
        for n, size in enumerate(sizes)
    ]


def test_the_baseline_is_the_median_of_the_newest_passing_runs() -> None:
    runs = _history(100.0, 500.0, 200.0, 210.0, 220.0, 999.0, 230.0, 240.0, failing=(5,))
    value, count = baseline("api", METRICS["size"], runs)
    assert (value, count) == (220.0, 5)  # 500 is older than the newest five, 999 failed


def test_over_the_limit_fails_naming_both_numbers() -> None:
    runs = _history(400.0, 400.0, 400.0)
    (check,) = judge_image(
        run_record(9, [api_image(442.0)]).images[0], runs, {"size": 0.10}, "on branch main"
    )
    assert check.id == "regression.size" and check.status is CheckStatus.FAILED
    assert check.message == (
        "size 442.0 MB is 10.5% above the baseline 400.0 MB (median of 3 passing runs on "
        "branch main); the limit is +10%"
    )
    assert (check.value, check.expected) == (442.0, 400.0)


def test_at_the_limit_passes() -> None:
    runs = _history(400.0)
    (check,) = judge_image(run_record(9, [api_image(440.0)]).images[0], runs, {"size": 0.1}, "x")
    assert check.status is CheckStatus.PASSED and "+10.0% against the baseline" in check.message


def test_nothing_to_compare_is_skipped_with_the_reason() -> None:
    current = run_record(9, [api_image(build_s=30.0, cached=True, healthy_s=None)]).images[0]
    checks = judge_image(current, [], {"size": 0.1, "build": 0.2, "start": 0.5}, "on branch dev")
    assert [c.status for c in checks] == [CheckStatus.SKIPPED] * 3
    size, build, start = (c.message for c in checks)
    assert size == "no passing run on branch dev measured the size: nothing to compare with"
    assert "reused from the cache" in build and "start-to-healthy" in start


def test_a_failed_build_gets_no_regression_check() -> None:
    from tests.unit.history.factories import broken_image

    current = run_record(9, [broken_image()]).images[0]
    assert judge_image(current, _history(400.0), {"size": 0.1}, "x") == []

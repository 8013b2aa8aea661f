"""The HTML report as text: self-contained, escaped, charts marked, small enough at 1,000 runs."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from tests.unit.history.factories import api_image, broken_image, run_record, series, worker_image

from stablebuild.history.html import render_html
from stablebuild.history.interface import FindingCount, RunKind, RunRecord
from stablebuild.history.svg import Point, chart


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def _tags(page: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Tags()
    parser.feed(page)
    return parser.tags


def test_nothing_is_loaded_from_anywhere() -> None:
    page = render_html("ffmpeg-api", series(30))
    tags = _tags(page)
    names = {tag for tag, _ in tags}
    assert not names & {"script", "link", "img", "iframe", "object", "embed"}
    assert not [a for _, attrs in tags for a in attrs if a in ("src", "href") or a.startswith("on")]
    assert "url(" not in page and "@import" not in page
    assert sum(1 for tag, attrs in tags if tag == "svg" and attrs.get("class") == "chart") == 6


def test_failures_and_regressions_are_marked_on_the_charts() -> None:
    runs = [
        run_record(0, [api_image(400.0)]),
        run_record(1, [api_image(401.0)]),
        run_record(2, [api_image(480.0, failed=("regression.size",))]),
        run_record(3, [api_image(402.0, failed=("imports.fastapi",))]),
    ]
    page = render_html("ffmpeg-api", runs)
    size_chart = re.search(r'<svg class="chart"[^>]*>.*?api: size.*?</svg>', page, re.S)
    assert size_chart is not None
    text = size_chart.group(0)
    assert text.count('class="rg"') == 1 and text.count('class="fl"') == 1
    assert "20261101110000-000002 · regression.size: regression" in text
    assert "imports.fastapi" in text  # the tooltip of the failed run names its check


def test_a_failed_build_shows_its_diagnosis_and_log() -> None:
    page = render_html("ffmpeg-api", [run_record(0, [api_image(), broken_image()])])
    assert (
        "pg-config-missing: psycopg2 is being built from source (fix: use psycopg2-binary)" in page
    )
    assert "<pre>" in page and "Error: pg_config executable not found." in page


def test_names_and_messages_are_escaped() -> None:
    image = api_image(failed=("files./app",))
    image.name = "api<script>alert(1)</script>"
    image.checks[-1] = type(image.checks[-1])(
        "files./app", "files", image.checks[-1].status, "missing <b>/app</b> & more"
    )
    page = render_html("s<x>", [run_record(0, [image])])
    assert "<script>" not in page and "alert(1)</script>" not in page
    assert "missing &lt;b&gt;/app&lt;/b&gt; &amp; more" in page and "s&lt;x&gt;" in page


def test_an_empty_history_and_audits_only() -> None:
    assert "no validate run recorded yet" in render_html("s", [])
    audit = RunRecord(
        "a", RunKind.AUDIT, "s", "2026-11-02T10:00:00+00:00", "failed",
        findings=(FindingCount("SB101", "error", 3),),
    )  # fmt: skip
    assert "audits: 1 recorded; newest 2026-11-02: 3 error" in render_html("s", [], audits=[audit])


def test_a_thousand_runs_stay_under_two_megabytes() -> None:
    runs = [
        run_record(
            n,
            [
                api_image(
                    400.0 + n / 10, 40.0 + n % 9, failed=("regression.size",) if n % 50 == 0 else ()
                ),
                worker_image(900.0 + n % 3, 60.0 + n % 5),
                broken_image() if n % 7 == 0 else worker_image(300.0),
            ],
        )
        for n in range(1000)
    ]
    for n, run in enumerate(runs):  # the third image is `migrate`, failing every 7th run
        images = (*run.images[:2], run.images[2]._replace(name="migrate"))
        runs[n] = run._replace(images=images)
    page = render_html("ffmpeg-api", runs)
    assert len(page.encode()) < 2_000_000
    assert page.count('<svg class="chart"') == 9


def test_a_chart_with_one_point_or_none() -> None:
    assert "not measured in these runs" in chart("t", "s", [Point(None, "r1")])
    single = chart("t", "MB", [Point(5.0, "r1")])
    assert "<polyline" not in single and 'class="pt"' in single

"""`stablebuild report --html`: one self-contained HTML file from the history of a stack.

The newest run's matrix (and its engines, when it used several), each image's failures
(diagnosis, build log tail, failed checks), the KPI table with the release channels holding
each image, SVG trend charts of size, build time and start time with failures, regressions and
promotions marked, the recent promotions and rollbacks, and the recent runs. No script, no
external font, style or image: it opens from disk.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import TYPE_CHECKING

from stablebuild.history.interface import ImageRecord, RunRecord
from stablebuild.history.kpi import KpiTable, build_seconds, kpi_table
from stablebuild.history.regression import FAMILY
from stablebuild.history.svg import FAILED, REGRESSED, RELEASED, STYLE, Point, chart
from stablebuild.history.tables import (
    NONE,
    audit_line,
    change,
    failing,
    megabytes,
    rate,
    released,
    seconds,
)

if TYPE_CHECKING:
    from stablebuild.history.releases import ReleaseEvent

RECENT_RUNS = 30
RECENT_RELEASES = 30

CSS = (
    "body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:24px auto;"
    "max-width:1080px;padding:0 16px;color:#222;background:#fff}"
    "h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;"
    "border-bottom:1px solid #e0e0e0;padding-bottom:4px}h3{font-size:15px;margin:20px 0 6px}"
    ".sub{color:#666;margin:0 0 12px}"
    "table{border-collapse:collapse;margin:6px 0 10px;font-size:13px}"
    "th,td{border:1px solid #e0e0e0;padding:4px 8px;text-align:left;vertical-align:top}"
    "th{background:#f5f5f5}td.n{text-align:right;font-variant-numeric:tabular-nums}"
    ".ok{color:#2e7d32;font-weight:600}.bad{color:" + FAILED + ";font-weight:600}"
    ".warn{color:#9a6700;font-weight:600}"
    "pre{background:#f6f8fa;border:1px solid #e0e0e0;padding:8px;overflow:auto;"
    "font-size:12px;max-height:360px}"
    ".charts{display:flex;flex-wrap:wrap;gap:8px}"
    ".legend span{margin-right:16px}.dot{display:inline-block;width:10px;height:10px;"
    "border-radius:50%;margin-right:4px;vertical-align:middle}"
    "code{font-size:12px}" + STYLE
)


def _e(text: object) -> str:
    return escape(str(text), quote=True)


def _status(text: str) -> str:
    css = {"passed": "ok", "built": "ok", "cached": "ok", "incomplete": "warn"}.get(text, "bad")
    return f'<span class="{css}">{_e(text)}</span>'


def _when(iso: str | None) -> str:
    return iso[:16].replace("T", " ") if iso else NONE


def _git(run: RunRecord) -> str:
    git = run.git
    if git.commit is None:
        return NONE
    dirty = " (dirty)" if git.dirty else ""
    return f"{_e(git.branch or 'detached')} @ <code>{_e(git.commit[:10])}</code>{dirty}"


def _checks(image: ImageRecord) -> str:
    parts = [f'<span class="ok">✔ {image.passed}</span>']
    if image.failed:
        parts.append(f'<span class="bad">✘ {image.failed}</span>')
    if image.errors:
        parts.append(f'<span class="bad">! {image.errors}</span>')
    if image.skipped:
        parts.append(f'<span class="warn">– {image.skipped}</span>')
    return " ".join(parts)


def _latest(run: RunRecord) -> list[str]:
    out = [
        "<h2>Latest run</h2>",
        f'<p class="sub">run <code>{_e(run.id)}</code> · {_e(_when(run.started_at))} UTC · '
        f"{_git(run)} · profile {_e(run.profile or 'default')} · {_status(run.status)}</p>",
        "<table><tr><th>image</th><th>build</th><th>checks</th><th>size</th>"
        "<th>build time</th><th>start to healthy</th><th>python</th><th>failed checks</th></tr>",
    ]
    for image in run.images:
        failed = ", ".join(f"<code>{_e(c.id)}</code>" for c in image.failed_checks) or NONE
        out.append(
            f"<tr><td><b>{_e(image.name)}</b></td><td>{_status(image.build_status)}</td>"
            f"<td>{_checks(image)}</td><td class='n'>{megabytes(image.size_bytes)}</td>"
            f"<td class='n'>{seconds(build_seconds(image))}</td>"
            f"<td class='n'>{seconds(image.healthy_seconds)}</td>"
            f"<td>{_e(image.python_version or NONE)}</td><td>{failed}</td></tr>"
        )
    out.append("</table>")
    if len(run.engines) > 1:
        out += _engines(run)
    return out


def _memory(value: int | None) -> str:
    return NONE if value is None else f"{value / 1024**3:.1f} GiB"


def _engines(run: RunRecord) -> list[str]:
    """The engines of a run that used several, and which images each built."""
    out = [
        "<h3>Engines</h3>",
        "<table><tr><th>engine</th><th>endpoint</th><th>version</th><th>OS/arch</th>"
        "<th>CPUs</th><th>memory</th><th>runtimes</th><th>images built</th></tr>",
    ]
    for engine in run.engines:
        built = [i.name for i in run.images if i.engine == engine.name]
        runtimes = ", ".join(engine.runtimes) or NONE
        gpu = ' <span class="ok">nvidia</span>' if engine.nvidia else ""
        state = "" if engine.reachable else ' <span class="bad">(unreachable)</span>'
        out.append(
            f"<tr><td><b>{_e(engine.name)}</b>{state}</td><td><code>{_e(engine.endpoint)}</code>"
            f"</td><td>{_e(engine.server_version or NONE)}</td><td>{_e(engine.os_arch or NONE)}"
            f"</td><td class='n'>{NONE if engine.cpus is None else engine.cpus}</td>"
            f"<td class='n'>{_memory(engine.memory_bytes)}</td><td>{_e(runtimes)}{gpu}</td>"
            f"<td>{_e(', '.join(built) or NONE)}</td></tr>"
        )
    out.append("</table>")
    return out


def _failures(image: ImageRecord) -> list[str]:
    out: list[str] = []
    if image.diagnosis:
        out.append(f"<p><b>diagnosis:</b> {_e(image.diagnosis)}</p>")
    if image.log_tail:
        out.append(
            "<details open><summary>end of the build log</summary>"
            f"<pre>{_e(image.log_tail)}</pre></details>"
        )
    if image.failed_checks:
        out.append("<ul>")
        out += [
            f"<li><code>{_e(c.id)}</code> <span class='bad'>{_e(c.status)}</span>: "
            f"{_e(c.message)}</li>"
            for c in image.failed_checks
        ]
        out.append("</ul>")
    return out


def _kpis(table: KpiTable) -> list[str]:
    out = [
        "<h2>KPIs</h2>",
        "<table><tr><th>image</th><th>runs</th><th>built</th><th>passed</th>"
        "<th>build p50</th><th>build p90</th><th>size now</th><th>vs first</th>"
        "<th>size min</th><th>healthy p50</th><th>health</th><th>failing most</th>"
        "<th>released</th></tr>",
    ]
    for kpi in table.images:
        out.append(
            f"<tr><td><b>{_e(kpi.image)}</b></td><td class='n'>{kpi.runs}</td>"
            f"<td class='n'>{rate(kpi.success_rate)}</td><td class='n'>{rate(kpi.pass_rate)}</td>"
            f"<td class='n'>{seconds(kpi.build_median)}</td>"
            f"<td class='n'>{seconds(kpi.build_p90)}</td>"
            f"<td class='n'>{megabytes(kpi.size_now)}</td>"
            f"<td class='n'>{change(kpi.size_change)}</td>"
            f"<td class='n'>{megabytes(kpi.size_min)}</td>"
            f"<td class='n'>{seconds(kpi.healthy_median)}</td>"
            f"<td class='n'>{rate(kpi.health_rate)}</td><td>{_e(failing(kpi))}</td>"
            f"<td>{_e(released(kpi))}</td></tr>"
        )
    out.append("</table>")
    line = audit_line(table)
    if line:
        out.append(f'<p class="sub">{_e(line)}</p>')
    return out


def _release_notes(releases: Sequence[ReleaseEvent]) -> dict[tuple[str, str], str]:
    """(run id, image) -> what put that build in a channel: "promoted to stable 2026-11-02"."""
    notes: dict[tuple[str, str], list[str]] = {}
    for event in releases:
        what = "promoted to" if event.action == "promote" else "rolled back in"
        for image in event.images:
            notes.setdefault((event.run_id, image), []).append(
                f"{what} {event.channel} {_when(event.at)} by {event.who}"
            )
    return {key: "; ".join(found) for key, found in notes.items()}


def _series(
    runs: Sequence[RunRecord], name: str, notes: dict[tuple[str, str], str] | None = None
) -> dict[str, list[Point]]:
    notes = notes or {}
    series: dict[str, list[Point]] = {"size": [], "build": [], "start": []}
    for run in runs:
        image = run.image(name)
        label = f"{_when(run.started_at)} {run.id}"
        if image is None or image.build_status == "skipped":
            for points in series.values():
                points.append(Point(None, label))
            continue
        regressed = [c.id for c in image.failed_checks if c.id.startswith(f"{FAMILY}.")]
        failed = not image.ok
        if failed:
            label += " · " + (
                ", ".join(c.id for c in image.failed_checks[:4]) or f"build {image.build_status}"
            )
        values = {
            "size": image.size_bytes / 1e6 if image.size_bytes else None,
            "build": build_seconds(image),
            "start": image.healthy_seconds,
        }
        note = notes.get((run.id, name), "")
        for metric, points in series.items():
            regression = f"{FAMILY}.{metric}" in regressed
            points.append(Point(values[metric], label, failed, regression, note))
    return series


def _image_section(
    runs: Sequence[RunRecord], name: str, notes: dict[tuple[str, str], str]
) -> list[str]:
    series = _series(runs, name, notes)
    first, last = _when(runs[0].started_at)[:10], _when(runs[-1].started_at)[:10]
    out = [
        f'<h3 id="image-{_e(name)}">{_e(name)}</h3>',
        '<div class="charts">',
        chart(f"{name}: size", "MB", series["size"], first, last),
        chart(f"{name}: build time", "s", series["build"], first, last),
        chart(f"{name}: start to healthy", "s", series["start"], first, last),
        "</div>",
    ]
    latest = next((run.image(name) for run in reversed(runs) if run.image(name)), None)
    if latest is not None and not latest.ok:
        out.append("<p><b>In the newest run that built it:</b></p>")
        out += _failures(latest)
    return out


def _recent(runs: Sequence[RunRecord]) -> list[str]:
    out = [
        "<h2>Recent runs</h2>",
        "<table><tr><th>started (UTC)</th><th>run</th><th>git</th><th>status</th>"
        "<th>images not passing</th></tr>",
    ]
    for run in list(reversed(runs))[:RECENT_RUNS]:
        bad = ", ".join(_e(i.name) for i in run.images if not i.ok) or NONE
        out.append(
            f"<tr><td>{_e(_when(run.started_at))}</td><td><code>{_e(run.id)}</code></td>"
            f"<td>{_git(run)}</td><td>{_status(run.status)}</td><td>{bad}</td></tr>"
        )
    out.append("</table>")
    return out


def _releases(releases: Sequence[ReleaseEvent]) -> list[str]:
    out = [
        "<h2>Releases</h2>",
        "<table><tr><th>when (UTC)</th><th>channel</th><th>action</th><th>run</th><th>who</th>"
        "<th>commit</th><th>images</th><th>note</th></tr>",
    ]
    for event in sorted(releases, key=lambda e: (e.at, e.position), reverse=True)[:RECENT_RELEASES]:
        css = "ok" if event.action == "promote" else "warn"
        images = ", ".join(f"{name} <code>{_e(i[7:19] if i.startswith('sha256:') else i[:12])}"
                           "</code>" for name, i in event.images.items())  # fmt: skip
        out.append(
            f"<tr><td>{_e(_when(event.at))}</td><td><b>{_e(event.channel)}</b></td>"
            f'<td><span class="{css}">{_e(event.action)}</span></td>'
            f"<td><code>{_e(event.run_id)}</code></td><td>{_e(event.who)}</td>"
            f"<td><code>{_e((event.commit or NONE)[:10])}</code></td><td>{images or NONE}</td>"
            f"<td>{_e(event.note or NONE)}</td></tr>"
        )
    out.append("</table>")
    return out


def render_html(
    stack: str,
    runs: Sequence[RunRecord],
    *,
    audits: Sequence[RunRecord] = (),
    order: Sequence[str] = (),
    generated_at: str = "",
    releases: Sequence[ReleaseEvent] = (),
) -> str:
    """The whole document for the validate `runs` (oldest first) of `stack`, and its release
    log (promotions and rollbacks, any order)."""
    table = kpi_table(stack, runs, order, audits, releases)
    notes = _release_notes(releases)
    window = (
        f"{len(runs)} recorded runs · {_when(table.first_at)} → {_when(table.last_at)} UTC"
        if runs
        else "no validate run recorded yet"
    )
    body = [
        f"<h1>stablebuild · {_e(stack)}</h1>",
        f'<p class="sub">{_e(window)}'
        + (f" · generated {_e(_when(generated_at))} UTC" if generated_at else "")
        + "</p>",
    ]
    if runs:
        body += _latest(runs[-1])
        body += _kpis(table)
        body.append("<h2>Trends</h2>")
        body.append(
            '<p class="legend"><span><span class="dot" style="background:'
            f'{FAILED}"></span>the image failed in that run</span><span>'
            f'<span class="dot" style="background:{REGRESSED}"></span>'
            "a regression gate failed</span><span>"
            f'<span class="dot" style="background:{RELEASED}"></span>'
            "the run's build was promoted (or rolled back to)</span></p>"
        )
        for kpi in table.images:
            body += _image_section(runs, kpi.image, notes)
        if releases:
            body += _releases(releases)
        body += _recent(runs)
    elif table.audit is not None:
        body += _kpis(table)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>stablebuild report · {_e(stack)}</title><style>{CSS}</style></head>"
        f"<body>{''.join(body)}</body></html>\n"
    )


__all__ = ["render_html"]

"""One line per failure, `path:line: severity rule message`: what problem matchers (GitHub's
`ci/github/stablebuild-matcher.json`), editors and other CIs parse, with paths relative to the
repository root; then the verdict, which no matcher takes for a problem."""

from __future__ import annotations

from stablebuild.report.format.failures import failures
from stablebuild.report.format.interface import ReportFormatter
from stablebuild.report.format.source import Place
from stablebuild.report.format.summary import verdict
from stablebuild.report.format.text import clean
from stablebuild.report.model import Report


def line(place: Place | None, severity: str, rule: str, message: str) -> str:
    """`path:line: severity rule message` on one line (`stablebuild:` when nowhere in a file)."""
    text = " ".join(clean(message).split())
    where = f"{place.path}:{place.line}:" if place is not None else "stablebuild:"
    return f"{where} {severity} {rule} {text}"


class GithubFormat(ReportFormatter):
    def format(self, report: Report) -> str:
        lines = [
            line(f.place, "error", f.rule, f"{f.title}: {f.message}") for f in failures(report)[1]
        ]
        lines.append(f"stablebuild: {verdict(report)}")
        return "".join(f"{text}\n" for text in lines)

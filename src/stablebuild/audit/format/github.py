"""One line per finding, `path:line: severity rule message`: what problem matchers (GitHub's
`ci/github/stablebuild-matcher.json`), editors and other CIs parse. Paths are relative to the
repository root; a finding about the run itself starts with `stablebuild:` instead. Only active
findings: a suppressed or baseline one is no problem to annotate (`--format json` lists them)."""

from __future__ import annotations

from stablebuild.audit.format.interface import AuditFormatter
from stablebuild.audit.format.places import located
from stablebuild.audit.result import AuditResult
from stablebuild.report.format.github import line


class GithubFormat(AuditFormatter):
    def format(self, result: AuditResult) -> str:
        lines = []
        for finding, where in located(result)[1]:
            if not finding.active:
                continue
            message = finding.message + (f" (fix: {finding.hint})" if finding.hint else "")
            lines.append(line(where, finding.severity.value, finding.rule, message))
        return "".join(f"{text}\n" for text in lines)

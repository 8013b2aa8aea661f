"""Inline suppressions: `# stablebuild: ignore[SB301] reason` on a finding's line, or alone on
the line above it, in any file the audit reads that has `#` comments (Dockerfiles,
requirements files, TOML lockfiles, compose files, workflow YAML, .gitlab-ci.yml, pyproject.toml,
.python-version). `# stablebuild: ignore-file[SB205] reason` covers the whole file, for findings
that have no line.

A suppressed finding stays in the report, marked `suppressed` with its reason, and never counts
toward the gate. A suppression without a reason (SB010), one that matches no finding (SB011)
and one that cannot be read or names no known rule (SB012) are findings themselves. A
suppression of a rule whose check could not run this time (no index, no vulnerability
database, no hadolint) is not called stale: it may match next time.

Pure functions over findings and file texts; the runner applies them after the rule families
ran and before the gate.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from stablebuild.audit.finding import Finding, Severity, State
from stablebuild.audit.rule import Rule
from stablebuild.audit.sources import DOCKERFILE_GLOBS
from stablebuild.config import rule_problem

SB010 = Rule(
    "SB010",
    "SuppressionWithoutReason",
    Severity.WARNING,
    "Inline suppression without a reason",
    "A `# stablebuild: ignore[SB301]` comment that does not say why. It still suppresses, but "
    "the next reader cannot tell an accepted risk from a silenced alarm.",
    "write the reason after the brackets: `# stablebuild: ignore[SB301] built in the builder "
    "stage, which has gcc`",
)
SB011 = Rule(
    "SB011",
    "StaleSuppression",
    Severity.WARNING,
    "Inline suppression matches no finding",
    "A `# stablebuild: ignore[...]` comment whose rule reports nothing on the line it covers "
    "(the line itself for a trailing comment, the next line for a comment alone on its line): "
    "the problem was fixed, or the comment moved away from it. Not reported for a rule whose "
    "check could not run this time (offline without a cached index answer, no vulnerability "
    "database, hadolint not installed).",
    "remove the comment, or move it onto (or just above) the line it is about",
)
SB012 = Rule(
    "SB012",
    "MalformedSuppression",
    Severity.WARNING,
    "Inline suppression cannot be read or names an unknown rule",
    "A comment starting `# stablebuild:` that is not `ignore[RULE,...] reason` or "
    "`ignore-file[RULE,...] reason`, that names a rule id the audit does not have, or that "
    "trails an instruction in a Dockerfile (Docker has no trailing comments: `COPY a b  # x` "
    "copies a file named `#`). It suppresses nothing (an unknown id), or only the ids it names "
    "correctly.",
    "write `# stablebuild: ignore[SB301] reason`; docs/rules.md lists the ids",
)
RULES = (SB010, SB011, SB012)

_MARK = "stablebuild:"
_COMMENT = re.compile(r"(?:^|\s)#\s*stablebuild:\s*(?P<body>.*)$", re.IGNORECASE)
_DIRECTIVE = re.compile(
    r"^(?P<kind>ignore-file|ignore)\s*\[(?P<ids>[^\]]*)\]\s*[-:—–]*\s*(?P<reason>.*)$",
    re.IGNORECASE,
)
# Files whose format has no `#` comments: a `#` there is data, never a suppression.
_NO_COMMENTS = (".json",)
WHOLE_FILE = 0


@dataclass(frozen=True)
class Suppression:
    """One rule id of one suppression comment. `covers` is the line it applies to, or
    WHOLE_FILE for `ignore-file`."""

    file: str
    line: int  # the comment's own line
    covers: int
    rule: str
    reason: str

    def matches(self, finding: Finding) -> bool:
        if finding.file != self.file:
            return False
        if self.covers != WHOLE_FILE and finding.line != self.covers:
            return False
        return finding.rule == self.rule or (
            ":" not in self.rule and finding.rule.split(":", 1)[0] == self.rule
        )


def parse(file: str, text: str) -> tuple[list[Suppression], list[Finding]]:
    """The suppressions in one file's text, and the findings about the comments themselves
    (SB010 no reason, SB012 unreadable or unknown rule)."""
    if _MARK not in text.lower() or file.lower().endswith(_NO_COMMENTS):
        return [], []
    lines = text.removeprefix("\ufeff").splitlines()
    found: list[Suppression] = []
    problems: list[Finding] = []
    for number, line in enumerate(lines, start=1):
        if _MARK not in line.lower():
            continue
        comment = _COMMENT.search(line)
        if comment is None:
            continue
        directive = _DIRECTIVE.match(comment.group("body").strip())
        if directive is None:
            problems.append(
                SB012.finding(
                    file,
                    number,
                    f"cannot read the suppression {_quoted(comment.group(0))}: it suppresses "
                    "nothing",
                )
            )
            continue
        ids = [i.strip().upper() for i in re.split(r"[,\s]+", directive.group("ids")) if i]
        reason = directive.group("reason").strip()
        before = line[: comment.start()].strip()
        if directive.group("kind").lower() == "ignore-file":
            covers = WHOLE_FILE
        elif before and _is_dockerfile(file) and not before.upper().startswith("RUN"):
            # NOTE: Docker has no trailing comments: the text becomes the instruction's own
            instruction = before.split()[0].upper()
            problems.append(
                SB012.finding(
                    file,
                    number,
                    f"Docker reads a trailing `#` as part of the {instruction} instruction, not "
                    "as a comment: put the suppression alone on the line above",
                )
            )
            continue
        elif before:
            covers = number  # a trailing comment: its own line
        else:
            covers = _next_line(lines, number)
        if not ids:
            problems.append(SB012.finding(file, number, "suppression names no rule id"))
        for rule in ids:
            problem = rule_problem(rule)
            if problem is not None:
                problems.append(SB012.finding(file, number, f"suppression: {problem}"))
                continue
            found.append(Suppression(file, number, covers, rule, reason))
        if ids and not reason:
            problems.append(
                SB010.finding(file, number, f"suppression of {', '.join(ids)} gives no reason")
            )
    return found, problems


def _is_dockerfile(file: str) -> bool:
    name = file.rsplit("/", 1)[-1]
    return any(fnmatch.fnmatch(name, pattern) for pattern in DOCKERFILE_GLOBS)


def _next_line(lines: list[str], number: int) -> int:
    """The line a comment alone on line `number` covers: the next one that is not itself a
    comment alone (so several suppressions can stand one above the other)."""
    following = number + 1
    while following <= len(lines) and lines[following - 1].lstrip().startswith("#"):
        following += 1
    return following


def _quoted(text: str) -> str:
    shown = " ".join(text.split())
    return f"`{shown[:80]}{'...' if len(shown) > 80 else ''}`"


def collect(
    files: Iterable[str], read: Callable[[Path], str | None]
) -> tuple[list[Suppression], list[Finding]]:
    """Every suppression in `files` (relative POSIX paths), read with `read` (None: unread)."""
    suppressions: list[Suppression] = []
    problems: list[Finding] = []
    for file in dict.fromkeys(files):
        text = read(Path(file))
        if text is None:
            continue
        found, wrong = parse(file, text)
        suppressions += found
        problems += wrong
    return suppressions, problems


def apply(
    findings: Sequence[Finding],
    suppressions: Sequence[Suppression],
    unchecked: Collection[str] = (),
) -> tuple[list[Finding], list[Finding]]:
    """The findings with the suppressed ones marked, and SB011 for each suppression that
    matched nothing. `unchecked`: rule ids (or id prefixes, `SB3`) whose check did not run."""
    by_file: dict[str, list[Suppression]] = {}
    for suppression in suppressions:
        by_file.setdefault(suppression.file, []).append(suppression)
    used: set[Suppression] = set()
    out: list[Finding] = []
    for finding in findings:
        hits = [s for s in by_file.get(finding.file, ()) if s.matches(finding)]
        if not hits or not finding.active:
            out.append(finding)
            continue
        used.update(hits)
        out.append(finding._replace(state=State.SUPPRESSED, justification=hits[0].reason))
    stale = [
        SB011.finding(
            s.file,
            s.line,
            f"suppression of {s.rule} matches no finding "
            + ("in this file" if s.covers == WHOLE_FILE else f"on line {s.covers}"),
        )
        for s in suppressions
        if s not in used and not any(s.rule.startswith(prefix) for prefix in unchecked)
    ]
    return out, stale


__all__ = ["RULES", "SB010", "SB011", "SB012", "Suppression", "apply", "collect", "parse"]

"""An audit rule as declared next to its code: id, name, default severity and its documentation.

Each rule family module declares its rules at the top (`SB301 = Rule(...)`) and creates its
findings from them (`SB301.finding(...)`); `stablebuild.audit.catalog` collects the declarations,
and SARIF, Markdown, the docs pages and `stablebuild audit --explain` all read them from there.
"""

from __future__ import annotations

from dataclasses import dataclass

from stablebuild.audit.finding import Finding, Severity

# The docs page (under docs/rules/) that holds each family's rules, by the id's first digit.
PAGES = {
    "0": "dockerfile-compose-ci.md",
    "1": "python-and-pins.md",
    "2": "python-and-pins.md",
    "3": "python-and-pins.md",
    "4": "dockerfile-compose-ci.md",
    "5": "dockerfile-compose-ci.md",
    "6": "python-and-pins.md",
    "7": "dockerfile-compose-ci.md",
}


# NOTE: eq=False: a rule is its declaration, compared and hashed by identity (cheap as a key).
@dataclass(frozen=True, eq=False)
class Rule:
    """One audit rule. `summary` is one line; `description` and `fix` are Markdown paragraphs."""

    id: str  # SB + three digits, never reused for another meaning
    name: str  # PascalCase, SARIF's `name`
    severity: Severity  # the default; a rule's logic may lower or raise it per finding
    summary: str
    description: str
    fix: str

    @property
    def anchor(self) -> str:
        return self.id.lower()

    @property
    def doc_path(self) -> str:
        """The rule's heading in the docs, relative to the repository root."""
        return f"docs/rules/{PAGES[self.id[2]]}#{self.anchor}"

    def finding(
        self,
        file: str,
        line: int | None,
        message: str,
        hint: str | None = None,
        severity: Severity | None = None,
    ) -> Finding:
        """A finding of this rule; without a `hint`, the rule's fix; without a `severity`, the
        rule's default."""
        return Finding(
            self.id,
            self.severity if severity is None else severity,
            file,
            line,
            message,
            self.fix if hint is None else hint,
        )


__all__ = ["PAGES", "Rule"]

"""What the output formats say about a rule id, read from the rule catalogue (each rule's own
declaration): name, summary, description, fix, default level and where its documentation is.

Ids as findings carry them: `SB401`, or `SB700:DL3008` for a code hadolint reports through
SB700, which links to hadolint's (or ShellCheck's) own page for that code.
"""

from __future__ import annotations

from stablebuild.audit import catalog
from stablebuild.audit.finding import Severity
from stablebuild.report.format import source

DOCS = "docs/rules.md"
REPOSITORY = source.REPOSITORY
DOCS_URL = f"{REPOSITORY}/blob/main/docs/rules"

# id -> one-line summary, and id -> SARIF name, for every rule the audit can report.
RULES: dict[str, str] = {rule.id: rule.summary for rule in catalog.rules().values()}
NAMES: dict[str, str] = {rule.id: rule.name for rule in catalog.rules().values()}


def base_rule(rule: str) -> str:
    """`SB700:DL3008` -> `SB700`; any other id unchanged."""
    return rule.split(":", 1)[0]


def delegated_code(rule: str) -> str:
    """The delegated tool's own code (`DL3008`, `SC2086`), or "" for stablebuild's rules."""
    return rule.split(":", 1)[1] if ":" in rule else ""


def summary(rule: str) -> str:
    """The catalogue line for a rule id; `SB700:DL3008` falls back to SB700's."""
    found = catalog.get(rule)
    return found.summary if found else rule


def name(rule: str) -> str:
    """A short PascalCase name for the rule (SARIF `name`), never the id itself."""
    found = catalog.get(rule)
    base = found.name if found else "UnknownRule"
    code = delegated_code(rule)
    # PascalCase all through (HadolintDl3008), as SARIF validators expect of a friendly name.
    return f"{base}{code.replace('-', '').capitalize()}" if code else base


def doc_path(rule: str) -> str:
    """The rule's heading in the docs, relative to the repository root."""
    found = catalog.get(rule)
    return found.doc_path if found else DOCS


def anchor(rule: str) -> str:
    """Where the rule is documented in this repository (`docs/rules/<page>.md#sb301`)."""
    return doc_path(rule)


def help_uri(rule: str) -> str:
    """Where a person reads about the rule: the delegated tool's page for delegated rules."""
    code = delegated_code(rule)
    if code.startswith("DL"):
        return f"https://github.com/hadolint/hadolint/wiki/{code}"
    if code.startswith("SC"):
        return f"https://www.shellcheck.net/wiki/{code}"
    return f"{REPOSITORY}/blob/main/{doc_path(rule)}"


def full_description(rule: str) -> str:
    """A paragraph on the rule: its declared description; for a delegated code, whose it is."""
    code = delegated_code(rule)
    if code:
        return (
            f"hadolint rule {code}, run by stablebuild audit and reported as {rule}. "
            f"hadolint's documentation of {code} explains the rule and its fix."
        )
    found = catalog.get(rule)
    return found.description if found else summary(rule)


def fix(rule: str) -> str:
    """What to do about a finding of the rule, in general (a finding's hint is more precise)."""
    if delegated_code(rule):
        return f"see {help_uri(rule)}"
    found = catalog.get(rule)
    return found.fix if found else ""


def default_severity(rule: str) -> Severity | None:
    """The rule's declared default severity; None for a delegated code (its tool's level)."""
    found = None if delegated_code(rule) else catalog.get(rule)
    return found.severity if found else None

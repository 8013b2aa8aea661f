"""The rule catalogue as text for people: the generated parts of the docs pages, and what
`stablebuild audit --explain SB301` prints.

A docs page marks where the catalogue goes with a pair of comments,
`<!-- rules SB4: ... -->` (the rules whose id starts with SB4, unless a longer prefix has a
region of its own; `index` for the table of every id) and `<!-- /rules -->`;
`scripts/gen-rules-doc.py` rewrites what lies between them.
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

from stablebuild.audit.catalog import rules
from stablebuild.audit.rule import Rule

INDEX = "docs/rules.md"
PAGES = "docs/rules"
NOTICE = "generated from the rule declarations by scripts/gen-rules-doc.py; edit those, not this"
_REGION = re.compile(r"(<!-- rules (\S+): [^\n]*?-->\n)(.*?)(<!-- /rules -->)", re.DOTALL)


def _inline(text: str) -> str:
    """Text safe in a heading or a table cell: no HTML tags, no cell breaks."""
    return text.replace("<", "&lt;").replace(">", "&gt;").replace("|", "\\|")


def rule_section(rule: Rule) -> str:
    """One rule's section of its family page; the explicit anchor is the one links use."""
    return (
        f'<a id="{rule.anchor}"></a>\n'
        f"### {rule.id} — {_inline(rule.summary)}\n\n"
        f"**{rule.severity.value}** by default · `{rule.name}`\n\n"
        f"{rule.description}\n\n"
        f"**Fix:** {rule.fix}\n"
    )


def index_table() -> str:
    """The table of every id in docs/rules.md, each linking to its section."""
    rows = ["| id | name | severity | summary |", "|---|---|---|---|"]
    for rule in rules().values():
        link = rule.doc_path.removeprefix("docs/")
        rows.append(
            f"| [{rule.id}]({link}) | {rule.name} | {rule.severity.value} "
            f"| {_inline(rule.summary)} |"
        )
    return "\n".join(rows) + "\n"


def generated(text: str, regions: dict[str, list[Rule]]) -> str:
    """`text` with every region filled with its rules (`regions`: prefix -> rules)."""

    def fill(match: re.Match[str]) -> str:
        prefix = match.group(2)
        if prefix == "index":
            body = index_table()
        else:
            body = "\n".join(rule_section(r) for r in regions.get(prefix, []))
        return f"<!-- rules {prefix}: {NOTICE} -->\n\n{body}\n{match.group(4)}"

    return _REGION.sub(fill, text)


def expected(root: Path) -> dict[Path, str]:
    """Every docs page that holds a region, as the catalogue says it should read. A rule goes
    to the region with the longest prefix of its id (`SB01` before `SB0`).

    Raises ValueError when a rule has no region, or a region no rule.
    """
    pages = [root / INDEX, *sorted((root / PAGES).glob("*.md"))]
    texts = {page: page.read_text(encoding="utf-8") for page in pages}
    prefixes: dict[str, Path] = {}
    for page, text in texts.items():
        for match in _REGION.finditer(text):
            prefix = match.group(2)
            if prefix != "index" and prefixes.setdefault(prefix, page) != page:
                raise ValueError(
                    f"region 'rules {prefix}' on two pages: {prefixes[prefix]}, {page}"
                )
    regions: dict[str, list[Rule]] = {prefix: [] for prefix in prefixes}
    missing = []
    for rule in rules().values():
        owners = [p for p in prefixes if rule.id.startswith(p)]
        if not owners:
            missing.append(rule.id)
            continue
        regions[max(owners, key=len)].append(rule)
    if missing:
        raise ValueError(f"no docs region for {', '.join(missing)}: add `<!-- rules SBn: -->`")
    empty = sorted(p for p, chosen in regions.items() if not chosen)
    if empty:
        raise ValueError(f"docs region 'rules {empty[0]}' matches no rule")
    return {page: generated(text, regions) for page, text in texts.items() if _REGION.search(text)}


def explanation(rule: Rule, asked: str = "", width: int = 88) -> str:
    """What `stablebuild audit --explain` prints: the rule's whole declaration, in plain text."""
    from stablebuild.audit.format.catalog import help_uri

    def para(text: str, indent: str = "") -> str:
        plain = text.replace("**", "")
        return textwrap.fill(
            plain, width, initial_indent=indent, subsequent_indent=" " * len(indent)
        )

    lines = [
        f"{rule.id} — {rule.summary}",
        "",
        f"name:      {rule.name}",
        f"severity:  {rule.severity.value} (by default)",
        "",
        para(rule.description),
        "",
        para(rule.fix, "Fix: "),
        "",
        f"Docs: {help_uri(rule.id)}",
    ]
    code = asked.split(":", 1)[1].strip().upper() if ":" in asked else ""
    if code:
        lines.append(f"{code}: {help_uri(f'{rule.id}:{code}')}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Rewrite the docs pages from the catalogue; with `--check`, only say which are stale."""
    import argparse
    import sys

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--check", action="store_true", help="exit 1 when a page is stale")
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="the repository root")
    args = parser.parse_args(argv)
    stale = []
    for page, text in expected(args.root).items():
        if page.read_text(encoding="utf-8") == text:
            continue
        stale.append(page)
        if not args.check:
            page.write_text(text, encoding="utf-8")
    for page in stale:
        verb = "is stale" if args.check else "rewritten"
        print(f"{page.relative_to(args.root)} {verb}", file=sys.stderr)
    if stale and args.check:
        print("hint: run scripts/gen-rules-doc.py", file=sys.stderr)
    return 1 if stale and args.check else 0


__all__ = ["expected", "explanation", "generated", "index_table", "main", "rule_section"]

if __name__ == "__main__":
    raise SystemExit(main())

"""Every audit rule id with a one-line summary: the SARIF rule table and the docs index agree."""

from __future__ import annotations

DOCS = "docs/rules.md"

RULES: dict[str, str] = {
    "SB000": "Internal error in a rule family; the other families still ran",
    "SB001": "A file could not be read (permissions, binary, too large)",
    "SB101": "Python version differs (minor) from the reference version",
    "SB102": "Python version differs at patch level from the reference version",
    "SB103": "requires-python excludes the reference Python",
    "SB104": "Python version cannot be determined (floating tag or variable)",
    "SB105": "pyproject.toml (or a version source) does not parse",
    "SB106": "requires-python not checked (no TOML parser)",
    "SB200": "Malformed or unknown line in a requirements file",
    "SB201": "Requirement not pinned exactly where exact pins are demanded",
    "SB202": "Same package pinned to different versions in two files",
    "SB203": "Conflicting pins inside one install closure",
    "SB204": "Duplicate entry in a requirements file",
    "SB205": "Pins file that no Dockerfile installs",
    "SB206": "Include (-r/-c) outside the audited folder or missing",
    "SB207": "Include cycle between requirements files",
    "SB301": "No wheel for a target: pip compiles from source (names what the build needs)",
    "SB302": "Only an sdist, no wheels at all (usually pure Python)",
    "SB303": "Pinned version not on the index",
    "SB304": "Files exist only for other Pythons or platforms",
    "SB305": "Pinned version is yanked",
    "SB306": "Wheel coverage not checked (offline without cache, or index error)",
    "SB307": "Index unreachable; older cached answers were used",
    "SB400": "Dockerfile syntax Docker rejects (unknown instruction, no FROM...)",
    "SB401": "ARG used in FROM but not declared before the first FROM",
    "SB402": "COPY/ADD source not in the build context",
    "SB403": "COPY/ADD source excluded by .dockerignore",
    "SB404": "COPY --from names no earlier stage",
    "SB405": "Final stage runs as root (last USER root, or no USER)",
    "SB406": "Final stage lacks the HEALTHCHECK the manifest asks for",
    "SB407": "Compilers or -dev packages installed in the final stage",
    "SB408": "Virtualenv copied from a stage with a different base image",
    "SB409": "Build target names no stage",
    "SB500": "Compose or CI YAML does not parse",
    "SB501": "Compose override names a service the base file lacks",
    "SB502": "Compose build.context does not exist",
    "SB503": "Compose build.dockerfile does not exist",
    "SB504": "Compose env_file does not exist",
    "SB510": "CI path filter matches no file",
    "SB511": "CI command names a file that does not exist",
    "SB512": "GitLab CI local include does not exist",
    "SB601": "Pinned version has a known vulnerability",
    "SB602": "Vulnerability check could not be done",
    "SB603": "Vulnerability check skipped (no database)",
    "SB700": "hadolint finding (rule id SB700:<hadolint code>)",
    "SB701": "hadolint not installed; lint skipped",
    "SB702": "hadolint failed on a file",
}


def summary(rule: str) -> str:
    """The catalogue line for a rule id; `SB700:DL3008` falls back to SB700's."""
    return RULES.get(rule) or RULES.get(rule.split(":", 1)[0], rule)


def anchor(rule: str) -> str:
    return f"{DOCS}#{rule.split(':', 1)[0].lower()}"

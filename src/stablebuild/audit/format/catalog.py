"""Every audit rule id with a one-line summary: the SARIF rule table and the docs index agree."""

from __future__ import annotations

from stablebuild.report.format import source

DOCS = "docs/rules.md"

RULES: dict[str, str] = {
    "SB000": "Internal error in a rule family; the other families still ran",
    "SB001": "A file could not be read (permissions, binary, too large)",
    "SB002": "A symlink or include leads outside the audited folder; not read",
    "SB003": "A FIFO, device or socket where a file was expected; not read",
    "SB101": "Python version differs (minor) from its owning project's version",
    "SB102": "Python version differs at patch level from the reference version",
    "SB103": "requires-python excludes the reference Python",
    "SB104": "Python version cannot be determined (floating tag or variable)",
    "SB105": "pyproject.toml (or a version source) does not parse",
    "SB106": "requires-python not checked (no TOML parser)",
    "SB107": "Image runs Python on a non-python: base that does not say which",
    "SB200": "Malformed or unknown line in a requirements file",
    "SB201": "Requirement not pinned exactly where exact pins are demanded",
    "SB202": "Same package pinned to different versions in two files",
    "SB203": "Conflicting pins inside one install closure",
    "SB204": "Duplicate entry in a requirements file",
    "SB205": "Pins file that no Dockerfile installs",
    "SB206": "Include (-r/-c) outside the audited folder or missing",
    "SB207": "Include cycle between requirements files",
    "SB208": "Lockfile does not parse (or cannot be read here): its pins are not checked",
    "SB301": "No wheel for a target: pip compiles from source (names what the build needs)",
    "SB302": "Only an sdist, no wheels at all (usually pure Python)",
    "SB303": "Pinned version not on the index",
    "SB304": "Files exist only for other Pythons or platforms",
    "SB305": "Pinned version is yanked",
    "SB306": "Wheel coverage not checked (offline without cache, or index error)",
    "SB307": "Index unreachable; older cached answers were used",
    "SB308": "Target platform assumed: the base image does not tell its C library",
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
    "SB410": "ARG or ENV named like a secret stays in the final image",
    "SB500": "Compose or CI YAML does not parse",
    "SB501": "Compose override names a service the files under it lack",
    "SB502": "Compose build.context does not exist",
    "SB503": "Compose build.dockerfile does not exist",
    "SB504": "Compose env_file does not exist (warning when put in place at deploy time)",
    "SB510": "CI path filter matches no file",
    "SB511": "CI command names a file that does not exist",
    "SB512": "GitLab CI local include does not exist",
    "SB601": "Pinned version has a known vulnerability",
    "SB602": "Vulnerability check could not be done",
    "SB603": "Vulnerability check skipped (no database)",
    "SB700": "hadolint finding (rule id SB700:<hadolint code>)",
    "SB701": "hadolint not installed; lint skipped",
    "SB702": "hadolint failed on a file, or could not parse some (info)",
}


def summary(rule: str) -> str:
    """The catalogue line for a rule id; `SB700:DL3008` falls back to SB700's."""
    return RULES.get(rule) or RULES.get(rule.split(":", 1)[0], rule)


def anchor(rule: str) -> str:
    return f"{DOCS}#{rule.split(':', 1)[0].lower()}"


# NOTE: what follows fills the SARIF rule objects until each rule declares its own name,
# description and docs anchor next to its code; then these become reads of that declaration.
REPOSITORY = source.REPOSITORY
DOCS_URL = f"{REPOSITORY}/blob/main/docs/rules"

NAMES: dict[str, str] = {
    "SB000": "InternalError",
    "SB001": "UnreadableFile",
    "SB101": "PythonMinorMismatch",
    "SB102": "PythonPatchMismatch",
    "SB103": "RequiresPythonExcludesReference",
    "SB104": "PythonVersionUndetermined",
    "SB105": "PyprojectUnparsable",
    "SB106": "RequiresPythonUnchecked",
    "SB107": "ImagePythonUnknown",
    "SB200": "MalformedRequirement",
    "SB201": "RequirementNotPinned",
    "SB202": "PinDrift",
    "SB203": "ConflictingPins",
    "SB204": "DuplicateRequirement",
    "SB205": "PinsFileNotInstalled",
    "SB206": "IncludeMissing",
    "SB207": "IncludeCycle",
    "SB208": "LockfileUnreadable",
    "SB301": "NoWheelSourceBuild",
    "SB302": "SdistOnly",
    "SB303": "VersionNotOnIndex",
    "SB304": "NothingInstallable",
    "SB305": "YankedVersion",
    "SB306": "WheelCoverageUnchecked",
    "SB307": "StaleIndexCache",
    "SB308": "TargetPlatformAssumed",
    "SB400": "DockerfileSyntax",
    "SB401": "UndeclaredFromArg",
    "SB402": "CopySourceMissing",
    "SB403": "CopySourceIgnored",
    "SB404": "CopyFromUnknownStage",
    "SB405": "FinalStageRunsAsRoot",
    "SB406": "HealthcheckMissing",
    "SB407": "BuildToolsInFinalStage",
    "SB408": "VirtualenvBaseMismatch",
    "SB409": "UnknownBuildTarget",
    "SB410": "SecretInArgOrEnv",
    "SB500": "YamlUnparsable",
    "SB501": "OverrideUnknownService",
    "SB502": "BuildContextMissing",
    "SB503": "ComposeDockerfileMissing",
    "SB504": "EnvFileMissing",
    "SB510": "CiPathFilterMatchesNothing",
    "SB511": "CiCommandFileMissing",
    "SB512": "GitlabIncludeMissing",
    "SB601": "KnownVulnerability",
    "SB602": "VulnerabilityCheckFailed",
    "SB603": "VulnerabilityCheckSkipped",
    "SB700": "Hadolint",
    "SB701": "HadolintMissing",
    "SB702": "HadolintFailed",
}

# The docs page and heading of each rule. Families whose page has one heading per rule link
# to it; the others link to their family's section (GitHub's heading slugs).
_PER_RULE_PAGE = dict.fromkeys("0457", "dockerfile-compose-ci.md")
_FAMILY_SECTION = {
    "1": "python-and-pins.md#sb1xx--python-version-consistency",
    "2": "python-and-pins.md#sb2xx--requirements-files-and-pin-drift",
    "3": "python-and-pins.md#sb3xx--wheel-coverage-the-headline",
    "6": "python-and-pins.md#sb6xx--known-vulnerabilities",
}


def base_rule(rule: str) -> str:
    """`SB700:DL3008` -> `SB700`; any other id unchanged."""
    return rule.split(":", 1)[0]


def delegated_code(rule: str) -> str:
    """The delegated tool's own code (`DL3008`, `SC2086`), or "" for stablebuild's rules."""
    return rule.split(":", 1)[1] if ":" in rule else ""


def name(rule: str) -> str:
    """A short CamelCase name for the rule (SARIF `name`), never the id itself."""
    code = delegated_code(rule)
    base = NAMES.get(base_rule(rule), "UnknownRule")
    # PascalCase all through (HadolintDl3008), as SARIF validators expect of a friendly name.
    return f"{base}{code.replace('-', '').capitalize()}" if code else base


def doc_path(rule: str) -> str:
    """The rule's docs page and anchor, relative to the repository root."""
    family = base_rule(rule)[2:3]
    if family in _PER_RULE_PAGE:
        return f"docs/rules/{_PER_RULE_PAGE[family]}#{base_rule(rule).lower()}"
    return f"docs/rules/{_FAMILY_SECTION.get(family, 'python-and-pins.md')}"


def help_uri(rule: str) -> str:
    """Where a person reads about the rule: the delegated tool's page for delegated rules."""
    code = delegated_code(rule)
    if code.startswith("DL"):
        return f"https://github.com/hadolint/hadolint/wiki/{code}"
    if code.startswith("SC"):
        return f"https://www.shellcheck.net/wiki/{code}"
    return f"{REPOSITORY}/blob/main/{doc_path(rule)}"


def full_description(rule: str) -> str:
    """A paragraph on the rule: the summary, and where the catalogue of causes and fixes is."""
    code = delegated_code(rule)
    if code:
        return (
            f"hadolint rule {code}, run by stablebuild audit and reported as {rule}. "
            f"hadolint's documentation of {code} explains the rule and its fix."
        )
    return (
        f"{summary(rule)}. The rules documentation ({doc_path(rule)}) says what the rule "
        "catches, with an example and the fix."
    )

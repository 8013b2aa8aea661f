"""SB6xx: exact pins with known vulnerabilities, a gate by default, read offline.

Databases (`stablebuild.audit.vulndb`): OSV (the PyPA advisory database's
`vulns/<package>/*.yaml`, OSV JSON exports; a folder or a zip) and safety-db's
`insecure_full.json`. `--vuln-db` (or `audit.vuln_db`) names one; `--online-vulns` fetches the
PyPA advisory database (cached a day). A vulnerable pin is an error, or what its advisory's
severity says (low: a warning); `audit.rules: {SB601: warning}` changes that for all. The fix
names the first release out of the affected range when the advisory knows it.
"""

from __future__ import annotations

from packaging.version import Version

from stablebuild.audit import consulted
from stablebuild.audit.finding import Finding, Severity
from stablebuild.audit.options import AuditOptions
from stablebuild.audit.pins import inventory
from stablebuild.audit.project import Project
from stablebuild.audit.requirements import Pin
from stablebuild.audit.rule import Rule
from stablebuild.audit.vulndb import (
    Advisory,
    AffectedRange,
    VulnDatabase,
    VulnDbError,
    open_database,
)
from stablebuild.audit.vulndb.update import cached

SB601 = Rule(
    "SB601",
    "KnownVulnerability",
    Severity.ERROR,
    "Pinned version has a known vulnerability",
    "An exact pin inside an advisory's affected range (`django==3.2.0 has a known "
    "high-severity vulnerability (PYSEC-2021-98, CVE-2021-33203)`). Every exact pin in every "
    "requirements file and lockfile is checked against an OSV database (the PyPA advisory "
    "database) or safety-db's. An error by default, as pip-audit fails; an advisory that rates "
    "itself low is a warning. `audit.rules: {SB601: warning}` makes them all warnings.",
    "upgrade to the fixed release named in the hint; if no fix exists, accept the risk with "
    "`# stablebuild: ignore[SB601] reason` on the pin",
)
SB602 = Rule(
    "SB602",
    "VulnerabilityCheckFailed",
    Severity.WARNING,
    "Vulnerability check could not be done",
    "The vulnerability database cannot be read (`cannot read vulnerability database db.json`), "
    "or the PyPA advisory database cannot be fetched.",
    "pass --vuln-db PATH (an OSV folder or zip, or safety-db's insecure_full.json), or run "
    "`stablebuild vulndb update DIR` where GitHub is reachable",
)
SB603 = Rule(
    "SB603",
    "VulnerabilityCheckSkipped",
    Severity.INFO,
    "Vulnerability check skipped (no database)",
    "No vulnerability database was given, so the check was skipped.",
    "run `stablebuild vulndb update DIR` and pass --vuln-db DIR (or set audit.vuln_db), or use "
    "--online-vulns",
)

# An advisory's own rating, as a finding's severity; unrated advisories are errors.
LEVELS = {
    "critical": Severity.ERROR,
    "high": Severity.ERROR,
    "medium": Severity.ERROR,
    "low": Severity.WARNING,
    "none": Severity.INFO,
}


def run(project: Project, options: AuditOptions) -> list[Finding]:
    inv = inventory(project)
    pins = [p for f in inv.files.values() for p in f.entries if p.exact_version is not None]
    if not pins:
        return []
    where = pins[0].file
    try:
        db = database(project, options)
    except VulnDbError as exc:
        return [SB602.finding(where, None, f"vulnerability check not done: {exc}")]
    if db is None:
        return [SB603.finding(where, None, "vulnerability check skipped: no database given")]
    findings = []
    for pin in pins:
        assert pin.exact_version is not None
        try:
            hits = db.affecting(pin.name, pin.exact_version)
        except VulnDbError as exc:  # one damaged advisory file: said once per package
            findings.append(SB602.finding(pin.file, pin.line, f"{pin.name} not checked: {exc}"))
            continue
        findings += [_finding(pin, advisory, found) for advisory, found in hits]
    return findings


def _finding(pin: Pin, advisory: Advisory, found: AffectedRange) -> Finding:
    version = pin.exact_version or ""
    spec = f"{pin.name}=={version}"
    rated = f" {advisory.severity}-severity" if advisory.severity else ""
    ids = ", ".join(advisory.ids[:3])
    named = f" ({ids})" if ids else ""
    about = f": {advisory.summary}" if advisory.summary else ""
    fixed = advisory.fixed_in(Version(version))
    if fixed is not None:
        hint = f"upgrade {pin.name} to {fixed} or later (affected: {found.text})"
    elif found.last_affected is not None:
        hint = f"upgrade {pin.name} past {found.last_affected} (affected: {found.text})"
    else:
        hint = (
            f"no fixed release is known (affected: {found.text}): replace {pin.name}, or "
            "accept the risk with `# stablebuild: ignore[SB601] reason` on the pin"
        )
    severity = LEVELS.get(advisory.severity or "", SB601.severity)
    return SB601.finding(
        pin.file,
        pin.line,
        f"{spec} has a known{rated} vulnerability{named}{about}",
        hint,
        severity,
    )


def database(project: Project, options: AuditOptions) -> VulnDatabase | None:
    """The database named (option, then manifest), else the PyPA one when asked; None: no
    database at all."""
    path = options.vuln_db
    if path is None and project.manifest is not None:
        path = project.manifest.audit.vuln_db
    if path is not None:
        consulted.database(path)
        return open_database(path)  # the CLI's is relative to the cwd, the manifest's absolute
    if not options.online_vulns:
        return None
    consulted.cannot_repeat("the PyPA advisory database is fetched (--online-vulns)")
    folder = cached(options.cache_dir, offline=options.offline, timeout=options.index_timeout)
    return open_database(folder)


__all__ = ["LEVELS", "SB601", "SB602", "SB603", "database", "run"]

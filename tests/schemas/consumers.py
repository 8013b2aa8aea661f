"""What each consumer of our reports accepts, checked with the consumer's own schema and rules.

- SARIF: the OASIS SARIF 2.1.0 JSON schema as Microsoft's SARIF Multitool ships it
  (`sarif-2.1.0.json`, npm `@microsoft/sarif-multitool-linux` 5.7.0), plus what GitHub code
  scanning documents on top (every result located with a region, relative URIs, known rules).
- JUnit: Jenkins' strict `junit-10.xsd`, as the pytest sdist ships it for its own tests
  (fetched by `make schemas`, scripts/fetch-schemas.sh; not committed).
- GitLab Code Quality: the fields GitLab's documentation requires of each issue.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import jsonschema
from lxml import etree

HERE = Path(__file__).resolve().parent
CODEQUALITY_SEVERITIES = {"info", "minor", "major", "critical", "blocker"}


@cache
def _sarif_validator() -> jsonschema.protocols.Validator:
    schema = json.loads((HERE / "sarif-2.1.0.json").read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


@cache
def _junit_schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(HERE / "junit-10.xsd")))


def sarif_problems(doc: dict[str, Any]) -> list[str]:
    """Everything the SARIF schema or GitHub code scanning would reject in `doc` (empty: ok)."""
    problems = [
        f"schema: {'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in _sarif_validator().iter_errors(doc)
    ]
    if doc.get("version") != "2.1.0":
        problems.append("github: version must be 2.1.0")
    for run in doc.get("runs", []):
        driver = run["tool"]["driver"]
        rules = [rule["id"] for rule in driver.get("rules", [])]
        if len(rules) != len(set(rules)):
            problems.append("github: duplicate rule ids")
        for rule in driver.get("rules", []):
            if rule.get("name") == rule["id"]:
                problems.append(f"rule {rule['id']}: name is the id")
            for key in ("shortDescription", "fullDescription"):
                if len(rule.get(key, {}).get("text", "")) > 1024:
                    problems.append(f"github: rule {rule['id']}: {key} over 1024 characters")
        bases = run.get("originalUriBaseIds", {})
        for n, result in enumerate(run.get("results", [])):
            where = f"result {n} ({result.get('ruleId')})"
            if result.get("ruleId") not in rules:
                problems.append(f"github: {where}: ruleId not in the run's rules")
            elif "ruleIndex" in result and rules[result["ruleIndex"]] != result["ruleId"]:
                problems.append(f"github: {where}: ruleIndex names another rule")
            if not result.get("message", {}).get("text"):
                problems.append(f"github: {where}: no message text")
            locations = result.get("locations") or []
            if not 1 <= len(locations) <= 10:
                problems.append(f"github: {where}: needs 1 to 10 locations")
            for location in locations:
                physical = location.get("physicalLocation") or {}
                artifact = physical.get("artifactLocation") or {}
                uri = artifact.get("uri", "")
                parts = urlsplit(uri)
                if not uri or parts.scheme or uri.startswith("/") or ".." in uri.split("/"):
                    problems.append(f"github: {where}: uri {uri!r} is not relative")
                if re.search(r"[^A-Za-z0-9\-._~/%!$&'()*+,;=:@]", uri):
                    problems.append(f"github: {where}: uri {uri!r} is not percent-encoded")
                if artifact.get("uriBaseId") and artifact["uriBaseId"] not in bases:
                    problems.append(f"github: {where}: uriBaseId not in originalUriBaseIds")
                if (physical.get("region") or {}).get("startLine", 0) < 1:
                    problems.append(f"github: {where}: no region.startLine >= 1")
            fingerprints = result.get("partialFingerprints") or {}
            if not fingerprints or not all(isinstance(v, str) for v in fingerprints.values()):
                problems.append(f"github: {where}: no partialFingerprints")
        for invocation in run.get("invocations", []):
            for notice in invocation.get("toolExecutionNotifications", []):
                if notice.get("locations"):
                    continue
                if not notice.get("message", {}).get("text"):
                    problems.append("notification without a message")
    return problems


def sarif_uris(doc: dict[str, Any]) -> list[str]:
    """The decoded artifact URIs of every result, in order."""
    return [
        unquote(loc["physicalLocation"]["artifactLocation"]["uri"])
        for run in doc["runs"]
        for result in run["results"]
        for loc in result["locations"]
    ]


def junit_problems(text: str) -> list[str]:
    """What junit-10.xsd (or an XML parser) rejects in `text` (empty: ok)."""
    try:
        tree = etree.fromstring(text.encode("utf-8"))
    except etree.XMLSyntaxError as exc:
        return [f"not XML: {exc}"]
    schema = _junit_schema()
    if schema.validate(tree):
        return []
    return [f"line {e.line}: {e.message}" for e in schema.error_log]


def codequality_problems(issues: Any) -> list[str]:
    """What GitLab's Code Quality report parser requires of each issue (empty: ok)."""
    if not isinstance(issues, list):
        return ["the report must be a JSON array"]
    problems: list[str] = []
    seen: set[str] = set()
    for n, issue in enumerate(issues):
        for key in ("description", "check_name", "fingerprint", "severity"):
            if not isinstance(issue.get(key), str) or not issue[key]:
                problems.append(f"issue {n}: {key} missing")
        if issue.get("severity") not in CODEQUALITY_SEVERITIES:
            problems.append(f"issue {n}: severity {issue.get('severity')!r}")
        if issue.get("fingerprint") in seen:
            problems.append(f"issue {n}: fingerprint repeated")
        seen.add(issue.get("fingerprint"))
        location = issue.get("location") or {}
        path = location.get("path")
        if not isinstance(path, str) or not path or path.startswith("/"):
            problems.append(f"issue {n}: location.path {path!r} is not relative")
        begin = (location.get("lines") or {}).get("begin")
        if not isinstance(begin, int) or begin < 1:
            problems.append(f"issue {n}: location.lines.begin {begin!r}")
    return problems

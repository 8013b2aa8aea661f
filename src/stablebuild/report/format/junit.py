"""The JUnit XML report: one testsuite per image, a `build` testcase, one testcase per check.

Valid against Jenkins' strict `junit-10.xsd` (tests/schemas/junit-10.xsd): `skipped` is counted
per testsuite only, and every text and attribute is cleaned of ANSI escapes and of characters
XML 1.0 forbids (a build log carries both), which would make the whole file unreadable.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from stablebuild.report.format.interface import ReportFormatter
from stablebuild.report.format.summary import log_tail
from stablebuild.report.format.text import clean
from stablebuild.report.model import BuildStatus, CheckResult, CheckStatus, ImageReport, Report


def _first_line(text: str) -> str:
    return (text.splitlines() or [""])[0]


def _clean_tree(root: ET.Element) -> None:
    """Every text, tail and attribute value of `root`'s tree, cleaned (see module docstring)."""
    for node in root.iter():
        if node.text:
            node.text = clean(node.text)
        if node.tail:
            node.tail = clean(node.tail)
        for key, value in list(node.attrib.items()):
            node.set(key, clean(value))


def _check_case(suite: ET.Element, classname: str, check: CheckResult) -> None:
    case = ET.SubElement(suite, "testcase", classname=classname, name=check.id)
    detail = check.message
    if check.value is not None or check.expected is not None:
        detail += f"\nvalue: {check.value!r}\nexpected: {check.expected!r}"
    if check.status is CheckStatus.FAILED:
        node = ET.SubElement(case, "failure", message=_first_line(check.message), type=check.family)
        node.text = detail
    elif check.status is CheckStatus.ERROR:
        node = ET.SubElement(case, "error", message=_first_line(check.message), type=check.family)
        node.text = detail
    elif check.status is CheckStatus.SKIPPED:
        ET.SubElement(case, "skipped", message=check.message)


def _build_case(suite: ET.Element, classname: str, image: ImageReport) -> str | None:
    """The `build` testcase; returns its status as a JUnit word (failure|skipped|None)."""
    build = image.build
    case = ET.SubElement(
        suite, "testcase", classname=classname, name="build", time=f"{build.seconds:.3f}"
    )
    if build.status is BuildStatus.SKIPPED:
        ET.SubElement(case, "skipped", message="build not attempted (run interrupted)")
        return "skipped"
    if build.status in (BuildStatus.FAILED, BuildStatus.TIMEOUT):
        d = build.diagnosis
        message = build.error or f"build {build.status.value}"
        text = [message]
        if d is not None:
            text += [f"cause: {d.summary} ({d.cause})", f"fix: {d.hint}", f"seen: {d.evidence}"]
        text += ["", *log_tail(image)]
        node = ET.SubElement(
            case, "failure", message=message, type=d.cause if d else build.status.value
        )
        node.text = "\n".join(text)
        return "failure"
    return None


def _stack_suite(root: ET.Element, report: Report, totals: dict[str, int]) -> float:
    """The stack phase as one more `<testsuite name="stack">`; returns its time."""
    stack = report.stack_phase
    assert stack is not None
    suite = ET.SubElement(root, "testsuite", name="stack")
    props = ET.SubElement(suite, "properties")
    for key, value in (
        ("run_id", report.run_id),
        ("complete", str(report.complete).lower()),
        ("project", stack.project or ""),
        ("compose", stack.compose or ""),
        ("from_cache", str(stack.from_cache).lower()),
    ):
        ET.SubElement(props, "property", name=key, value=value)
    for check in stack.checks:
        _check_case(suite, f"{report.stack}.stack", check)
    n = {
        "tests": len(stack.checks),
        "failures": sum(c.status is CheckStatus.FAILED for c in stack.checks),
        "errors": sum(c.status is CheckStatus.ERROR for c in stack.checks),
        "skipped": sum(c.status is CheckStatus.SKIPPED for c in stack.checks),
    }
    for key, count in n.items():
        suite.set(key, str(count))
        totals[key] += count
    suite.set("time", f"{stack.seconds:.3f}")
    return stack.seconds


class JunitFormat(ReportFormatter):
    def format(self, report: Report) -> str:
        root = ET.Element("testsuites", name=f"stablebuild: {report.stack}")
        totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        time = 0.0
        for image in report.images:
            classname = f"{report.stack}.{image.name}"
            suite = ET.SubElement(root, "testsuite", name=image.name)
            props = ET.SubElement(suite, "properties")
            for key, value in (
                ("run_id", report.run_id),
                ("complete", str(report.complete).lower()),
                ("image_id", image.build.image_id or ""),
                ("from_cache", str(image.from_cache).lower()),
            ):
                ET.SubElement(props, "property", name=key, value=value)
            build = _build_case(suite, classname, image)
            for check in image.checks:
                _check_case(suite, classname, check)
            n = {
                "tests": 1 + len(image.checks),
                "failures": (build == "failure")
                + sum(c.status is CheckStatus.FAILED for c in image.checks),
                "errors": sum(c.status is CheckStatus.ERROR for c in image.checks),
                "skipped": (build == "skipped")
                + sum(c.status is CheckStatus.SKIPPED for c in image.checks),
            }
            for key, count in n.items():
                suite.set(key, str(count))
                totals[key] += count
            suite.set("time", f"{image.build.seconds:.3f}")
            time += image.build.seconds
        if report.stack_phase is not None:
            time += _stack_suite(root, report, totals)
        for key, count in totals.items():
            if key != "skipped":  # junit-10.xsd has no `skipped` on <testsuites>
                root.set(key, str(count))
        root.set("time", f"{time:.3f}")
        _clean_tree(root)
        ET.indent(root)
        return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"

"""The requirements parser: pip's line rules, includes, cycles, and malformed lines as findings."""

from __future__ import annotations

from pathlib import Path

from stablebuild.audit.finding import Severity
from stablebuild.audit.project import Project
from stablebuild.audit.requirements import (
    RequirementsReader,
    parse_requirements,
    parse_text,
    pins_of,
    project_reader,
)

FIXTURES = Path(__file__).parents[2] / "fixtures" / "audit" / "requirements"


def _basic() -> Project:
    return Project.discover(FIXTURES / "basic")


def test_entries_keep_file_line_extras_markers_and_hashes() -> None:
    parsed = parse_requirements(_basic(), "requirements.txt")
    by_name = {p.name: p for p in parsed.entries}
    fastapi = by_name["fastapi"]
    assert (fastapi.exact_version, fastapi.extras, fastapi.line) == ("0.110.0", {"all"}, 7)
    assert fastapi.file == "requirements.txt"
    uvicorn = by_name["uvicorn"]
    assert uvicorn.line == 8 and uvicorn.hashes == ("sha256:aaaa", "sha256:bbbb")
    numpy = by_name["numpy"]
    assert numpy.marker == 'python_version < "3.13"' and numpy.line == 11
    requests = by_name["requests"]  # canonical name, a range: no exact version
    assert requests.exact_version is None and str(requests.specifier) == "<3,>=2.31"
    assert by_name["example-tool"].editable
    assert by_name["local-pkg"].url is not None


def test_options_and_includes_resolve_relative_to_the_file() -> None:
    parsed = parse_requirements(_basic(), "requirements.txt")
    assert [(o.name, o.value) for o in parsed.options][:2] == [
        ("--index-url", "https://pypi.example.org/simple"),
        ("--extra-index-url", "https://extra.example.org/simple"),
    ]
    assert [(i.kind, i.target, i.line) for i in parsed.includes] == [
        ("requirement", "sub/base.txt", 4),
        ("constraint", "constraints.txt", 5),
    ]


def test_malformed_line_is_a_finding_not_an_exception() -> None:
    parsed = parse_requirements(_basic(), "requirements.txt")
    [bad] = [f for f in parsed.findings if f.rule == "SB200"]
    assert bad.severity is Severity.ERROR and bad.line == 14 and bad.file == "requirements.txt"


def test_closure_follows_includes_and_marks_constraints() -> None:
    reader = RequirementsReader(project_reader(_basic()))
    files, problems = reader.closure("requirements.txt")
    assert [f.path for f in files] == ["requirements.txt", "sub/base.txt", "constraints.txt"]
    assert problems == []
    pins = pins_of(files)
    assert pins["pydantic"] == "2.7.1" and pins["fastapi"] == "0.110.0"
    assert "anyio" not in pins  # a constraint installs nothing
    assert files[2].entries[0].constraint


def test_cycles_and_missing_includes_are_findings() -> None:
    reader = RequirementsReader(project_reader(Project.discover(FIXTURES / "cycle")))
    files, problems = reader.closure("a.txt")
    assert {f.path for f in files} == {"a.txt", "b.txt", "missing.txt"}
    rules = sorted((p.rule, p.file, p.line) for p in problems)
    assert rules == [("SB206", "b.txt", 2), ("SB207", "b.txt", 1)]
    cycle = next(p for p in problems if p.rule == "SB207")
    assert "a.txt -> b.txt -> a.txt" in cycle.message


def test_continuation_comment_and_inline_options() -> None:
    text = (
        "# c\n\nflask==3.0.0 \\\n  ; python_version >= '3.8'  # why\n"
        "-rother.txt\n--no-binary :all:\n"
    )
    parsed = parse_text(text, "dir/r.txt")
    [flask] = parsed.entries
    assert flask.line == 3 and flask.marker == 'python_version >= "3.8"'
    assert parsed.includes[0].target == "dir/other.txt"
    assert parsed.options[0].name == "--no-binary"


def test_url_fragment_is_not_a_comment_and_unknown_option_warns() -> None:
    parsed = parse_text("pkg @ https://x.org/p.whl#sha256=ab\n--bogus\n", "r.txt")
    assert parsed.entries[0].url == "https://x.org/p.whl#sha256=ab"
    assert parsed.findings[0].severity is Severity.WARNING


def test_parsing_5000_pins_keeps_every_entry() -> None:
    # NOTE: how fast is bench/audit_bench.py's job (ratios, same run), not a wall-clock assert.
    text = "\n".join(f"package-{i}[extra]==1.{i}.0 ; python_version >= '3.8'" for i in range(5000))
    parsed = parse_text(text, "r.txt")
    assert len(parsed.entries) == 5000
    assert parsed.entries[4999].line == 5000


def test_a_cycle_is_reported_once_whichever_file_starts() -> None:
    reader = RequirementsReader(project_reader(Project.discover(FIXTURES / "cycle")))
    cycles = [
        p for root in ("a.txt", "b.txt") for p in reader.closure(root)[1] if p.rule == "SB207"
    ]
    assert len(cycles) == 1

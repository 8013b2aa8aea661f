"""Bounded input for the audit (issue 14): only regular files inside the root are read, sizes are
checked before reading, hostile YAML is refused, and no byte of a file outside the root reaches
any report format. The parsers that were quadratic give the same answers as before."""

from __future__ import annotations

import io
import os
import random
import shlex
import signal
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest
from dockerfile_parse import DockerfileParser

from stablebuild import shellwords, textfile
from stablebuild.audit import dockerignore
from stablebuild.audit.dockerignore import DockerIgnore, go_match
from stablebuild.audit.finding import Finding
from stablebuild.audit.format import AuditFormat, catalog, formatter
from stablebuild.audit.options import AuditOptions
from stablebuild.audit.project import Project
from stablebuild.audit.requirements import RequirementsReader, parse_text, project_reader
from stablebuild.audit.runner import AuditResult, run_audit
from stablebuild.stages import parse, structure

T = TypeVar("T")

CANARY = "CANARY-7f3a9c"
# Lines a requirements parser would echo back (a pin in SB3xx, a bad line in SB200), a
# Dockerfile parser would report (SB400), and a YAML reader would quote (SB500).
CANARY_TEXT = (
    f"canary-pkg-7f3a9c==1.0\n{CANARY} root:x:0:0:root:/root:/bin/bash\n"
    f"FROM {CANARY}:latest AS {CANARY}\n{CANARY}: [unclosed\n"
)
BOMB = "a: &a [x,x,x,x,x,x,x,x,x]\n" + "".join(
    f"{name}: &{name} [{','.join([f'*{prev}'] * 9)}]\n"
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True)
)


def hang_guard(seconds: int, call: Callable[[], T]) -> T:
    """Run `call`; a hang (a FIFO read, an endless alias) fails the test instead of the suite."""

    def alarm(_signum: int, _frame: object) -> None:
        raise TimeoutError(f"still running after {seconds} s: input is not bounded")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(seconds)
    try:
        return call()
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def audit(root: Path, tmp_path: Path) -> AuditResult:
    options = AuditOptions(offline=True, hadolint=False, cache_dir=tmp_path / "cache")
    return hang_guard(60, lambda: run_audit(root, options, None))


def found(result: AuditResult | list[Finding], rule: str) -> dict[str, Finding]:
    findings = result.findings if isinstance(result, AuditResult) else result
    return {f.file: f for f in findings if f.rule == rule}


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A canary file beside the audited root, never to be read."""
    path = tmp_path / "outside" / "canary.txt"
    path.parent.mkdir()
    path.write_text(CANARY_TEXT)
    return path


# -- textfile: the one reader -----------------------------------------------------------------


def test_a_regular_file_inside_the_root_is_read_without_its_byte_order_mark(
    tmp_path: Path,
) -> None:
    path = tmp_path / "Dockerfile"
    path.write_bytes(b"\xef\xbb\xbfFROM python:3.12\n")
    assert textfile.read_text(path, root=tmp_path) == "FROM python:3.12\n"


def test_a_fifo_is_refused_without_opening_it(tmp_path: Path) -> None:
    fifo = tmp_path / "Dockerfile"
    os.mkfifo(fifo)

    refused = hang_guard(10, lambda: textfile.read_text(fifo, root=tmp_path))

    assert isinstance(refused, textfile.Unreadable) and refused.why is textfile.Why.SPECIAL
    assert refused.reason == "a FIFO where a file was expected; not read"


def test_a_device_is_refused_and_a_symlink_to_one_leads_outside(tmp_path: Path) -> None:
    link = tmp_path / ".python-version"
    link.symlink_to("/dev/zero")

    device = textfile.read_bytes(Path("/dev/zero"))
    outside = textfile.read_bytes(link, root=tmp_path)

    assert isinstance(device, textfile.Unreadable) and device.why is textfile.Why.SPECIAL
    assert isinstance(outside, textfile.Unreadable) and outside.why is textfile.Why.OUTSIDE
    assert outside.reason == "a symlink to /dev/zero, outside the audited folder; not read"


def test_the_size_is_checked_before_reading_and_the_read_is_capped(tmp_path: Path) -> None:
    path = tmp_path / "requirements.txt"
    path.write_bytes(b"x" * 2048)

    refused = textfile.read_bytes(path, limit=1024)

    assert isinstance(refused, textfile.Unreadable) and refused.why is textfile.Why.TOO_LARGE
    assert refused.reason == "larger than 1 KiB; not read"
    assert textfile.read_bytes(path, limit=2048) == b"x" * 2048


def test_a_path_outside_the_root_is_refused_naming_where_it_leads(
    tmp_path: Path, outside: Path
) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    (root / "Dockerfile").symlink_to(outside)

    by_link = textfile.read_text(root / "Dockerfile", root=root)
    by_dots = textfile.read_text(root / ".." / "outside" / "canary.txt", root=root)

    assert isinstance(by_link, textfile.Unreadable) and isinstance(by_dots, textfile.Unreadable)
    assert by_link.reason == f"a symlink to {outside}, outside the audited folder; not read"
    assert by_dots.reason == f"leads to {outside}, outside the audited folder; not read"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("with\0nul", "the path contains a NUL byte; not read"),
        ("x" * 300, "the path is too long; not read"),
        ("missing.txt", "no such file"),
    ],
)
def test_bad_paths_are_reasons_not_exceptions(tmp_path: Path, name: str, expected: str) -> None:
    refused = textfile.read_text(tmp_path / name, root=tmp_path)
    assert isinstance(refused, textfile.Unreadable) and refused.reason == expected


def test_text_that_is_not_utf8_or_binary_names_the_line(tmp_path: Path) -> None:
    latin = tmp_path / "a.yml"
    latin.write_bytes(b"a: 1\nb: caf\xe9\n")
    binary = tmp_path / "b.bin"
    binary.write_bytes(b"x\ny\n\0z")

    strict = textfile.read_text(latin, strict=True)
    nul = textfile.read_text(binary)

    assert isinstance(strict, textfile.Unreadable) and strict.line == 2
    assert strict.reason == "not UTF-8 (byte 0xe9 on line 2); save the file as UTF-8"
    assert textfile.read_text(latin) == "a: 1\nb: caf\ufffd\n"  # lenient: replaced
    assert isinstance(nul, textfile.Unreadable) and nul.why is textfile.Why.BINARY
    assert nul.line == 3


# -- the audit: findings, never reads ---------------------------------------------------------


def test_special_files_and_outside_links_are_findings_that_name_the_path(
    tmp_path: Path, outside: Path
) -> None:
    root = write(tmp_path / "repo", {"Dockerfile": "FROM python:3.12-slim\nUSER app\n"})
    os.mkfifo(root / "Dockerfile.fifo")
    (root / "Dockerfile.evil").symlink_to(outside)
    (root / ".python-version").symlink_to("/dev/urandom")
    (root / "vendor").symlink_to(outside.parent)

    result = audit(root, tmp_path)

    special, links = found(result, "SB003"), found(result, "SB002")
    assert special["Dockerfile.fifo"].message == "a FIFO where a file was expected; not read"
    assert str(outside) in links["Dockerfile.evil"].message
    assert "/dev/urandom" in links[".python-version"].message
    assert links["vendor"].message.endswith("outside the audited folder; not followed")
    assert not found(result, "SB000")


def test_every_include_leading_outside_is_a_finding_and_never_read(
    tmp_path: Path, outside: Path
) -> None:
    root = write(
        tmp_path / "repo",
        {
            "requirements.txt": (
                f"fastapi==0.115.0\n-r {outside}\n-r ../outside/canary.txt\n"
                "-c sub/linked.txt\n-r /etc/passwd\n"
            ),
        },
    )
    (root / "sub").mkdir()
    (root / "sub" / "linked.txt").symlink_to(outside)
    read: list[str] = []
    project = Project.discover(root)
    reader = project_reader(project)

    def spying(rel: str) -> str | textfile.Unreadable | None:
        read.append(rel)
        return reader(rel)

    files, problems = RequirementsReader(spying).closure("requirements.txt")

    assert [f.path for f in files if f.readable] == ["requirements.txt"]
    messages = {p.line: p.message for p in problems if p.rule == "SB206"}
    assert messages[2] == f"include {outside} lies outside the audited folder; not followed"
    assert (
        messages[3] == "include ../outside/canary.txt lies outside the audited folder; not followed"
    )
    assert messages[4] == (
        f"include sub/linked.txt: a symlink to {outside}, outside the audited folder; not followed"
    )
    assert messages[5] == "include /etc/passwd lies outside the audited folder; not followed"
    assert read == ["requirements.txt", "sub/linked.txt"]  # the link is resolved, not read
    assert found(project.read_problems, "SB002")["sub/linked.txt"]


def test_no_line_of_a_file_outside_the_root_reaches_any_report_format(
    tmp_path: Path, outside: Path
) -> None:
    root = write(
        tmp_path / "repo",
        {
            "Dockerfile": "FROM python:3.12-slim\nCOPY requirements.txt .\n"
            "RUN pip install -r requirements.txt\nUSER app\n",
            "requirements.txt": f"-r {outside}\n-r ../outside/canary.txt\n-c linked.txt\n",
            ".github/workflows/ci.yml": "on: push\njobs: {}\n",
        },
    )
    for name in (
        "linked.txt",
        "Dockerfile.canary",
        "pyproject.toml",
        "compose.yml",
        ".dockerignore",
        ".gitlab-ci.yml",
        ".github/workflows/canary.yml",
        "requirements-dev.txt",
    ):
        (root / name).symlink_to(outside)
    (root / "linked-folder").symlink_to(outside.parent)

    result = audit(root, tmp_path)

    assert {"Dockerfile.canary", "linked.txt", "compose.yml"} <= set(found(result, "SB002"))
    for kind in AuditFormat:
        text = formatter(kind).format(result)
        assert CANARY not in text, f"the {kind.value} report holds a line of a file outside"
        assert "canary-pkg" not in text and "root:x:0:0" not in text


def test_hostile_yaml_in_compose_and_ci_is_one_sb500_each(tmp_path: Path) -> None:
    root = write(
        tmp_path,
        {
            "compose.yml": BOMB + "services: *i\n",
            "compose.override.yml": "services:\n  api: " + "[" * 1000 + "]" * 1000 + "\n",
            ".gitlab-ci.yml": "x: &x [*x]\n",
            ".github/workflows/ci.yml": "on: push\njobs: &j\n  build: {<<: *j}\n",
            ".github/workflows/nul.yml": "on: push\n" + "#" * 9000 + "\njobs: {a\0: 1}\n",
        },
    )

    result = audit(root, tmp_path)

    problems = found(result, "SB500")
    assert problems["compose.yml"].line == 6  # `f`: 9**6 values, the first past 100,000
    assert "more than 100,000 values" in problems["compose.yml"].message
    assert "nested more than 200 levels" in problems["compose.override.yml"].message
    assert "an alias that contains itself" in problems[".gitlab-ci.yml"].message
    assert "an alias that contains itself" in problems[".github/workflows/ci.yml"].message
    assert problems[".github/workflows/nul.yml"].line == 3
    assert "a NUL byte" in problems[".github/workflows/nul.yml"].message
    assert not found(result, "SB000")


def test_the_new_rule_ids_are_in_the_catalogue_and_the_docs() -> None:
    docs = (Path(__file__).parents[3] / "docs" / "rules.md").read_text()
    for rule in ("SB002", "SB003"):
        assert rule in catalog.RULES and f"[{rule}]" in docs


# -- parsers that were quadratic: same answers, now linear ------------------------------------


def shell_like(rnd: random.Random) -> Iterator[str]:
    alphabet = "ab #\\\"'\n\t\r="
    for _ in range(20_000):
        yield "".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 14)))


@pytest.mark.parametrize("comments", [False, True])
def test_shell_words_split_exactly_as_shlex_does(comments: bool) -> None:
    for text in shell_like(random.Random(14)):
        try:
            expected: object = shlex.split(text, comments=comments)
        except ValueError as exc:
            expected = str(exc)
        try:
            got: object = shellwords.split(text, comments=comments)
        except ValueError as exc:
            got = str(exc)
        assert got == expected, repr(text)


def test_one_long_word_splits_whole() -> None:
    word = "a" * 1_000_000
    assert shellwords.split(f'pip install "{word}" x') == ["pip", "install", word, "x"]


def test_dockerfile_structure_is_dockerfile_parse_s() -> None:
    pieces = [
        "FROM python:3.12 AS base",
        "RUN a \\",
        "  b \\",
        "",
        "# c",
        "# escape=`",
        "RUN x `",
        "   ",
        "ARG X=1",
        "run lower",
        "RUN",
        "  # inside",
        "x\\\\",
    ]
    rnd = random.Random(14)
    for _ in range(3000):
        text = "\n".join(rnd.choice(pieces) for _ in range(rnd.randint(0, 9))) + rnd.choice(
            ["", "\n"]
        )
        assert structure(text) == DockerfileParser(fileobj=io.StringIO(text)).structure, text


def test_a_long_chain_of_stages_keeps_its_order_and_root() -> None:
    text = "FROM python:3.12 AS s0\n" + "".join(
        f"FROM s{i - 1} AS s{i}\nRUN true\n" for i in range(1, 3000)
    )
    df = parse(text)

    last = df.stages[-1]

    assert [s.index for s in df.chain(last)] == list(range(3000))
    assert df.root(last) is df.stages[0] and df.base_image(last) == "python:3.12"
    assert df.resolve_stage_ref("²", 5) is None and df.resolve_stage_ref("9" * 5000, 5) is None


def test_a_comment_after_a_megabyte_of_spaces_is_still_a_comment() -> None:
    parsed = parse_text("requests==2.31.0" + " " * 1_000_000 + "# pinned\n", "requirements.txt")
    assert [(p.name, p.exact_version) for p in parsed.entries] == [("requests", "2.31.0")]


@pytest.mark.parametrize(
    ("pattern", "name", "expected"),
    [
        ("*a*a*a*a*a*a*a*a*a*a*a*a*b", "a" * 60, False),
        ("*a*a*a*a*a*a*a*a*a*a*a*a*b", "a" * 60 + "b", True),
        ("*a*b", "xaxbxb", True),
        ("*.py", "dir/x.py", False),
    ],
)
def test_go_match_does_not_backtrack_exponentially(pattern: str, name: str, expected: bool) -> None:
    assert hang_guard(10, lambda: go_match(pattern, name)) is expected


def test_dockerignore_patterns_that_could_backtrack_run_on_the_automaton() -> None:
    many_stars = "**/a/**/a/**/a/**/a/**/b"
    rules = DockerIgnore([many_stars, "!**/a/keep", "*a*a*a*a*a*a*a*b"])

    assert rules.patterns[0].costly and not rules.patterns[2].costly
    assert hang_guard(10, lambda: rules.excluded("a/" * 1000 + "c")) is False
    assert rules.excluded("x/a/a/y/a/a/b") and rules.excluded("x/a/a/y/a/a/b/inside")
    assert not rules.excluded("x/a/a/y/a/a/b/a/keep")
    assert rules.excluded("aaaaaaaaab") and not rules.excluded("a" * 60)


def test_combined_dockerignore_runs_decide_as_line_by_line_matching() -> None:
    rnd = random.Random(14)
    pieces = ["*", "**", "a", "b", "/", "?", "[ab]", "\\*", "**/", "!"]
    for _ in range(2000):
        lines = ["".join(rnd.choice(pieces) for _ in range(rnd.randint(1, 4))) for _ in range(6)]
        combined = DockerIgnore(lines)
        for path in ("a", "b/a", "ab/ba/b", "*", "a/b/a/b"):
            expected = None
            for pattern in combined.patterns:  # patternmatcher's loop, one pattern at a time
                if pattern.exclusion != (expected is not None):
                    continue
                if pattern.regex.match(path) is not None:
                    expected = None if pattern.exclusion else pattern
            assert combined.deciding(path) == expected, (lines, path)


def test_a_run_of_many_patterns_is_matched_in_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dockerignore, "_RUN_SIZE", 3)
    rules = DockerIgnore([f"p{i}*" for i in range(10)] + ["!p7keep", "p7k*"])

    first, again = rules.deciding("p7x"), rules.deciding("p7keep")

    assert first is not None and first.text == "p7*"  # the first of its batch that matches
    assert again is not None and again.text == "p7k*"  # re-included, then left out again
    assert rules.deciding("q1") is None


def test_a_comment_line_is_named_as_dockerfile_parse_names_it() -> None:
    from dockerfile_parse.constants import COMMENT_INSTRUCTION

    from stablebuild import stages

    assert stages.COMMENT_INSTRUCTION == COMMENT_INSTRUCTION
    assert structure("# c\nFROM x\n")[0]["instruction"] == COMMENT_INSTRUCTION

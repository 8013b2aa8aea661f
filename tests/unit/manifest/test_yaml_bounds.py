"""Hostile `stablebuild.yml` (issue 14): every case is one ManifestError with file:line (exit 2),
found without expanding aliases or reading what is not a regular file, never a traceback."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from stablebuild import yamlbounds
from stablebuild.errors import ManifestError, Problem
from stablebuild.manifest import find_manifest, load_manifest, nodes
from stablebuild.manifest.nodes import compose

HEADER = "version: 1\nname: demo\n"
BOMB = "a: &a [x,x,x,x,x,x,x,x,x]\n" + "".join(
    f"{name}: &{name} [{','.join([f'*{prev}'] * 9)}]\n"
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True)
)


def problems_of(path: Path, seconds: int = 30) -> list[Problem]:
    """The problems loading `path` reports; a hang fails the test instead of the suite."""

    def alarm(_signum: int, _frame: object) -> None:
        raise TimeoutError(f"loading took over {seconds} s: the manifest is not bounded")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(seconds)
    try:
        with pytest.raises(ManifestError) as caught:
            load_manifest(path)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    return caught.value.problems


def manifest(tmp_path: Path, text: str | bytes) -> Path:
    (tmp_path / "Dockerfile").write_text("FROM python:3.12-slim AS runtime\nUSER app\n")
    path = tmp_path / "stablebuild.yml"
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def one(problems: list[Problem]) -> Problem:
    assert len(problems) == 1, problems
    return problems[0]


def test_an_alias_bomb_is_refused_with_one_problem(tmp_path: Path) -> None:
    anchors = "".join(f"  {line}\n" for line in BOMB.splitlines())
    text = f"{HEADER}x-anchors:\n{anchors}images:\n  api: {{dockerfile: Dockerfile, files: *i}}\n"
    assert len(BOMB) < 310  # 306 bytes that describe 387 million values

    problem = one(problems_of(manifest(tmp_path, text)))

    assert problem.line == 9 and "more than 100,000 values" in problem.message  # at `f:`
    assert str(problem).startswith(f"{tmp_path / 'stablebuild.yml'}:9: aliases expand")


def test_merging_empty_mappings_exponentially_is_counted_too(tmp_path: Path) -> None:
    chain = "e0: &e0 {}\n" + "".join(
        f"e{i}: &e{i} {{<<: [{', '.join([f'*e{i - 1}'] * 9)}]}}\n" for i in range(1, 12)
    )
    text = HEADER + "x-anchors:\n" + "".join(f"  {line}\n" for line in chain.splitlines())

    problem = one(problems_of(manifest(tmp_path, text + "images: {}\n")))

    assert "more than 100,000 values" in problem.message


@pytest.mark.parametrize(
    ("yaml_text", "key"),
    [
        ("images:\n  api: &x {dockerfile: Dockerfile, files: [/a, *x]}\n", "images.api.files[1]"),
        ("images:\n  api: &x {dockerfile: Dockerfile, <<: *x}\n", "images.api"),
    ],
)
def test_an_alias_that_contains_itself_is_a_problem_at_its_key(
    tmp_path: Path, yaml_text: str, key: str
) -> None:
    problems = problems_of(manifest(tmp_path, HEADER + yaml_text))

    assert [p.line for p in problems if p.message == "a YAML alias that contains itself"] == [4]
    assert key in {p.key for p in problems}


@pytest.mark.parametrize(
    "nesting",
    [
        "images: " + "[" * 1000 + "]" * 1000 + "\n",
        "".join("  " * depth + f"k{depth}:\n" for depth in range(1000)),
        "images: " + "{a: " * 1000 + "1" + "}" * 1000 + "\n",
    ],
)
def test_nesting_1000_deep_is_a_problem_not_a_recursion_error(tmp_path: Path, nesting: str) -> None:
    problem = one(problems_of(manifest(tmp_path, HEADER + nesting)))

    assert problem.message.startswith("nested more than 200 levels deep")
    assert problem.line is not None and problem.line >= 3


def test_aliases_nesting_past_the_limit_is_a_problem(tmp_path: Path) -> None:
    text = HEADER + "x-deep: &d " + "[" * 150 + "]" * 150 + "\n"
    text += "images: " + "[" * 100 + "*d" + "]" * 100 + "\n"

    problem = one(problems_of(manifest(tmp_path, text)))

    assert "more than 200 levels deep" in problem.message and problem.line == 4


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("!!int abc", "'abc' is not a valid int"),
        ("!!float x", "'x' is not a valid float"),
        ("!!bool maybe", "'maybe' is not a valid bool"),
        ("!!binary aGVsbG8=", "unsupported YAML tag !!binary"),
        ("!!python/object:os.system {}", "unsupported YAML tag !!python/object:os.system"),
        ("!!python/name:os.system ''", "unsupported YAML tag !!python/name:os.system"),
        ("!!set {a, b}", "unsupported YAML tag !!set"),
        ("!uid 1000", "unsupported YAML tag !uid"),
        ("9" * 5000, "a number of 5,000 characters is too long"),
    ],
)
def test_tags_and_values_yaml_cannot_construct_are_problems(
    tmp_path: Path, value: str, message: str
) -> None:
    text = HEADER + f"images:\n  api:\n    dockerfile: Dockerfile\n    user: {value}\n"

    problems = problems_of(manifest(tmp_path, text))

    assert any(p.message == message and p.line == 6 for p in problems), problems


def test_no_explicit_tag_breaks_the_walk() -> None:
    tags = ["!!int", "!!float", "!!bool", "!!null", "!!str", "!!timestamp", "!!binary", "!!omap"]
    values = ["abc", "", "0x", "1:x", "maybe", "{}", "[]", "1e999", "2001-13-45", "<<"]
    for tag in tags:
        for value in values:
            problems: list[Problem] = []
            compose(f"a: {tag} {value}\n{tag} {value}: 1\nb: [{tag} {value}]\n", "m", problems)
            assert all(p.file == "m" and p.line for p in problems), (tag, value, problems)


@pytest.mark.parametrize(
    ("content", "line", "message"),
    [
        (HEADER.encode() + b"images:\n  api: {dockerfile: Docker\0file}\n", 4, "binary file"),
        (HEADER.encode() + b"#" + b"x" * 9000 + b"\nname: a\0b\n", 4, "a NUL byte"),
        (HEADER.encode() + b"images:\n  api: {dockerfile: caf\xe9}\n", 4, "not UTF-8"),
        (HEADER.encode() + b"name: \x07bell\n", 3, "U+0007"),
    ],
)
def test_bytes_yaml_refuses_are_problems_with_their_line(
    tmp_path: Path, content: bytes, line: int, message: str
) -> None:
    problem = one(problems_of(manifest(tmp_path, content)))

    assert problem.line == line and message in problem.message


def test_a_fifo_manifest_is_found_and_refused_without_blocking(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "stablebuild.yml")

    path = find_manifest(tmp_path)

    assert path == tmp_path / "stablebuild.yml"
    assert one(problems_of(path, 10)).message == "a FIFO where a file was expected; not read"


def test_a_manifest_linked_to_a_device_or_too_large_is_refused(tmp_path: Path) -> None:
    (tmp_path / "zero").mkdir()
    (tmp_path / "zero" / "stablebuild.yml").symlink_to("/dev/zero")
    big = manifest(tmp_path, HEADER + "#" + "x" * (1024 * 1024) + "\n")

    device = one(problems_of(tmp_path / "zero" / "stablebuild.yml", 10))
    large = one(problems_of(big))

    assert device.message == "a device where a file was expected; not read"
    assert large.message == "larger than 1 MiB; not read" and large.line is None


def test_a_python_version_file_that_is_a_fifo_is_a_problem(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / ".python-version")

    problems = problems_of(manifest(tmp_path, HEADER + "python: .python-version\n"))

    assert any(".python-version" in str(p) for p in problems), problems


def test_aliases_shared_within_the_budget_are_fine() -> None:
    shared = "a: &a [x, x, x]\nb: &b [*a, *a, *a]\nc: [*b, *b, *b, {<<: {k: v}}]\n"

    assert isinstance(yamlbounds.compose(shared), yamlbounds.yaml.MappingNode)
    with pytest.raises(yamlbounds.YamlBoundsError) as caught:
        yamlbounds.compose(BOMB)
    mark = caught.value.problem_mark
    assert mark is not None and mark.line + 1 == 6  # `f`: 9**6 values, the first past 100,000


def test_the_walk_keeps_its_own_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    """A backstop for what the graph check counts as one value (an alias inside itself)."""
    monkeypatch.setattr(nodes, "MAX_NODES", 5)
    problems: list[Problem] = []

    root = compose("a: &a [1, 2, *a]\nb: [*a, *a]\n", "m.yml", problems)

    assert root is None
    assert [(p.line, p.message) for p in problems][-1] == (
        2,
        "aliases expand the manifest to more than 5 values (a YAML alias bomb?); not read",
    )


def test_a_manifest_found_in_a_folder_must_not_lead_outside_it(tmp_path: Path) -> None:
    canary = tmp_path / "canary.yml"
    canary.write_text(HEADER + "images: {}\n")
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "stablebuild.yml").symlink_to(canary)

    with pytest.raises(ManifestError) as caught:
        load_manifest(repo / "stablebuild.yml", inside=repo)

    assert one(caught.value.problems).message == (
        f"a symlink to {canary}, outside the audited folder; not read"
    )
    assert load_manifest(repo / "stablebuild.yml").name == "demo"  # named by the user: read

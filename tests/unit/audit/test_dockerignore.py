"""The .dockerignore matcher against Docker's documented examples and patternmatcher's rules."""

from __future__ import annotations

import pytest

from stablebuild.audit.dockerignore import DockerIgnore, clean, go_match, parse_lines


def ignore(text: str) -> DockerIgnore:
    return DockerIgnore.from_text(text)


@pytest.mark.parametrize(
    ("path", "excluded"),
    [
        ("somedir/temporary.txt", True),  # */temp*
        ("somedir/temp", True),
        ("somedir/subdir/temporary.txt", True),  # */*/temp*
        ("tempa", True),  # temp?
        ("tempb", True),
        ("temp", False),
        ("tempab", False),
        ("a/b/c/temp", False),
        ("somedir/temp/inside.txt", True),  # a matching parent excludes its children
    ],
)
def test_documented_example(path: str, excluded: bool) -> None:
    rules = ignore("# comment\n*/temp*\n*/*/temp*\ntemp?\n")
    assert rules.excluded(path) is excluded


def test_double_star_matches_any_depth() -> None:
    rules = ignore("**/*.go\n")
    assert rules.excluded("a.go") and rules.excluded("x/y/z.go")
    assert not rules.excluded("a.goo")


def test_exceptions_last_match_wins() -> None:
    rules = ignore("*.md\n!README*.md\nREADME-secret.md\n")
    assert rules.excluded("a.md") and rules.excluded("README-secret.md")
    assert not rules.excluded("README.md")
    # the middle line has no effect when the exception comes last
    rules = ignore("*.md\nREADME-secret.md\n!README*.md\n")
    assert not rules.excluded("README-secret.md")


def test_leading_slash_and_dot_slash_are_stripped() -> None:
    rules = ignore("/storage/\n./data\n")
    assert rules.excluded("storage") and rules.excluded("storage/model.bin")
    assert rules.excluded("data/x")
    assert not rules.excluded("app/storage")


def test_star_does_not_cross_folders() -> None:
    rules = ignore("*.pyc\n")
    assert rules.excluded("a.pyc") and not rules.excluded("pkg/a.pyc")


def test_exception_reincludes_under_excluded_folder() -> None:
    rules = ignore("docs\n!docs/keep.md\n")
    assert rules.excluded("docs/other.md")
    assert not rules.excluded("docs/keep.md")
    assert rules.deciding("docs/other.md") is not None
    assert rules.deciding("docs/other.md").text == "docs"  # type: ignore[union-attr]


def test_character_classes_and_escapes() -> None:
    rules = ignore("file[0-9].txt\nlit\\*eral\n")
    assert rules.excluded("file3.txt") and not rules.excluded("filex.txt")
    assert rules.excluded("lit*eral") and not rules.excluded("litXeral")


def test_parse_lines_normalises_like_readall() -> None:
    text = "\ufeff# c\n  a/b/../c/  \n\n! /x\n//y\n"
    assert parse_lines(text) == ["a/c", "!x", "y"]


def test_bad_patterns_are_reported_not_raised() -> None:
    rules = DockerIgnore(["[abc", "!", "ok"])
    assert rules.errors and rules.excluded("ok")


def test_go_match_and_clean() -> None:
    assert go_match("*.py", "a.py") and not go_match("*.py", "d/a.py")
    assert go_match("src/?.py", "src/a.py")
    assert clean("./a//b/") == "a/b" and clean("") == "."

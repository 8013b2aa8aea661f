"""Manifest values that parse but cannot be used: non-finite and out-of-range numbers, URL
paths that are not, and paths outside the stack, too long or with a NUL. Each is a problem with
file:line at load (exit 2), never a traceback later."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from stablebuild.cli import app
from stablebuild.errors import ManifestError, Problem
from stablebuild.manifest import load_manifest

HEADER = "version: 1\nname: demo\n"
API = "images:\n  api:\n    dockerfile: Dockerfile\n"


@pytest.fixture
def stack(tmp_path: Path) -> Path:
    folder = tmp_path / "stack"
    (folder / "docker").mkdir(parents=True)
    (folder / "Dockerfile").write_text("FROM python:3.12-slim AS runtime\nUSER 1000\n")
    (folder / "requirements.txt").write_text("fastapi==0.115.0\n")
    (folder / ".python-version").write_text("3.12.7\n")
    (tmp_path / "reqs.txt").write_text("flask==3.0.0\n")  # beside the stack, not in it
    (tmp_path / "secret.txt").write_text("root:x:0:0:root:/root:/bin/bash\n")
    return folder


def problems(stack: Path, text: str) -> list[Problem]:
    path = stack / "stablebuild.yml"
    path.write_text(HEADER + text)
    with pytest.raises(ManifestError) as info:
        load_manifest(path)
    return info.value.problems


def one(stack: Path, text: str) -> Problem:
    found = problems(stack, text)
    assert len(found) == 1, found
    return found[0]


# -- numbers ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "words"),
    [
        (".inf", "must be a finite number, not '.inf'"),
        ("-.inf", "must be a finite number, not '-.inf'"),
        (".nan", "must be a finite number, not '.nan'"),
        ("1" * 400, "must be a finite number, not one 400 digits long"),
        ("-5", "start_seconds must be more than 0, not -5"),
        ("0", "start_seconds must be more than 0, not 0"),
        ("86400", "start_seconds must be at most 3600, not 86400"),
    ],
)
def test_start_seconds(stack: Path, value: str, words: str) -> None:
    problem = one(stack, API + f"    run: {{start_seconds: {value}}}\n")
    assert problem.key == "images.api.run.start_seconds"
    assert problem.line == 6
    assert words in problem.message


@pytest.mark.parametrize(
    ("budgets", "key", "words"),
    [
        ("{size_mb: -5}", "size_mb", "more than 0, not -5"),
        ("{size_mb: .nan}", "size_mb", "finite number, not '.nan'"),
        ("{build_seconds: .inf}", "build_seconds", "finite number, not '.inf'"),
        ("{build_seconds: -0.5}", "build_seconds", "more than 0, not -0.5"),
    ],
)
def test_budgets(stack: Path, budgets: str, key: str, words: str) -> None:
    problem = one(stack, API + f"    budgets: {budgets}\n")
    assert problem.key == f"images.api.budgets.{key}"
    assert words in problem.message


@pytest.mark.parametrize("port", ["70000", "0", "-1", "65536"])
def test_port_out_of_range(stack: Path, port: str) -> None:
    problem = one(stack, API + f"    run: {{port: {port}}}\n")
    assert (problem.key, problem.line) == ("images.api.run.port", 6)
    assert "out of range (1-65535)" in problem.message


def test_numbers_in_range_load(stack: Path) -> None:
    path = stack / "stablebuild.yml"
    run = '    run: {port: 65535, health: "/api/v1/health?full=1", start_seconds: 3600}\n'
    path.write_text(HEADER + API + run + "    budgets: {size_mb: 0.5, build_seconds: 1.0e+3}\n")
    spec = load_manifest(path).images["api"]
    assert spec.run is not None and spec.run.start_seconds == 3600.0
    assert spec.budgets.build_seconds == 1000.0


# -- URL paths -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("health", "words"),
    [
        ('"/api v1"', "' ' at position 5 must be percent-encoded"),
        ('"/api\\tv1"', "'\\t' at position 5"),
        ('"/a#frag"', "'#' at position 3"),
        ('"/caf\u00e9"', "'\u00e9' at position 5"),
        ('"/x%zz"', "a % not followed by two hex digits"),
        ("api/health", "must start with /"),
    ],
)
def test_health_path(stack: Path, health: str, words: str) -> None:
    problem = one(stack, API + f"    run: {{port: 8000, health: {health}}}\n")
    assert problem.key == "images.api.run.health"
    assert words in problem.message


# -- paths -----------------------------------------------------------------------------------


def test_requirements_outside_the_stack_is_refused_at_load(stack: Path) -> None:
    problem = one(stack, "requirements: ../reqs.txt\n" + API)
    assert (problem.key, problem.line) == ("requirements", 3)
    assert "is outside the stack folder" in problem.message


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("python: ../secret.txt\n" + API, "python"),
        ("ca_bundle: ../secret.txt\n" + API, "ca_bundle"),
        ("audit: {vuln_db: /etc}\n" + API, "audit.vuln_db"),
        ("images:\n  api: {dockerfile: ../secret.txt}\n", "images.api.dockerfile"),
        ("images:\n  api: {dockerfile: Dockerfile, context: /}\n", "images.api.context"),
    ],
)
def test_every_manifest_path_stays_inside(stack: Path, text: str, key: str) -> None:
    problem = one(stack, text)
    assert problem.key == key
    assert "is outside the stack folder" in problem.message
    assert "root:x" not in problem.message  # the outside file is never read


def test_a_link_leading_outside_is_refused(stack: Path) -> None:
    (stack / "reqs.txt").symlink_to(stack.parent / "reqs.txt")
    (stack / "zero").symlink_to("/dev/zero")
    found = problems(stack, "requirements: [reqs.txt]\nca_bundle: zero\n" + API)
    assert [p.key for p in found] == ["requirements[0]", "ca_bundle"]
    assert all("is outside the stack folder" in p.message for p in found)


def test_a_fifo_is_not_a_file(stack: Path) -> None:
    os.mkfifo(stack / "reqs.fifo")
    problem = one(stack, "requirements: reqs.fifo\n" + API)
    assert problem.message == "'reqs.fifo' is not a file (it is a FIFO)"


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("x" * 300, "a name in the path is 300 bytes long (at most 255)"),
        ("/".join(["d" * 200] * 25), "bytes long (at most 4096)"),
        ('"a\\0b"', "the path contains a NUL byte"),
    ],
)
def test_unusable_path_names(stack: Path, value: str, words: str) -> None:
    problem = one(stack, f"images:\n  api:\n    dockerfile: {value}\n")
    assert (problem.key, problem.line) == ("images.api.dockerfile", 5)
    assert words in problem.message


@pytest.mark.parametrize("value", ["x" * 300, '"3.12\\0"'])
def test_python_that_cannot_name_a_file_is_a_version_problem(stack: Path, value: str) -> None:
    problem = one(stack, f"python: {value}\n" + API)
    assert problem.key == "python"
    assert "neither an existing file" in problem.message


def test_paths_inside_load(stack: Path) -> None:
    path = stack / "stablebuild.yml"
    path.write_text(HEADER + "python: .python-version\nrequirements: requirements.txt\n" + API)
    manifest = load_manifest(path)
    assert manifest.python == "3.12.7"
    assert manifest.requirements == (stack.resolve() / "requirements.txt",)


# -- through the CLI: exit 2, one line each, no traceback ------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        API + "    run: {start_seconds: .inf}\n",
        "requirements: ../reqs.txt\n" + API,
        f"images:\n  api:\n    dockerfile: {'x' * 300}\n",
        'images:\n  api:\n    dockerfile: "a\\0b"\n',
        API + '    run: {port: 80, health: "/api v1"}\n',
    ],
)
def test_validate_exits_2_with_file_and_line(stack: Path, text: str) -> None:
    (stack / "stablebuild.yml").write_text(HEADER + text)
    result = CliRunner().invoke(app, ["validate", str(stack), "-q"])
    assert result.exit_code == 2, result.output
    assert "stablebuild.yml:" in result.stderr
    assert "Traceback" not in result.output and result.exception is not None


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--manifest", "{tmp}/" + "m" * 300], "300 bytes long (at most 255)"),
        (["--manifest", "{tmp}/missing.yml"], "no such file or folder"),
        (["--manifest", "{tmp}"], "a folder, not a regular file"),
        (["--ca-bundle", "/dev/null"], "a character device, not a regular file"),
        (["--ca-bundle", "{tmp}/fifo"], "a FIFO, not a regular file"),
        (["--build-timeout", "inf"], "--build-timeout inf: must be a number of seconds"),
        (["--build-timeout", "nan"], "--build-timeout nan: must be"),
        (["--build-timeout", "-5"], "--build-timeout -5: must be"),
        (["--build-timeout", "0"], "--build-timeout 0: must be"),
        (["--profile", "-x"], "--profile -x: looks like an option"),
        (["--image", "--api"], "--image --api: looks like an option"),
        (["--jobs", "0"], "--jobs 0: must be 1 or more"),
    ],
)
def test_validate_option_values(stack: Path, tmp_path: Path, args: list[str], words: str) -> None:
    os.mkfifo(tmp_path / "fifo")
    argv = [a.format(tmp=tmp_path) for a in args]
    result = CliRunner().invoke(app, ["validate", str(stack), "-q", *argv])
    assert result.exit_code == 2, result.output
    assert words in result.stderr
    assert result.stderr.count("error:") == 1
    assert "Traceback" not in result.output


def test_nul_in_a_path_option_is_exit_2() -> None:
    # NOTE: only in-process: no real argv or environment can hold a NUL byte.
    result = CliRunner().invoke(app, ["validate", ".", "--manifest", "a\0b"])
    assert result.exit_code == 2
    assert "null byte" in result.stderr.lower()


@pytest.mark.parametrize(
    "args",
    [
        ["--suite", "--foreign"],
        ["--tag", "-x"],
        ["--mirror", "--no-check-gpg"],
        ["--mirror", "http://deb.debian.org/debian bookworm"],
        ["--packages", "curl,--foreign"],
        ["--suite", "bookworm main"],
    ],
)
def test_bootstrap_refuses_values_that_debootstrap_would_misread(
    args: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import stablebuild.engine

    def no_engine() -> None:
        raise AssertionError("the engine was reached")

    monkeypatch.setattr(stablebuild.engine, "connect", no_engine)
    argv = ["base", "bootstrap", *(["--tag", "t:1"] if "--tag" not in args else []), *args]
    result = CliRunner().invoke(app, argv)
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error: ")
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    "command",
    [[], ["audit"], ["validate"], ["doctor"], ["clean"], ["base"], ["base", "bootstrap"],
     ["hook", "install"], ["hook", "uninstall"]],
)  # fmt: skip
def test_h_is_help_everywhere(command: list[str]) -> None:
    result = CliRunner().invoke(app, [*command, "-h"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output and "--help" in result.output


# -- platforms and Python versions to cover wheels for ----------------------------------------


def test_a_platform_that_names_none_is_a_problem_at_its_line(stack: Path) -> None:
    text = API + "audit:\n  platforms: [linux/arm64, manylinux_2_28_x86_64, arm64-linux]\n"
    problem = one(stack, text)
    assert (problem.key, problem.line) == ("audit.platforms[2]", 7)
    assert "'arm64-linux' is not a platform" in problem.message


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--platform", "foo"], "--platform: 'foo' is not a platform"),
        (["--platform", "linux/sparc"], "--platform: 'linux/sparc' is not a platform"),
        (["--platform", "--offline"], "--platform --offline: looks like an option"),
        (["--python", "3"], "--python: '3' is too loose a Python version"),
        (["--python", "three"], "--python: 'three' is not a Python version"),
    ],
)
def test_audit_coverage_values_are_checked_before_any_work(
    stack: Path, args: list[str], words: str
) -> None:
    (stack / "stablebuild.yml").write_text(HEADER + API)
    result = CliRunner().invoke(app, ["audit", str(stack), "--offline", *args])
    assert result.exit_code == 2, result.output
    assert words in result.stderr
    assert result.stderr.count("error:") == 1
    assert "Traceback" not in result.output


def test_audit_coverage_values_that_name_something_are_taken(stack: Path) -> None:
    (stack / "stablebuild.yml").write_text(HEADER + API)
    argv = ["audit", str(stack), "--offline", "--history", "off", "-f", "json"]
    argv += ["--platform", "linux/arm64", "--platform", "musllinux_1_2_x86_64"]
    argv += ["--python", "3.13"]
    result = CliRunner().invoke(app, argv)
    assert result.exit_code in (0, 1), result.output  # findings or none: the audit ran

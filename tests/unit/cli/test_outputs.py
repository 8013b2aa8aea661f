"""`-o FORMAT:PATH`: parsed and checked before any work, never replacing what is not a regular
file, and a report that one target cannot take still reaches stdout and the other targets."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterator
from enum import Enum
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import stablebuild.engine
import stablebuild.validate
from stablebuild import atomic
from stablebuild.cli import app
from stablebuild.errors import UsageError
from stablebuild.outputs import OutputTarget, parse_target, parse_targets, write_targets
from stablebuild.report.model import (
    BuildOutcome,
    BuildStatus,
    CheckResult,
    CheckStatus,
    ImageReport,
    Report,
)

FIXTURES = Path(__file__).parents[2] / "fixtures" / "audit" / "dockerfile"
runner = CliRunner()


class Fmt(str, Enum):
    TABLE = "table"
    JSON = "json"
    MARKDOWN = "markdown"
    SARIF = "sarif"


@pytest.fixture(autouse=True)
def _cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A repository with findings (the reference fixture), audited offline."""
    target = tmp_path / "repo"
    shutil.copytree(FIXTURES / "reference", target)
    return target


def audit(repo: Path, *args: str) -> Any:
    return runner.invoke(app, ["audit", str(repo), "--offline", "--no-hadolint", *args])


@pytest.fixture
def fifo(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "pipe.json"
    os.mkfifo(path)
    yield path
    assert stat.S_ISFIFO(os.lstat(path).st_mode), "the FIFO was replaced"


@pytest.fixture
def devnull_link(tmp_path: Path) -> Iterator[Path]:
    link = tmp_path / "null.json"
    link.symlink_to("/dev/null")
    yield link
    assert link.is_symlink() and os.readlink(link) == "/dev/null"
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode), "/dev/null is no longer a device"


# -- parsing ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "fmt", "path"),
    [
        ("sarif:out.sarif", Fmt.SARIF, "out.sarif"),
        ("json:reports/a.txt", Fmt.JSON, "reports/a.txt"),
        ("report.json", Fmt.JSON, "report.json"),
        ("REPORT.MD", Fmt.MARKDOWN, "REPORT.MD"),
        ("code.sarif", Fmt.SARIF, "code.sarif"),
        ("./odd:name.json", Fmt.JSON, "odd:name.json"),
        ("json:a:b", Fmt.JSON, "a:b"),
    ],
)
def test_parse_target(value: str, fmt: Fmt, path: str) -> None:
    assert parse_target(value, Fmt) == OutputTarget(fmt, Path(path))


def test_plain_path_without_suffix_takes_the_fallback() -> None:
    assert parse_target("report.txt", Fmt, Fmt.TABLE) == OutputTarget(Fmt.TABLE, Path("report.txt"))


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("sarif2:out", "unknown format 'sarif2'"),
        ("junit:out.xml", "unknown format 'junit'"),
        ("json:", "no file named"),
        ("", "no file named"),
        ("report.txt", "cannot tell the format"),
        ("--format", "looks like an option"),
        ("json:-q", "looks like an option"),
    ],
)
def test_parse_target_refusals(value: str, words: str) -> None:
    with pytest.raises(UsageError) as info:
        parse_target(value, Fmt)
    assert words in info.value.message


def test_the_same_file_twice_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="named twice"):
        parse_targets([f"json:{tmp_path}/a", f"markdown:{tmp_path}/../{tmp_path.name}/a"], Fmt)


# -- audit -o --------------------------------------------------------------------------------


def test_audit_format_colon_path_writes_that_format(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = audit(repo, "-o", "sarif:out.sarif")
    assert result.exit_code == 1, result.output
    assert json.loads((tmp_path / "out.sarif").read_text())["version"] == "2.1.0"
    assert not (tmp_path / "sarif:out.sarif").exists()  # what it used to write, as table text
    assert "SB401" in result.stdout  # the table still goes to stdout
    assert "report written to out.sarif (sarif)" in result.stderr


def test_audit_writes_several_targets(repo: Path, tmp_path: Path) -> None:
    result = audit(repo, "--format", "json", "-o", f"{tmp_path}/a.md", "-o", f"sarif:{tmp_path}/b")
    assert result.exit_code == 1, result.output
    assert json.loads(result.stdout)["schema"] == 1
    assert (tmp_path / "a.md").read_text().startswith("#")
    assert json.loads((tmp_path / "b").read_text())["version"] == "2.1.0"


def test_audit_plain_path_without_suffix_takes_format(repo: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.txt"
    assert audit(repo, "--format", "json", "-o", str(out)).exit_code == 1
    assert json.loads(out.read_text())["schema"] == 1
    assert audit(repo, "-o", str(out)).exit_code == 1
    assert "SB401" in out.read_text() and not out.read_text().startswith("{")


@pytest.mark.parametrize(
    ("target", "words"),
    [
        ("sarif2:{tmp}/x", "unknown format 'sarif2'"),
        ("json:{tmp}/missing/x.json", "does not exist (stablebuild does not create it)"),
        ("json:{tmp}/file.txt/x.json", "is not a folder"),
        ("json:{tmp}", "a folder, not a regular file"),
        ("json:/dev/null", "a character device, not a regular file; it is never replaced"),
        ("json:{tmp}/" + "x" * 300, "300 bytes long (at most 255)"),
        ("json:{tmp}/a\0b", "NUL byte"),
    ],
)
def test_audit_bad_targets_are_exit_2_before_any_work(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, target: str, words: str
) -> None:
    import stablebuild.audit.runner

    def no_audit(*args: object) -> None:
        raise AssertionError("the audit ran despite a bad -o")

    monkeypatch.setattr(stablebuild.audit.runner, "run_audit", no_audit)
    (tmp_path / "file.txt").write_text("x")
    result = audit(repo, "-o", target.format(tmp=tmp_path))
    assert result.exit_code == 2, result.output
    assert words in result.stderr
    assert "Traceback" not in result.output
    assert not (tmp_path / "missing").exists()


def test_audit_refuses_a_fifo_and_a_link_to_a_device(
    repo: Path, fifo: Path, devnull_link: Path
) -> None:
    for target in (fifo, devnull_link):
        result = audit(repo, "-o", f"json:{target}")
        assert result.exit_code == 2
        assert "not a regular file; it is never replaced" in result.stderr


# -- validate -o -----------------------------------------------------------------------------


@pytest.fixture
def stack(tmp_path: Path) -> Path:
    folder = tmp_path / "stack"
    folder.mkdir()
    (folder / "Dockerfile").write_text("FROM debian:bookworm-slim\nUSER 1000\n")
    (folder / "stablebuild.yml").write_text(
        "version: 1\nname: s\nimages:\n  api: {dockerfile: Dockerfile}\n"
    )
    return folder


def _report(ok: bool) -> Report:
    report = Report(stack="s", run_id="r1", started_at="2026-01-01T00:00:00+00:00")
    status = CheckStatus.PASSED if ok else CheckStatus.FAILED
    check = CheckResult("python.runs", "python", status, "runs: Python 3.12.7")
    build = BuildOutcome(BuildStatus.BUILT, 1.0, image_id="sha256:1")
    report.images.append(ImageReport("api", build, [check]))
    return report


def _fake_run(monkeypatch: pytest.MonkeyPatch, ok: bool, during: Any = None) -> list[str]:
    """validate without an engine: `during()` runs while the fake build is under way."""
    calls: list[str] = []

    def fake_validate(*args: Any, **kwargs: Any) -> Report:
        calls.append("validate")
        if during is not None:
            during()
        return _report(ok)

    monkeypatch.setattr(stablebuild.engine, "connect", lambda: calls.append("connect"))
    monkeypatch.setattr(stablebuild.validate, "validate", fake_validate)
    return calls


def test_validate_bad_target_is_refused_before_the_build(
    stack: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _fake_run(monkeypatch, ok=True)
    result = runner.invoke(app, ["validate", str(stack), "-q", "-o", f"json:{tmp_path}/no/r.json"])
    assert result.exit_code == 2
    assert "does not exist" in result.stderr
    assert calls == []  # neither the engine nor the build was touched


def test_validate_refuses_fifo_and_device_link(
    stack: Path, fifo: Path, devnull_link: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _fake_run(monkeypatch, ok=True)
    for target in (f"json:{fifo}", f"json:{devnull_link}", "junit:/dev/null"):
        result = runner.invoke(app, ["validate", str(stack), "-q", "-o", target])
        assert result.exit_code == 2
        assert "never replaced" in result.stderr
    assert calls == []


@pytest.mark.parametrize(("ok", "code"), [(True, 2), (False, 2)])
def test_a_target_failing_at_write_time_loses_nothing_else(
    stack: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ok: bool, code: int
) -> None:
    late = tmp_path / "late.json"
    # Checked and fine before the run; a FIFO by the time the report is written.
    _fake_run(monkeypatch, ok=ok, during=lambda: os.mkfifo(late))
    good = tmp_path / "good.md"
    args = ["validate", str(stack), "-q", "-f", "json", "-o", f"json:{late}", "-o", str(good)]
    result = runner.invoke(app, args)
    assert result.exit_code == code
    assert json.loads(result.stdout)["stack"] == "s"  # stdout still has the report
    assert good.read_text().startswith("#")  # and so does the other target
    assert stat.S_ISFIFO(os.lstat(late).st_mode)
    assert f"error: --output json:{late}: a FIFO, not a regular file" in result.stderr
    assert "Traceback" not in result.output


def test_folder_removed_during_the_run_is_named(
    stack: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "reports"
    folder.mkdir()
    _fake_run(monkeypatch, ok=True, during=folder.rmdir)
    result = runner.invoke(app, ["validate", str(stack), "-q", "-o", f"json:{folder}/r.json"])
    assert result.exit_code == 2
    assert f"--output json:{folder}/r.json: No such file or directory" in result.stderr
    assert "python.runs" in result.stdout or "api" in result.stdout


def test_validate_passing_run_writes_files_with_umask_mode(
    stack: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fake_run(monkeypatch, ok=True)
    out = tmp_path / "r.json"
    old = os.umask(0o022)
    try:
        result = runner.invoke(app, ["validate", str(stack), "-q", "-o", str(out)])
    finally:
        os.umask(old)
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(out.stat().st_mode) == 0o644
    assert json.loads(out.read_text())["status"] == "passed"


# -- write_targets and the atomic writer -----------------------------------------------------


def test_write_targets_renders_each_format_once(tmp_path: Path) -> None:
    rendered: list[Fmt] = []

    def render(fmt: Fmt) -> str:
        rendered.append(fmt)
        return fmt.value

    targets = [OutputTarget(Fmt.JSON, tmp_path / n) for n in ("a", "b")]
    written, failures = write_targets(targets, render)
    assert (written, failures, rendered) == (targets, [], [Fmt.JSON])


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_new_files_honour_the_umask(tmp_path: Path, umask: int, mode: int) -> None:
    old = os.umask(umask)
    try:
        path = atomic.write_text(tmp_path / "r.json", "{}")
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == mode


def test_an_existing_file_keeps_its_mode(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    path.write_text("old")
    path.chmod(0o640)
    atomic.write_text(path, "new")
    assert path.read_text() == "new"
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


def test_no_folder_is_made_unless_asked(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        atomic.write_text(tmp_path / "a" / "r.json", "x")
    assert not (tmp_path / "a").exists()
    atomic.write_text(tmp_path / "a" / "r.json", "x", make_parents=True)
    assert (tmp_path / "a" / "r.json").read_text() == "x"


def test_atomic_refuses_what_is_not_a_regular_file(
    tmp_path: Path, fifo: Path, devnull_link: Path
) -> None:
    folder = tmp_path / "folder"
    folder.mkdir()
    link_to_file = tmp_path / "link.json"
    (tmp_path / "real.json").write_text("kept")
    link_to_file.symlink_to(tmp_path / "real.json")
    for target, kind in [
        (fifo, "a FIFO"),
        (devnull_link, "a symbolic link"),
        (folder, "a folder"),
        (link_to_file, "a symbolic link"),
        (Path("/dev/null"), "a character device"),
    ]:
        with pytest.raises(atomic.NotRegularFile) as info:
            atomic.write_text(target, "x")
        assert info.value.kind == kind
    assert (tmp_path / "real.json").read_text() == "kept"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")) == []


def _audit_program(tmp_path: Path, *extra: str) -> tuple[list[str], dict[str, str]]:
    """`stablebuild audit` of the example stack as a program of its own (JSON on stdout,
    offline, no history), with caches and settings of the test's own."""
    example = Path(__file__).resolve().parents[3] / "examples" / "ffmpeg-api"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "STABLEBUILD_"))}
    env |= {"XDG_CACHE_HOME": str(tmp_path / "cache"), "XDG_CONFIG_HOME": str(tmp_path / "cfg")}
    argv = [sys.executable, "-m", "stablebuild", "audit", str(example), "-f", "json"]
    return [*argv, "--offline", "--history", "off", *extra], env


@pytest.mark.parametrize("remembered", [False, True], ids=["full", "remembered answer"])
def test_a_reader_that_goes_away_is_one_line_and_exit_2_never_a_traceback(
    tmp_path: Path, remembered: bool
) -> None:
    """`stablebuild audit ... | head`: stdout's reader gone before the report was written.
    Every command ends through `console.guarded`; the run's own remembered answer too."""
    argv, env = _audit_program(tmp_path)
    if remembered:
        subprocess.run(argv, env=env, capture_output=True, timeout=120, check=False)
    program = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert program.stdout is not None and program.stderr is not None
    program.stdout.close()
    stderr = program.stderr.read().decode()
    assert program.wait(timeout=120) == 2, stderr
    assert "Traceback" not in stderr and "Exception ignored" not in stderr, stderr
    assert stderr.splitlines()[-2:] == [
        "error: stdout was closed before the report was written to it (its reader went away)",
        "hint: write it to a file instead: -o FORMAT:PATH",
    ]


def test_a_program_started_with_its_streams_closed_writes_its_files_and_no_traceback(
    tmp_path: Path,
) -> None:
    """`stablebuild audit ... >&- 2>&-`: Python leaves sys.stdout None, and the first file the
    program opened took descriptor 1, where the report (and any child's output) then went.
    Closed streams get /dev/null first thing; the -o file is whole."""
    report = tmp_path / "audit.json"
    argv, env = _audit_program(tmp_path, "-o", f"json:{report}")

    def close_streams() -> None:
        os.close(1)
        os.close(2)

    done = subprocess.run(argv, env=env, preexec_fn=close_streams, timeout=120, check=False)
    assert done.returncode == 0
    assert json.loads(report.read_text())["tool"]["name"] == "stablebuild"

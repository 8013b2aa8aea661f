"""One convention on every command: `-q/--quiet` and `-v/--verbose` (declared once, on the
root) and what each changes, `--format/-f` and `-o FORMAT:PATH` alike for audit and validate,
and Typer's shell completion."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import typer.main
from rich.console import Console
from typer.testing import CliRunner

from stablebuild import doctor
from stablebuild.cli import app
from stablebuild.events import Event
from stablebuild.progress import ProgressLines

FIXTURE = Path(__file__).parents[2] / "fixtures" / "audit" / "dockerfile" / "reference"
AUDIT = ["audit", str(FIXTURE), "--offline", "--no-hadolint"]


def _commands(command: Any, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any]]:
    out = [(path, command)]
    for name, sub in getattr(command, "commands", {}).items():
        out += _commands(sub, (*path, name))
    return out


def test_every_command_takes_quiet_and_verbose() -> None:
    tree = _commands(typer.main.get_command(app))
    names = {" ".join(path) for path, _ in tree}
    assert {"", "audit", "validate", "clean", "doctor", "base bootstrap", "hook install"} <= names
    for path, command in tree:
        opts = {opt for param in command.params for opt in param.opts}
        assert {"-q", "--quiet", "-v", "--verbose"} <= opts, f"stablebuild {' '.join(path)}"


def test_the_options_are_in_each_commands_help() -> None:
    result = CliRunner().invoke(app, ["hook", "install", "--help"], terminal_width=200)
    assert result.exit_code == 0
    assert "--quiet" in result.stdout and "--verbose" in result.stdout


@pytest.mark.parametrize("where", ["after", "before"])
def test_quiet_leaves_errors_only_on_stderr(tmp_path: Path, where: str) -> None:
    report = tmp_path / "audit.json"
    args = [*AUDIT, "--format", "json", "-o", f"json:{report}"]
    loud = CliRunner().invoke(app, args)
    quiet = CliRunner().invoke(app, [*args, "-q"] if where == "after" else ["-q", *args])
    assert loud.exit_code == quiet.exit_code == 1
    assert f"report written to {report}" in loud.stderr
    assert quiet.stderr == ""
    assert json.loads(quiet.stdout) == json.loads(report.read_text())  # the report is unchanged


def test_quiet_still_says_what_went_wrong(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["audit", "-q", str(tmp_path / "missing")])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: DIRECTORY ") and "no such file" in result.stderr


def test_verbose_says_where_answers_came_from_and_where_the_time_went() -> None:
    plain = CliRunner().invoke(app, [*AUDIT, "--format", "json"])
    loud = CliRunner().invoke(app, [*AUDIT, "--format", "json", "--verbose"])
    assert loud.exit_code == plain.exit_code == 1
    assert "package index: the cache only (--offline)" in loud.stderr
    assert "files audited in" in loud.stderr and "dockerfile " in loud.stderr
    assert "files audited in" not in plain.stderr
    assert json.loads(loud.stdout)["findings"] == json.loads(plain.stdout)["findings"]


@pytest.mark.parametrize(
    "args", [["audit", "-q", "-v", "."], ["-q", "audit", "--verbose", "."], ["-v", "-q", "doctor"]]
)
def test_quiet_and_verbose_together_is_a_usage_error(args: list[str]) -> None:
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    assert (
        result.stderr == "error: -q/--quiet and -v/--verbose together\nhint: pick one of the two\n"
    )


def test_nothing_outlives_an_invocation(tmp_path: Path) -> None:
    report = tmp_path / "r.json"
    args = [*AUDIT, "--format", "json", "-o", f"json:{report}"]
    assert CliRunner().invoke(app, [*args, "-q"]).stderr == ""
    assert "report written to" in CliRunner().invoke(app, args).stderr


def _diagnosed(**_: Any) -> tuple[list[doctor.DoctorLine], bool]:
    return (
        [
            doctor.DoctorLine("engine", doctor.Status.OK, "Docker 27.1", "nothing to do"),
            doctor.DoctorLine("nvidia", doctor.Status.INFO, "no GPU runtime", "install it"),
            doctor.DoctorLine("disk", doctor.Status.PROBLEM, "2 GB free", "prune images"),
        ],
        True,
    )


def test_doctor_quiet_shows_only_problems_and_verbose_every_hint(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(doctor, "diagnose", _diagnosed)
    normal = CliRunner().invoke(app, ["doctor"], terminal_width=200).stdout
    quiet = CliRunner().invoke(app, ["doctor", "-q"], terminal_width=200).stdout
    loud = CliRunner().invoke(app, ["doctor", "-v"], terminal_width=200).stdout
    assert "engine" in normal and "hint: nothing to do" not in normal and "install it" in normal
    assert "engine" not in quiet and "nvidia" not in quiet and "hint: prune images" in quiet
    assert "hint: nothing to do" in loud


def test_validate_progress_with_verbose_is_one_line_per_event() -> None:
    console = Console(record=True, width=200)
    plain, every = ProgressLines(console), ProgressLines(console, every=True)
    plain(Event("app", "cached", "reused sha256:1234"))
    assert console.export_text() == ""
    every(Event("app", "cached", "reused sha256:1234"))
    every(Event("app", "build-start", "Dockerfile"))
    plain(Event("app", "build-context", "sending 2.05 kB of context"))
    every(Event("app", "build-context", "sending 2.05 kB of context"))
    lines = console.export_text().splitlines()
    assert lines[0].startswith("app: cached reused sha256:1234 (")
    assert lines[1] == "app: building Dockerfile"
    assert lines[2:] == ["app: sending 2.05 kB of context"]  # as the Docker client says it


def test_validate_quiet_is_the_shared_option(tmp_path: Path) -> None:
    """validate's own --quiet became the shared one: same spelling, same place."""
    result = CliRunner().invoke(app, ["validate", str(tmp_path), "--quiet"])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: no stablebuild.yml in {tmp_path}")


@pytest.mark.parametrize("command", ["audit", "validate"])
def test_format_and_output_are_spelled_and_checked_alike(command: str, tmp_path: Path) -> None:
    [cmd] = [c for p, c in _commands(typer.main.get_command(app)) if p == (command,)]
    opts = {opt for param in cmd.params for opt in param.opts}
    assert {"--format", "-f", "--output", "-o"} <= opts
    bad_format = CliRunner().invoke(app, [command, str(tmp_path), "-f", "nope"])
    assert bad_format.exit_code == 2 and "'nope' is not one of" in bad_format.output
    bad_output = CliRunner().invoke(app, [command, str(tmp_path), "-o", f"nope:{tmp_path}/r"])
    assert bad_output.exit_code == 2
    assert f"error: --output nope:{tmp_path}/r: unknown format 'nope'" in bad_output.stderr
    assert not (tmp_path / "r").exists()


# -- shell completion ------------------------------------------------------------------------


def test_completion_is_offered_and_completes_commands_and_options() -> None:
    help_text = CliRunner().invoke(app, ["--help"], terminal_width=200).stdout
    assert "--install-completion" in help_text and "--show-completion" in help_text
    script = CliRunner().invoke(app, ["--show-completion", "bash"], prog_name="stablebuild")
    assert script.exit_code == 0 and "_STABLEBUILD_COMPLETE=complete_bash" in script.stdout

    def complete(words: str) -> list[str]:
        env = {
            "_STABLEBUILD_COMPLETE": "complete_bash",
            "COMP_WORDS": words,
            "COMP_CWORD": str(len(words.split()) - 1),
        }
        done = CliRunner().invoke(app, [], prog_name="stablebuild", env=env)
        assert done.exit_code == 0
        return done.stdout.split()

    assert complete("stablebuild va") == ["validate"]
    assert "--explain" in complete("stablebuild audit --exp")
    assert {"--quiet", "--verbose"} <= set(complete("stablebuild clean --"))


def test_a_base_copy_and_an_engine_retry_show_without_verbose() -> None:
    """Tens of seconds copying a base, or an image moved to another engine, must show in a CI
    log without -v."""
    console = Console(record=True, width=200)
    plain = ProgressLines(console)
    plain(Event("api", "base", "copying stablebuild/airgap:bookworm from local to gpu"))
    plain(Event("api", "retry", "engine gpu lost: on local"))
    assert console.export_text().splitlines() == [
        "api: copying stablebuild/airgap:bookworm from local to gpu",
        "api: engine gpu lost: on local",
    ]

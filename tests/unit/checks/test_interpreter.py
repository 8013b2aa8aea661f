"""python.interpreter judged from the image's files when the probe could not start."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from stablebuild.checks.inputs import EngineFacts, ImageMeta, InterpreterFacts, Link, RunOutcome
from stablebuild.checks.interpreter import check_interpreter, probe_result
from stablebuild.checks.judging import judge
from stablebuild.manifest.model import PackagesSpec, RunSpec
from stablebuild.report.model import CheckResult, CheckStatus

FOLDERS = ("/usr/bin", "/usr/local/bin")

# The original GPU-stage defect: a venv built on python:3.12 (home /usr/local/bin) copied into a
# CUDA runtime whose Debian Python was removed; its python links to /usr/bin/python3.
COPIED_VENV = InterpreterFacts(
    interpreter="/opt/venv/bin/python",
    path="/opt/venv/bin/python",
    links=(Link("/opt/venv/bin/python", "/usr/bin/python3", "/usr/bin/python3"),),
    end="missing",
    venv="/opt/venv",
    venv_home="/usr/local/bin",
    pythons_searched=FOLDERS,
)


def result(facts: InterpreterFacts) -> CheckResult:
    found = check_interpreter(facts)
    assert found is not None
    return found


def test_dangling_venv_link_names_the_root_cause() -> None:
    found = result(COPIED_VENV)
    cause, fix = found.message.splitlines()
    assert found.status is CheckStatus.FAILED
    assert (found.id, found.family) == ("python.interpreter", "python")
    assert cause.startswith(
        "/opt/venv/bin/python → /usr/bin/python3, which does not exist in this image: "
        "the venv was built on another base (pyvenv.cfg home = /usr/local/bin)"
    )
    assert cause.endswith("the image has no python3 in /usr/bin or /usr/local/bin")
    assert fix.startswith("fix: build the venv in a stage FROM the same base as the runtime")
    assert found.value == ["/opt/venv/bin/python -> /usr/bin/python3"]
    assert found.expected == "/opt/venv/bin/python"


def test_relative_hops_are_shown_absolute_and_python_elsewhere_is_named() -> None:
    facts = InterpreterFacts(
        interpreter="/opt/venv/bin/python3",
        path="/opt/venv/bin/python3",
        links=(
            Link("/opt/venv/bin/python3", "python", "/opt/venv/bin/python"),
            Link("/opt/venv/bin/python", "/usr/local/bin/python3", "/usr/local/bin/python3"),
        ),
        end="missing",
        venv="/opt/venv",
        venv_home=None,
        pythons=("/usr/bin/python3", "/usr/bin/python3.11"),
        pythons_searched=FOLDERS,
    )
    cause = result(facts).message.splitlines()[0]
    assert cause.startswith(
        "/opt/venv/bin/python3 → /opt/venv/bin/python → /usr/local/bin/python3, which does not "
        "exist in this image: the venv was built on another base (its pyvenv.cfg names no home)"
    )
    assert cause.endswith("Python in this image: /usr/bin/python3, /usr/bin/python3.11")


def test_dangling_link_outside_a_venv() -> None:
    facts = InterpreterFacts(
        interpreter="/usr/local/bin/python3",
        path="/usr/local/bin/python3",
        links=(Link("/usr/local/bin/python3", "python3.12", "/usr/local/bin/python3.12"),),
        end="missing",
        pythons_searched=FOLDERS,
    )
    message = result(facts).message
    assert "/usr/local/bin/python3 → /usr/local/bin/python3.12, which does not exist" in message
    assert "a dangling symlink" in message and "venv" not in message


def test_link_loop() -> None:
    facts = InterpreterFacts(
        interpreter="/opt/venv/bin/python",
        path="/opt/venv/bin/python",
        links=(
            Link("/opt/venv/bin/python", "python3", "/opt/venv/bin/python3"),
            Link("/opt/venv/bin/python3", "python", "/opt/venv/bin/python"),
        ),
        end="loop",
        venv="/opt/venv",
        venv_home="/usr/bin",
        pythons=("/usr/bin/python3.11",),
        pythons_searched=FOLDERS,
    )
    found = result(facts)
    assert found.status is CheckStatus.FAILED
    assert found.message.startswith(
        "/opt/venv/bin/python → /opt/venv/bin/python3 → /opt/venv/bin/python is a symlink loop"
    )
    assert len(found.value) == 2


def test_too_long_a_chain() -> None:
    links = tuple(Link(f"/l/{i}", f"{i + 1}", f"/l/{i + 1}") for i in range(40))
    facts = InterpreterFacts("/l/0", "/l/0", links=links, end="too-long")
    assert "passes through 40 links" in result(facts).message


def test_missing_interpreter_with_python_elsewhere() -> None:
    facts = InterpreterFacts(
        interpreter="/opt/venv/bin/python",
        path="/opt/venv/bin/python",
        end="missing",
        pythons=("/usr/local/bin/python3", "/usr/local/bin/python3.12"),
        pythons_searched=FOLDERS,
    )
    cause, fix = result(facts).message.splitlines()
    assert cause == (
        "/opt/venv/bin/python does not exist in this image; "
        "Python in this image: /usr/local/bin/python3, /usr/local/bin/python3.12"
    )
    assert "set `interpreter:` in stablebuild.yml to /usr/local/bin/python3" in fix


def test_bare_name_on_no_path_folder() -> None:
    facts = InterpreterFacts(
        interpreter="python3",
        path=None,
        end="missing",
        searched=("/usr/local/bin", "/usr/bin", "/bin"),
        pythons_searched=FOLDERS,
    )
    cause = result(facts).message.splitlines()[0]
    assert cause.startswith("python3 is in no folder of the image's PATH (/usr/local/bin, ")
    assert "no python3 in /usr/bin or /usr/local/bin" in cause


@pytest.mark.parametrize(("mode", "text"), [(0o644, "mode 0644"), (0o600, "mode 0600")])
def test_present_but_not_executable(mode: int, text: str) -> None:
    facts = InterpreterFacts(
        interpreter="/opt/venv/bin/python",
        path="/opt/venv/bin/python",
        links=(Link("/opt/venv/bin/python", "/usr/bin/python3.11", "/usr/bin/python3.11"),),
        end="file",
        mode=mode,
    )
    found = result(facts)
    assert found.message.startswith(
        f"/opt/venv/bin/python → /usr/bin/python3.11 is not executable ({text})"
    )
    assert "chmod 0755" in found.message


def test_a_directory_is_not_an_interpreter() -> None:
    facts = InterpreterFacts("/opt/venv", "/opt/venv", end="directory", mode=0o755)
    assert result(facts).message.startswith("/opt/venv is a directory, not an interpreter")


@pytest.mark.parametrize(
    "facts",
    [
        InterpreterFacts("/usr/bin/python3", "/usr/bin/python3", end="file", mode=0o755),
        InterpreterFacts("/opt/venv/bin/python", None, end="unknown", error="engine said no"),
    ],
    ids=["executable-file", "unreadable"],
)
def test_nothing_wrong_or_nothing_known_gives_no_verdict(facts: InterpreterFacts) -> None:
    assert check_interpreter(facts) is None


def test_judge_fails_once_and_skips_what_the_probe_would_have_fed(
    full_spec: Any, meta: ImageMeta, pins: Any
) -> None:
    spec = full_spec._replace(packages=PackagesSpec(forbid=("gcc",)), run=RunSpec())
    results = judge(
        spec, None, meta, python="3.12", python_match="minor", pins=pins, engine=EngineFacts(),
        run=RunOutcome(True, True, 1.0, "healthy", None, None, None), interpreter=COPIED_VENV,
    )  # fmt: skip
    statuses = Counter(r.status for r in results)
    assert statuses[CheckStatus.FAILED] == 1
    assert statuses[CheckStatus.ERROR] == 0
    assert [r.id for r in results if r.status is CheckStatus.FAILED] == ["python.interpreter"]
    skipped = {r.id for r in results if r.status is CheckStatus.SKIPPED}
    assert skipped >= {"python.runs", "python.version", "imports", "ffmpeg", "nvenc", "files"}
    assert {"user", "packages"} <= skipped
    assert all("python.interpreter failed" in r.message for r in results if r.id in skipped)
    assert len({r.id for r in results}) == len(results), "ids are unique"


def test_judge_keeps_the_metadata_proof_of_root(full_spec: Any, meta: ImageMeta) -> None:
    root = meta._replace(user="")
    results = judge(
        full_spec, None, root, python=None, python_match="minor", pins={},
        engine=EngineFacts(), interpreter=COPIED_VENV,
    )  # fmt: skip
    assert {r.id: r.status for r in results}["user"] is CheckStatus.FAILED


def test_judge_without_a_verdict_still_errors(full_spec: Any, meta: ImageMeta) -> None:
    fine = InterpreterFacts("/opt/venv/bin/python", "/opt/venv/bin/python", end="file", mode=0o755)
    results = judge(
        full_spec, None, meta, python=None, python_match="minor", pins={},
        engine=EngineFacts(), interpreter=fine,
    )  # fmt: skip
    assert {r.id: r.status for r in results}["python"] is CheckStatus.ERROR


def test_probe_row_is_skipped_only_when_explained() -> None:
    message = "the probe could not run in the image: exec: no such file or directory"
    explained = probe_result(message, [result(COPIED_VENV)])
    assert (explained.status, explained.message) == (CheckStatus.SKIPPED, message)
    assert probe_result(message, []).status is CheckStatus.ERROR

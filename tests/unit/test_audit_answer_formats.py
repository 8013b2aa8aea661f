"""A remembered audit answer says what the full command says, byte for byte, in every format.

In-process: the result a real audit gives and one with every state a finding can be in are
rendered from the remembered data (`audit/codec.py`) and compared with the full command's
texts. As the program: the reference stack (a copy of examples/ffmpeg-api) audited twice, every
report on stdout and in `-o` files compared, the run's duration aside (each run has its own).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from stablebuild.audit import codec
from stablebuild.audit.baseline import Entry
from stablebuild.audit.ending import Rendered
from stablebuild.audit.finding import Finding, Severity, State
from stablebuild.audit.format import formatter
from stablebuild.audit.options import AuditFormat, AuditOptions
from stablebuild.audit.result import AuditResult
from stablebuild.audit.runner import run_audit

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "ffmpeg-api"
CORPUS = ROOT / "tests" / "fixtures" / "corpus"
FILES = {
    "json": "r.json",
    "markdown": "r.md",
    "sarif": "r.sarif",
    "codequality": "r.cq.json",
    "github": "r.txt",
    "table": "r.table.txt",
}
HIT = "remembered answer: nothing it depends on changed"
# What differs between two runs by nature: how long each took.
_SECONDS = re.compile(r'("seconds": )[0-9.e-]+|\b\d+\.\d\d s\b')


def _normal(text: str) -> str:
    return _SECONDS.sub(lambda m: (m.group(1) or "") + "S", text)


def every_state(root: Path) -> AuditResult:
    """A result holding a finding in every state, one about the run itself, a family's
    failure and a baseline with a fixed entry."""
    (root / "svc").mkdir(parents=True)
    (root / "svc" / "Dockerfile").write_text("FROM python:3.12-slim\nRUN pip install flask\n")
    (root / "requirements.txt").write_text("flask==3.1.0 # stablebuild: ignore[SB202] vendored\n")
    findings = (
        Finding("SB101", Severity.ERROR, "svc/Dockerfile", 1, "Python 3.12 here, 3.11 there"),
        Finding("SB202", Severity.WARNING, "requirements.txt", 1, "unpinned", "pin it",
                State.SUPPRESSED, "vendored"),
        Finding("SB700:DL3013", Severity.WARNING, "svc/Dockerfile", 2, "Pin versions in pip",
                "see https://github.com/hadolint/hadolint/wiki/DL3013", State.BASELINE,
                "known.json"),
        Finding("SB701", Severity.INFO, "", None, "hadolint is not installed"),
        Finding("SB000", Severity.ERROR, "", None, "internal error in pins: KeyError: 'x'"),
        Finding("SB504", Severity.WARNING, "svc/Dockerfile", 9, "a line past the end | of it"),
    )  # fmt: skip
    return AuditResult(
        root=root,
        findings=findings,
        files_scanned=3,
        seconds=0.1234,
        errors={"pins": "KeyError: 'x'"},
        baseline=root / "known.json",
        fixed=(Entry("abc123", "SB301", "requirements.txt", "no wheel"),),
    )


def _replayed(result: AuditResult, seconds: float) -> AuditResult:
    return codec.from_data(json.loads(json.dumps(codec.to_data(result))), seconds)


@pytest.mark.parametrize("fmt", list(AuditFormat))
def test_every_state_renders_the_same_from_the_remembered_data(
    fmt: AuditFormat, tmp_path: Path
) -> None:
    result = every_state(tmp_path / "repo")
    assert formatter(fmt).format(_replayed(result, result.seconds)) == formatter(fmt).format(result)


@pytest.mark.parametrize("shape", ["celery-app", "hashed-webapp", "broken-override-typo"])
def test_a_real_audit_renders_the_same_from_the_remembered_data(shape: str, tmp_path: Path) -> None:
    options = AuditOptions(offline=True, hadolint=False, cache_dir=tmp_path / "cache")
    result = run_audit(CORPUS / shape, options, None)
    assert result.findings
    again = _replayed(result, result.seconds)
    for fmt in AuditFormat:
        assert formatter(fmt).format(again) == formatter(fmt).format(result), fmt.value


def test_only_texts_the_duration_does_not_change_are_kept_as_they_are(tmp_path: Path) -> None:
    from stablebuild.audit.answer import _replayable

    rendered = Rendered(every_state(tmp_path / "repo"))
    for fmt in AuditFormat:
        rendered(fmt)
    found = _replayable(rendered, AuditFormat.JSON)
    assert not isinstance(found, str)
    _, texts = found
    assert set(texts) == {"sarif", "codequality", "github"}
    assert all(texts[k] == rendered.texts[k] for k in texts)


# --- the program ------------------------------------------------------------------------------


class Program:
    """`stablebuild -v audit ffmpeg-api --offline -f FMT -o FORMAT:PATH...`, its outputs kept."""

    def __init__(self, tmp_path: Path) -> None:
        self.repo = tmp_path / "ffmpeg-api"
        shutil.copytree(EXAMPLE, self.repo, ignore=shutil.ignore_patterns(".stablebuild"))
        self.out = tmp_path / "out"
        self.out.mkdir()
        skip = ("STABLEBUILD_", "PIP_", "HADOLINT_", "GITHUB_", "GITLAB_")
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(skip)}
        self.env |= {
            "XDG_CACHE_HOME": str(tmp_path / "cache"),
            "XDG_CONFIG_HOME": str(tmp_path / "config"),
            "COLUMNS": "120",
        }

    def __call__(self, stdout_format: str) -> dict[str, str]:
        argv = ["-v", "audit", str(self.repo), "--offline", "-f", stdout_format]
        for fmt, name in FILES.items():
            argv += ["-o", f"{fmt}:{self.out / name}"]
        done = subprocess.run(
            [sys.executable, "-m", "stablebuild", *argv],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert "Traceback" not in done.stderr, done.stderr
        got = {"code": str(done.returncode), "stdout": done.stdout, "stderr": done.stderr}
        return got | {fmt: (self.out / name).read_text() for fmt, name in FILES.items()}


@pytest.mark.parametrize("stdout_format", ["json", "table", "sarif", "markdown"])
def test_the_program_says_the_same_again_byte_for_byte(stdout_format: str, tmp_path: Path) -> None:
    program = Program(tmp_path)
    full = program(stdout_format)
    assert "answer remembered" in full["stderr"], full["stderr"]
    fast = program(stdout_format)
    assert HIT in fast["stderr"], fast["stderr"]
    assert fast["code"] == full["code"]
    for name in ("stdout", *FILES):
        assert _normal(fast[name]) == _normal(full[name]), name
    # texts the duration does not change are the full command's own bytes
    for name in ("sarif", "codequality", "github"):
        assert fast[name] == full[name], name
    assert json.loads(fast["json"])["findings"] == json.loads(full["json"])["findings"]

"""What a recorded run keeps, and the secrets it never keeps."""

from __future__ import annotations

from pathlib import Path

from tests.unit.history.factories import api_image, broken_image, report

from stablebuild.history.record import image_record, report_record
from stablebuild.history.session import run_redactor
from stablebuild.manifest.model import ImageSpec, Manifest, RunSpec
from stablebuild.report.model import CheckResult, CheckStatus


def _manifest(tmp_path: Path) -> Manifest:
    api = ImageSpec(
        "api",
        tmp_path / "Dockerfile",
        tmp_path,
        args={"PIP_INDEX_URL": "https://ci:idx-pass-77@pypi.example.com/simple", "MODE": "prod"},
        run=RunSpec(env={"DATABASE_PASSWORD": "db-pass-42", "LOG_LEVEL": "debug"}, port=8000),
        secret_args=("MODE",),
    )
    return Manifest(tmp_path / "stablebuild.yml", tmp_path, "s", None, "", images={"api": api})


def test_secret_values_never_reach_the_record(tmp_path: Path) -> None:
    redactor = run_redactor(_manifest(tmp_path), {"GITHUB_TOKEN": "ghp_abcdef123456"})
    image = api_image()
    image.checks.append(
        CheckResult(
            "runtime.health", "runtime", CheckStatus.FAILED,
            "GET /health answered 500: could not connect with db-pass-42 (mode prod) "
            "token ghp_abcdef123456",
        )
    )  # fmt: skip
    broken = broken_image(secret="idx-pass-77")
    broken.build.log.append("ERROR: https://user:other-secret@mirror.local/simple: 401")
    record = report_record(report(1, [image, broken]), redactor=redactor)
    stored = repr(record)
    for secret in ("db-pass-42", "ghp_abcdef123456", "idx-pass-77", "other-secret", "prod)"):
        assert secret not in stored, secret
    health = next(c for c in record.images[0].failed_checks if c.id == "runtime.health")
    assert (
        health.message
        == "GET /health answered 500: could not connect with *** (mode ***) token ***"
    )
    assert "https://user:***@mirror.local" in (record.images[1].log_tail or "")


def test_messages_keep_their_first_line_cut_short() -> None:
    image = api_image(failed=())
    image.checks.append(
        CheckResult("files./app", "files", CheckStatus.ERROR, "x" * 1000 + "\nsecond line")
    )
    (check,) = image_record(image).failed_checks
    assert check.status == "error" and len(check.message) == 300 and check.message.endswith("…")


def test_health_and_python_version_come_from_the_checks_and_facts() -> None:
    record = image_record(api_image(healthy_s=4.25))
    assert (record.health_passed, record.healthy_seconds) == (True, 4.25)
    assert record.python_version == "3.12.7"
    no_trial = api_image(healthy_s=None)
    no_trial.facts = None
    no_trial.checks = [c for c in no_trial.checks if c.id != "python.version"]
    record = image_record(no_trial)
    assert (record.health_passed, record.healthy_seconds) == (None, None)
    assert record.python_version == "3.12.7"  # from "runs: Python 3.12.7"


def test_a_cached_build_has_no_build_time_and_counts_as_cached() -> None:
    record = image_record(api_image(build_s=77.0, cached=True))
    assert record.build_seconds is None and record.from_cache and record.ok


def test_an_interrupted_run_is_recorded_incomplete() -> None:
    record = report_record(report(1, [api_image()], complete=False))
    assert record.status == "incomplete" and not record.complete

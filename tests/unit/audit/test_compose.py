"""SB5xx compose rules: parse errors, override services, build paths, env files, build discovery."""

from __future__ import annotations

from pathlib import Path

from stablebuild.audit import compose
from stablebuild.audit.finding import Finding, Severity
from stablebuild.audit.options import AuditOptions
from stablebuild.audit.project import Project

FIXTURES = Path(__file__).parents[2] / "fixtures" / "audit" / "compose"


def run(root: Path) -> list[Finding]:
    return compose.run(Project.discover(root), AuditOptions(offline=True))


def test_override_fixture() -> None:
    found = {(f.rule, f.file, f.line): f for f in run(FIXTURES / "override")}
    assert set(found) == {
        ("SB501", "compose.gpu.yml", 2),  # 'workr': a typo, no image or build
        ("SB503", "compose.yml", 10),  # Dockerfile.gpu is looked up in ./worker
        ("SB504", "compose.yml", 14),  # .env.missing (the optional one is fine)
        ("SB502", "compose.yml", 18),  # ./nowhere
    }
    typo = found[("SB501", "compose.gpu.yml", 2)]
    assert typo.severity is Severity.ERROR and "did you mean 'worker'" in typo.message


def test_yaml_error_has_a_line() -> None:
    [finding] = run(FIXTURES / "broken")
    assert (finding.rule, finding.file, finding.line) == ("SB500", "docker-compose.yml", 4)


def test_builds_inherit_the_base_context() -> None:
    builds = {
        (b.compose_file, b.service): b
        for b in compose.builds(Project.discover(FIXTURES / "override"))
    }
    gpu = builds[("compose.gpu.yml", "worker")]
    assert gpu.context == Path("worker") and gpu.dockerfile == Path("worker/Dockerfile")
    assert builds[("compose.yml", "api")].dockerfile == Path("api/Dockerfile")


def test_new_service_with_image_is_not_flagged_unless_it_looks_like_a_typo(tmp_path: Path) -> None:
    (tmp_path / "docker-compose.yml").write_text("services:\n  api:\n    image: x\n")
    (tmp_path / "docker-compose.override.yml").write_text(
        "services:\n  debug:\n    image: busybox\n  apii:\n    image: y\n"
    )
    found = run(tmp_path)
    assert [(f.rule, f.severity, f.line) for f in found] == [("SB501", Severity.WARNING, 4)]


def test_interpolation_and_args(tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "Dockerfile").write_text("FROM python:3.12\n")
    (tmp_path / ".env").write_text("CTX=app\n")
    (tmp_path / "compose.yaml").write_text(
        "services:\n  a:\n    build:\n      context: ${CTX}\n      dockerfile: ${DF:-Dockerfile}\n"
        "      target: run\n      args: [PY=3.12]\n  b:\n    build:\n      context: ${UNSET}\n"
    )
    assert run(tmp_path) == []
    [build, _] = compose.builds(Project.discover(tmp_path))
    assert build.dockerfile == Path("app/Dockerfile") and build.args == {"PY": "3.12"}
    assert build.target == "run"
    assert compose.interpolate("$${X}", {}) == "${X}"

"""SB5xx compose rules: parse errors, override services, build paths, env files, build discovery."""

from __future__ import annotations

from pathlib import Path

import pytest

from stablebuild.audit import compose, gitignore
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


# Which files are overrides ------------------------------------------------------------------
BASE = "services:\n  api:\n    build: ./api\n  worker:\n    build:\n      context: ./worker\n"
EXTRA = (
    "services:\n  wrker:\n    environment: [X=1]\n"
    "  api:\n    build:\n      dockerfile: Dockerfile.prod\n"
)


def _two_files(tmp_path: Path) -> None:
    for name in ("api", "worker"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "Dockerfile").write_text("FROM python:3.12\n")
    (tmp_path / "api" / "Dockerfile.prod").write_text("FROM python:3.12\n")
    (tmp_path / "compose.yml").write_text(BASE)
    (tmp_path / "compose.prod.yml").write_text(EXTRA)


def test_a_file_nobody_merges_is_checked_on_its_own(tmp_path: Path) -> None:
    _two_files(tmp_path)
    assert run(tmp_path) == []  # 'wrker' is a service of its own stack; Dockerfile.prod exists
    role = compose.roles(Project.discover(tmp_path))[Path("compose.prod.yml")]
    assert role.merged_over == () and role.maybe_over == Path("compose.yml")


@pytest.mark.parametrize(
    ("where", "text"),
    [
        ("Makefile", "prod:\n\tdocker compose -f compose.yml \\\n\t  -f compose.prod.yml up -d\n"),
        (".env", "COMPOSE_FILE=compose.yml:compose.prod.yml\n"),
        ("README.md", "```\ndocker-compose --file compose.yml --file=compose.prod.yml up\n```\n"),
        ("scripts/deploy.sh", "docker compose -f ../compose.yml -f ../compose.prod.yml up\n"),
        (
            ".github/workflows/deploy.yml",
            "jobs:\n  d:\n    steps:\n"
            "      - run: docker compose -f compose.yml -f compose.prod.yml up\n",
        ),
    ],
)
def test_a_file_merged_anywhere_is_an_override(tmp_path: Path, where: str, text: str) -> None:
    _two_files(tmp_path)
    (tmp_path / where).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / where).write_text(text)
    [finding] = run(tmp_path)
    assert (finding.rule, finding.severity, finding.file, finding.line) == (
        "SB501",
        Severity.ERROR,
        "compose.prod.yml",
        2,
    )
    assert "did you mean 'worker'?" in finding.message
    role = compose.roles(Project.discover(tmp_path))[Path("compose.prod.yml")]
    assert role.merged_over == (Path("compose.yml"),)


def test_docker_stack_deploy_merges_with_c(tmp_path: Path) -> None:
    (tmp_path / "docker-stack.yml").write_text("services:\n  api:\n    image: x\n")
    (tmp_path / "docker-stack.prod.yml").write_text("services:\n  apii:\n    replicas: 2\n")
    (tmp_path / "deploy.sh").write_text(
        "docker stack deploy -c docker-stack.yml -c docker-stack.prod.yml app\n"
    )
    [finding] = run(tmp_path)
    assert (finding.rule, finding.file) == ("SB501", "docker-stack.prod.yml")


def test_a_new_service_in_an_override_is_not_a_typo(tmp_path: Path) -> None:
    (tmp_path / "docker-compose.yml").write_text("services:\n  worker:\n    image: x\n")
    (tmp_path / "docker-compose.override.yml").write_text(
        "services:\n  worker-gpu:\n    image: x\n  flower:\n    image: mher/flower\n"
        "  worker2:\n    image: x\n"
    )
    assert run(tmp_path) == []


def test_typo_needs_real_similarity() -> None:
    names = ["api", "worker", "celery-beat", "api-v1", "db"]
    assert compose.typo_of("apii", names) == "api"
    assert compose.typo_of("workr", names) == "worker"
    assert compose.typo_of("celery-baet", names) == "celery-beat"  # two letters swapped
    assert compose.typo_of("worker-gpu", names) is None  # a sibling, not a typo
    assert compose.typo_of("worker2", names) is None
    assert compose.typo_of("api-v2", names) is None
    assert compose.typo_of("web", names) is None  # 'db' is two edits away from a 3-letter name
    assert compose.typo_of("redis", names) is None


def test_a_possible_override_resolves_its_paths_either_way(tmp_path: Path) -> None:
    _two_files(tmp_path)
    (tmp_path / "compose.prod.yml").write_text(
        "services:\n  api:\n    build:\n      dockerfile: Dockerfile.gone\n"
    )
    [finding] = run(tmp_path)  # missing alone and with compose.yml's context
    assert (finding.rule, finding.line) == ("SB503", 4)
    [build] = [b for b in compose.builds(Project.discover(tmp_path)) if "prod" in b.compose_file]
    (tmp_path / "api" / "Dockerfile.gone").write_text("FROM python:3.12\n")
    assert run(tmp_path) == []
    [build] = [b for b in compose.builds(Project.discover(tmp_path)) if "prod" in b.compose_file]
    assert build.context == Path("api") and build.dockerfile == Path("api/Dockerfile.gone")


# Deploy-time env files ----------------------------------------------------------------------
def test_deploy_time_env_files_are_warnings_with_the_reason() -> None:
    found = {(f.file, f.line): f for f in run(FIXTURES / "deploy")}
    assert {k: (f.rule, f.severity) for k, f in found.items()} == {
        ("compose.yml", 5): ("SB504", Severity.WARNING),
        ("compose.yml", 6): ("SB504", Severity.WARNING),
        ("compose.yml", 7): ("SB504", Severity.WARNING),
        ("compose.yml", 8): ("SB504", Severity.ERROR),  # .env.local: nothing says it is deployed
        ("docker-stack.yml", 4): ("SB504", Severity.WARNING),
    }
    assert "it is git-ignored" in found[("compose.yml", 5)].message
    assert "it is git-ignored" in found[("compose.yml", 6)].message  # envs/* ignores it
    assert ".env.staging-sample is its sample" in found[("compose.yml", 7)].message
    assert "stack file for deployment (stack)" in found[("docker-stack.yml", 4)].message


def test_gitignore_rules(tmp_path: Path) -> None:
    (tmp_path / ".gitignore").write_text("/secrets/\n*.env\n!keep.env\nlogs/**/*.log\n\\#x\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / ".gitignore").write_text("local.*\n")
    project = Project.discover(tmp_path)
    assert gitignore.ignored(project, Path("secrets/prod/.env.db"))  # inside an ignored folder
    assert not gitignore.ignored(project, Path("sub/secrets/x"))  # anchored to the root
    assert gitignore.ignored(project, Path("deep/er/prod.env"))
    assert not gitignore.ignored(project, Path("keep.env"))
    assert gitignore.ignored(project, Path("logs/a/b/x.log"))
    assert gitignore.ignored(project, Path("#x"))
    assert gitignore.ignored(project, Path("sub/local.yml"))
    assert not gitignore.ignored(project, Path("local.yml"))  # sub's rule stays in sub


def test_evidence_files_that_are_not_text_are_not_findings(tmp_path: Path) -> None:
    _two_files(tmp_path)
    (tmp_path / ".env.gpg").write_bytes(b"\x85\x02\x0c\x03\x00\x00binary")
    (tmp_path / "notes.md").write_bytes(b"docker compose \x00 -f compose.yml -f compose.prod.yml")
    project = Project.discover(tmp_path)
    assert compose.run(project, AuditOptions(offline=True)) == []
    assert project.read_problems == []

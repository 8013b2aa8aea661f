"""SB4xx: Dockerfile semantics, from fixture repos and small generated ones."""

from __future__ import annotations

from pathlib import Path

from stablebuild.audit import dockerfile
from stablebuild.audit.finding import Finding, Severity
from stablebuild.audit.options import AuditOptions
from stablebuild.audit.project import Project
from stablebuild.manifest.model import ImageSpec, Manifest
from stablebuild.stages import parse, substitute

FIXTURES = Path(__file__).parents[2] / "fixtures" / "audit" / "dockerfile"


def audit(root: Path, manifest: Manifest | None = None) -> list[Finding]:
    return dockerfile.run(Project.discover(root, manifest), AuditOptions(offline=True))


def rules(findings: list[Finding]) -> set[tuple[str, str, int | None]]:
    return {(f.rule, f.file, f.line) for f in findings}


def repo(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


def test_reference_stack_mistakes_are_all_flagged() -> None:
    found = rules(audit(FIXTURES / "reference"))
    assert ("SB401", "worker/Dockerfile", 18) in found  # FROM runtime-${WORKER_TYPE}
    assert ("SB403", "worker/Dockerfile", 10) in found  # COPY storage/, ignored
    assert ("SB408", "worker/Dockerfile", 14) in found  # GPU stage copies a python:3.12 venv
    assert ("SB404", "api/Dockerfile", 6) in found  # --from=builder: no such stage
    assert ("SB407", "api/Dockerfile", 2) in found  # gcc, libpq-dev in the final image
    assert ("SB405", "api/Dockerfile", 1) in found  # no USER
    sb401 = next(f for f in audit(FIXTURES / "reference") if f.rule == "SB401")
    assert "'runtime-'" in sb401.message and "line 2" in sb401.message
    assert sb401.severity is Severity.ERROR


def test_fixed_reference_stack_is_clean() -> None:
    assert audit(FIXTURES / "fixed") == []


def test_stage_scoped_arg_is_not_visible_to_later_from(tmp_path: Path) -> None:
    root = repo(
        tmp_path,
        {
            "Dockerfile": "ARG BASE=python:3.12\nFROM $BASE AS a\nARG TAG\nFROM alpine:${TAG}\n"
            "FROM --platform=$BUILDPLATFORM python:${V:-3.12}\nUSER 1\n"
        },
    )
    found = [f for f in audit(root) if f.rule == "SB401"]
    assert [(f.line, "TAG" in f.message) for f in found] == [(4, True)]


def test_copy_sources_missing_glob_and_arg(tmp_path: Path) -> None:
    root = repo(
        tmp_path,
        {
            "Dockerfile": "FROM python:3.12\nARG SRC=app\nARG NODEFAULT\nCOPY ${SRC}/ /a/\n"
            "COPY *.toml missing.txt /b/\nCOPY src/*.py /c/\nCOPY $NODEFAULT /d/\n"
            'COPY ["app", "/e/"]\nADD https://example.com/x.tgz /f/\nCOPY <<EOF /g\nhi\nEOF\n'
            "USER 1\n",
            "app/main.py": "",
            "pyproject.toml": "",
        },
    )
    found = [(f.rule, f.line) for f in audit(root)]
    assert found == [("SB402", 5), ("SB402", 6)]


def test_context_from_compose_decides_where_sources_are(tmp_path: Path) -> None:
    root = repo(
        tmp_path,
        {
            "svc/Dockerfile": "FROM python:3.12\nCOPY shared/ /s/\nCOPY local.txt /l/\nUSER 1\n",
            "svc/local.txt": "",
            "shared/x": "",
            "compose.yml": "services:\n  a:\n    build:\n      context: .\n"
            "      dockerfile: svc/Dockerfile\n",
        },
    )
    # context is the root: shared/ exists, svc/local.txt is not at the context's top
    assert [(f.rule, f.line) for f in audit(root)] == [("SB402", 3)]
    (root / "compose.yml").unlink()
    # no compose: either the folder or the root counts, so nothing is flagged
    assert audit(root) == []


def test_dockerfile_specific_ignore_file_and_exceptions(tmp_path: Path) -> None:
    root = repo(
        tmp_path,
        {
            "Dockerfile": "FROM python:3.12\nCOPY data/ /d/\nCOPY secret.txt /s/\nUSER 1\n",
            "Dockerfile.dockerignore": "data\n!data/keep\nsecret.txt\n",
            ".dockerignore": "",
            "data/keep": "",
            "data/drop": "",
            "secret.txt": "",
        },
    )
    assert [(f.rule, f.line) for f in audit(root)] == [("SB403", 3)]


def test_copy_from_stage_refs(tmp_path: Path) -> None:
    root = repo(
        tmp_path,
        {
            "Dockerfile": "FROM python:3.12 AS build\nCOPY --from=later /x /x\n"
            "FROM python:3.12 AS later\nCOPY --from=0 /a /a\nCOPY --from=5 /a /a\n"
            "COPY --from=python:3.12 /usr /usr\nCOPY --from=ghcr.io/x/y /z /z\n"
            "COPY --from=Build /b /b\nUSER 1\n"
        },
    )
    assert [(f.rule, f.line) for f in audit(root)] == [("SB404", 2), ("SB404", 5)]


def test_user_rules(tmp_path: Path) -> None:
    root = repo(
        tmp_path,
        {
            "a.Dockerfile": "FROM python:3.12\nUSER app\nUSER root:root\n",
            "b.Dockerfile": "FROM python:3.12 AS base\nUSER 1000\nFROM base\nCMD x\n",
            "c.Dockerfile": "FROM gcr.io/distroless/python3:nonroot\n",
        },
    )
    found = audit(root)
    assert [(f.rule, f.file, f.line) for f in found] == [("SB405", "a.Dockerfile", 3)]


def test_healthcheck_and_target_from_manifest(tmp_path: Path) -> None:
    root = repo(
        tmp_path,
        {"Dockerfile": "FROM python:3.12 AS app\nUSER 1\nHEALTHCHECK NONE\nFROM app AS debug\n"},
    )
    image = ImageSpec(
        "api", root / "Dockerfile", root, target="app", healthcheck=True, args={"X": "1"}
    )
    wrong = ImageSpec("bad", root / "Dockerfile", root, target="nope")
    manifest = Manifest(root / "stablebuild.yml", root, "t", None, "", images={"api": image})
    assert [(f.rule, f.line) for f in audit(root, manifest)] == [("SB406", 1)]
    manifest = Manifest(root / "stablebuild.yml", root, "t", None, "", images={"bad": wrong})
    assert [f.rule for f in audit(root, manifest)] == ["SB409"]


def test_build_tools_in_final_stage_and_purges(tmp_path: Path) -> None:
    root = repo(
        tmp_path,
        {
            "a.Dockerfile": "FROM python:3.12 AS b\nRUN apt-get install -y gcc\n"
            "FROM python:3.12-slim\nRUN apt-get update && apt-get install -y libpq5\nUSER 1\n",
            "b.Dockerfile": "FROM alpine:3.20\n"
            "RUN apk add --no-cache --virtual .deps gcc musl-dev && pip wheel x && apk del .deps\n"
            "RUN apt-get install -y build-essential && apt-get purge -y build-essential\nUSER 1\n",
            "c.Dockerfile": "FROM python:3.12 AS base\nRUN dnf install -y gcc-c++ python3-devel\n"
            "FROM base\nUSER 1\n",
        },
    )
    found = audit(root)
    assert [(f.rule, f.file, f.line) for f in found] == [("SB407", "c.Dockerfile", 2)]
    assert "python3-devel" in found[0].message


def test_venv_copy_same_python_minor_is_fine(tmp_path: Path) -> None:
    root = repo(
        tmp_path,
        {
            "Dockerfile": "ARG PY=3.12\nFROM python:${PY}-bookworm AS b\n"
            "FROM python:3.12-slim\nCOPY --from=b /opt/venv /opt/venv\n"
            "FROM python:3.12-alpine\nCOPY --from=b /app/.venv /app/.venv\nUSER 1\n"
        },
    )
    assert [(f.rule, f.line) for f in audit(root)] == [("SB408", 6)]  # glibc venv on musl


def test_syntax_problems_and_unreadable(tmp_path: Path) -> None:
    root = repo(tmp_path, {"Dockerfile": "RUN echo hi\nFROM python:3.12\nFRM x\nUSER 1\n"})
    (root / "Dockerfile.bin").write_bytes(b"\0\0binary")
    project = Project.discover(root)
    found = dockerfile.run(project, AuditOptions(offline=True))
    assert [(f.rule, f.line) for f in found] == [("SB400", 1), ("SB400", 3)]
    assert [f.rule for f in project.read_problems] == ["SB001"]


def test_heredoc_bodies_are_not_instructions() -> None:
    parsed = parse("FROM a\nRUN <<EOT\nset -e\necho hi\nEOT\nUSER 1\n")
    assert parsed.problems == ()
    assert [i.keyword for i in parsed.stages[0].instructions] == ["RUN", "USER"]


def test_substitute() -> None:
    assert substitute("${A}-${B:-x}-$C", {"A": "1", "C": "3"}) == "1-x-3"
    assert substitute("${A:+set}${D}", {"A": "1"}) is None

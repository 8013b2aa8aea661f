"""SB410: an ARG or ENV named like a secret stays in the final image (history or config).

The Dockerfiles are shaped like real ones: a private npm registry token, a pip index password, a
GitHub token for private Go modules, AWS keys baked for a CLI, and the official python image's
`ENV GPG_KEY` fingerprint, which must stay silent.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

from stablebuild.audit import dockerfile
from stablebuild.audit.finding import Finding, Severity
from stablebuild.audit.options import AuditOptions
from stablebuild.audit.project import Project
from stablebuild.manifest.model import ImageSpec, Manifest


def sb410(root: Path, text: str, manifest: Manifest | None = None) -> list[Finding]:
    (root / "Dockerfile").write_text(textwrap.dedent(text).lstrip())
    found = dockerfile.run(Project.discover(root, manifest), AuditOptions(offline=True))
    return sorted((f for f in found if f.rule == "SB410"), key=lambda f: f.line or 0)


def test_secret_args_and_env_in_the_final_image_are_flagged(tmp_path: Path) -> None:
    found = sb410(
        tmp_path,
        """
        FROM node:20-slim
        ARG NPM_TOKEN
        ARG NODE_ENV=production
        RUN echo "//registry.npmjs.org/:_authToken=${NPM_TOKEN}" > .npmrc && npm ci
        ARG PIP_INDEX_PASSWORD GITHUB_TOKEN
        RUN pip install --index-url https://ci:${PIP_INDEX_PASSWORD}@pypi.example.com/simple app
        ENV AWS_ACCESS_KEY_ID=AKIAEXAMPLE AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY}
        ENV PGPASSWORD postgres
        USER node
        """,
    )
    assert [(f.line, f.message.split(" looks")[0]) for f in found] == [
        (2, "ARG NPM_TOKEN"),
        (5, "ARG PIP_INDEX_PASSWORD"),
        (5, "ARG GITHUB_TOKEN"),
        (7, "ENV AWS_SECRET_ACCESS_KEY"),
        (8, "ENV PGPASSWORD"),
    ]
    assert all(f.severity is Severity.WARNING for f in found)
    arg, env = found[0], found[3]
    assert "docker history" in arg.message
    assert "RUN --mount=type=secret,id=npm_token" in arg.hint and "run time" in arg.hint
    assert "docker inspect" in env.message and "docker run -e AWS_SECRET_ACCESS_KEY" in env.hint


def test_names_that_only_look_alike_are_silent(tmp_path: Path) -> None:
    found = sb410(
        tmp_path,
        """
        FROM python:3.12-slim
        ENV GPG_KEY 7169605F62C751356D054A26A821E680E5FA6305
        ARG PYTHON_VERSION=3.12.7
        ENV TOKENIZERS_PARALLELISM=false \\
            POSTGRES_PASSWORD_FILE=/run/secrets/db_password \\
            PUBLIC_KEY_URL=https://example.com/key.pub \\
            APT_KEY_DONT_WARN_ON_DANGEROUS_USAGE=1
        ENV OPENAI_API_KEY=""
        RUN pip install "python==${PYTHON_VERSION}" || true
        USER 1000
        """,
    )
    assert found == []


def test_builder_stages_that_do_not_ship_are_silent(tmp_path: Path) -> None:
    found = sb410(
        tmp_path,
        """
        FROM golang:1.22 AS build
        ARG GITHUB_TOKEN
        ENV GOPRIVATE=github.com/acme/*
        RUN git config --global url."https://${GITHUB_TOKEN}@github.com/".insteadOf "https://github.com/"
        RUN go build -o /app ./cmd/app
        FROM gcr.io/distroless/static:nonroot
        ARG BUILD_TOKEN
        COPY --from=build /app /app
        """,
    )
    # The builder's token does not ship; the final stage's ARG has no RUN to record it.
    assert found == []


def test_a_target_decides_which_chain_ships(tmp_path: Path) -> None:
    text = """
        FROM python:3.12-slim AS base
        ARG PIP_INDEX_PASSWORD
        RUN pip install app
        FROM base AS dev
        USER 1000
        FROM python:3.12-slim AS prod
        USER 1000
        """
    spec = ImageSpec("api", tmp_path / "Dockerfile", tmp_path, target="dev")
    manifest = Manifest(tmp_path / "stablebuild.yml", tmp_path, "s", None, "", images={"api": spec})
    assert sb410(tmp_path, text) == []  # prod, the last stage, does not inherit base
    found = sb410(tmp_path, text, manifest)
    assert [(f.line, f.rule) for f in found] == [(2, "SB410")]  # dev inherits base's history

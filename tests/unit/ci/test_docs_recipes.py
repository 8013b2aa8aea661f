"""docs/ci.md's recipes use only what the tested action and GitLab template offer."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[3]
DOC = (ROOT / "docs" / "ci.md").read_text(encoding="utf-8")
ACTION = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
TEMPLATE = yaml.safe_load(
    (ROOT / "ci" / "gitlab" / "stablebuild.gitlab-ci.yml").read_text(encoding="utf-8")
)


def yaml_blocks() -> list[object]:
    return [yaml.safe_load(b) for b in re.findall(r"```yaml\n(.*?)```", DOC, flags=re.S)]


def test_github_recipe_uses_declared_inputs_and_outputs() -> None:
    workflow = next(b for b in yaml_blocks() if isinstance(b, dict) and "jobs" in b)
    steps = workflow["jobs"]["stablebuild"]["steps"]
    [action] = [s for s in steps if s.get("id") == "stablebuild"]
    assert set(action["with"]) <= set(ACTION["inputs"])
    for output in re.findall(r"steps\.stablebuild\.outputs\.([\w-]+)", DOC):
        assert output in ACTION["outputs"]
    for name in re.findall(
        r"`([a-z]+(?:-[a-z]+)+)`", DOC.split("Inputs:")[1].split("On GitHub")[0]
    ):
        defaults = {str(spec.get("default")) for spec in ACTION["inputs"].values()}
        assert name in ACTION["inputs"] or name in ACTION["outputs"] or name in defaults, name


def test_gitlab_recipe_extends_the_template() -> None:
    pipeline = next(b for b in yaml_blocks() if isinstance(b, dict) and "include" in b)
    for name, job in pipeline.items():
        if isinstance(job, dict) and "extends" in job:
            assert job["extends"] in TEMPLATE, name
            assert set(job.get("variables", {})) <= set(TEMPLATE["variables"])
    for variable in re.findall(r"`(STABLEBUILD_\w+)`", DOC):
        assert variable in TEMPLATE["variables"]


def test_the_matcher_path_in_the_docs_exists() -> None:
    for path in re.findall(r"(ci/github/[\w.-]+\.json)", DOC):
        assert (ROOT / path).is_file()

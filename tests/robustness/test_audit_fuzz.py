"""Generated hostile repositories for `stablebuild audit`: every audit finishes in time, exits 0 or
1 (2 for a broken manifest), prints valid JSON without SB000, names each file it would not read,
never reads or shows the canary outside the repository, and leaves FIFOs, device nodes and
symlinks as they were. Tune the count with `gen_repos.REPO_CASES`.
"""

from __future__ import annotations

import pytest
from tests.robustness.harness import Outcome, by_class, failure_report

pytestmark = pytest.mark.robustness

CLASSES = (
    "baseline",
    "fifo_named",
    "device_symlink",
    "device_node",
    "socket_named",
    "outside_symlink",
    "inside_symlink",
    "include_outside",
    "yaml_alias_cycle",
    "yaml_alias_bomb",
    "yaml_deep_nesting",
    "yaml_tag",
    "dockerfile_long_run",
    "dockerfile_many_stages",
    "requirements_large",
    "compose_large",
    "workflow_large",
    "big_file",
    "binary_file",
    "invalid_utf8",
    "bom",
    "crlf",
    "path_limits",
    "symlink_loop",
    "dir_named",
    "manifest_in_repo",
    "random_corruption",
)


def test_every_generated_class_is_judged(repo_outcomes: list[Outcome]) -> None:
    generated = set(by_class(repo_outcomes))
    # Device nodes need CAP_MKNOD; without it that class is simply not generated.
    assert generated <= set(CLASSES)
    assert set(CLASSES) - generated <= {"device_node"}


@pytest.mark.parametrize("cls", CLASSES)
def test_audit_class(repo_outcomes: list[Outcome], cls: str) -> None:
    outcomes = by_class(repo_outcomes).get(cls, [])
    if not outcomes and cls == "device_node":
        pytest.skip("device nodes cannot be created here (no CAP_MKNOD)")
    assert outcomes, f"no {cls} case was generated"
    if any(o.status != "ok" for o in outcomes):
        pytest.fail(failure_report(outcomes), pytrace=False)

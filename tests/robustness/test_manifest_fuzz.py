"""Generated broken manifests: each loads or is refused with exit 2, one line per problem, within
its time, without a traceback, a hang, a memory blow-up or a secret from outside the stack.

The figures (cases, tracebacks, hangs, wrong exit codes, largest input and its time) are in the
terminal summary; tune the count with `gen_manifests.MANIFEST_CASES`.
"""

from __future__ import annotations

import pytest
from tests.robustness.harness import Outcome, by_class, failure_report

pytestmark = pytest.mark.robustness

CLASSES = (
    "baseline",
    "alias_bomb",
    "alias_self",
    "yaml_tag",
    "deep_nesting",
    "nul_byte",
    "invalid_utf8",
    "control_char",
    "duplicate_key",
    "not_a_mapping",
    "unknown_profile",
    "huge_number",
    "inf_nan",
    "wrong_type",
    "long_path",
    "nul_in_path",
    "path_outside",
    "url_path",
    "manifest_node",
    "large",
    "random_delete",
    "random_type_swap",
    "random_duplicate_line",
    "random_text",
)


def test_every_generated_class_is_judged(manifest_outcomes: list[Outcome]) -> None:
    assert set(by_class(manifest_outcomes)) == set(CLASSES)


@pytest.mark.parametrize("cls", CLASSES)
def test_manifest_class(manifest_outcomes: list[Outcome], cls: str) -> None:
    outcomes = by_class(manifest_outcomes).get(cls, [])
    assert outcomes, f"no {cls} case was generated"
    if any(o.status != "ok" for o in outcomes):
        pytest.fail(failure_report(outcomes), pytrace=False)

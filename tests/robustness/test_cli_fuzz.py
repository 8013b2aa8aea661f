"""Random command lines: documented exit codes, no traceback, options never swallowed as values,
and output targets that are not regular files refused before any work and left untouched.

A case's class is its command and the first bad value in it (`validate [-o fifo]`), which is
what a failure is routed by; the tests group the classes by command. Tune the count with
`gen_cli.CLI_CASES`.
"""

from __future__ import annotations

import pytest
from tests.robustness.harness import Outcome, failure_report

pytestmark = pytest.mark.robustness

COMMANDS = ("help", "usage", "audit", "validate", "clean", "base_bootstrap")


def _command(outcome: Outcome) -> str:
    return outcome.case.cls.split(" [", 1)[0]


def test_every_generated_command_is_judged(cli_outcomes: list[Outcome]) -> None:
    assert {_command(o) for o in cli_outcomes} == set(COMMANDS)


@pytest.mark.parametrize("command", COMMANDS)
def test_cli_command(cli_outcomes: list[Outcome], command: str) -> None:
    outcomes = [o for o in cli_outcomes if _command(o) == command]
    assert outcomes, f"no {command} case was generated"
    if any(o.status != "ok" for o in outcomes):
        failed = sorted({o.case.cls for o in outcomes if o.status != "ok"})
        pytest.fail(f"failing: {'; '.join(failed)}\n{failure_report(outcomes)}", pytrace=False)

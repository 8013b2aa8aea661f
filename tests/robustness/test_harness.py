"""The fuzz harness itself: a hang is killed and reported, and the batch goes on; so are a crash
and a memory blow-up; a printed secret, a read canary and a replaced FIFO are each caught."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from tests.robustness.casecheck import preserved_problems
from tests.robustness.harness import Case, plant_canary, run_batch
from tests.robustness.hostile import plant_fifo, plant_symlink

pytestmark = pytest.mark.robustness


def _case(name: str, **extra: Any) -> Case:
    return Case(
        id=f"selftest/{name}",
        kind="selftest",
        cls=name,
        action=f"selftest:{name}",
        expect=(0,),
        timeout=2.0,
        **extra,
    )  # type: ignore[arg-type]


def test_misbehaviour_is_caught_and_the_batch_goes_on(tmp_path: Path, secret: str) -> None:
    (tmp_path / "outside").mkdir()
    watch = plant_canary(tmp_path / "outside", secret)
    fifo = plant_fifo(tmp_path / "report.json")
    cases = [
        _case("ok"),
        _case("sleep"),
        _case("die"),
        _case("memory"),
        _case("print-secret"),
        _case("read-canary"),
        _case("replace", preserve=(fifo,)),
        _case("traceback"),
        Case(id="selftest/last", kind="selftest", cls="last", action="selftest:ok", expect=(0,)),
    ]
    outcomes = {
        o.case.cls: o for o in run_batch("selftest", cases, watch, tmp_path, {}, record=False)
    }

    assert outcomes["ok"].status == "ok"
    assert outcomes["sleep"].status == "hang"
    assert outcomes["die"].status == "crash"
    assert outcomes["memory"].symptoms[0].startswith("traceback: MemoryError")
    assert "secret from outside the repo printed in stdout" in outcomes["print-secret"].symptoms
    assert any("was read" in s for s in outcomes["read-canary"].symptoms)
    assert "fifo report.json was replaced by a file" in outcomes["replace"].symptoms
    assert outcomes["traceback"].symptoms[0].startswith("traceback: ValueError")
    assert outcomes["last"].status == "ok"  # the worker was restarted after each stall


def test_planted_nodes_are_compared_exactly(tmp_path: Path) -> None:
    link = plant_symlink(tmp_path / "out.json", "/dev/null")
    os.unlink(tmp_path / "out.json")
    os.symlink("/dev/zero", tmp_path / "out.json")
    missing = tmp_path / "missing"
    missing.mkdir()
    assert preserved_problems([link], [str(missing)]) == [
        "symlink out.json was re-pointed to /dev/zero",
        f"{missing} was created (a missing folder must be an error, not made)",
    ]

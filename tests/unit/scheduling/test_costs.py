"""Expected cost from the history (median build seconds of the last passing runs), and the
placement it gives over several engines."""

from __future__ import annotations

from pathlib import Path

from tests.unit.history.factories import api_image, run_record, worker_image
from tests.unit.scheduling.test_placement import caps, names, specs

from stablebuild.history.costs import expected_seconds, median_build_seconds
from stablebuild.history.location import Location
from stablebuild.history.sqlite import SqliteStore
from stablebuild.schedule import build_chains, place


def recorded(path: Path) -> Location:
    """Seven runs of the reference stack: api ~40 s, worker ~60 s; a failing and a cached one."""
    with SqliteStore(path) as store:
        for n, api_s in enumerate([900.0, 41.0, 39.0, 45.0, 40.0, 38.0]):
            store.record(run_record(n, [api_image(build_s=api_s), worker_image(build_s=60.0 + n)]))
        # the newest: api failed a check (not a passing run), so its 5 s do not count
        store.record(run_record(6, [api_image(build_s=5.0, failed=("imports.fastapi",))]))
        store.record(run_record(7, [api_image(cached=True, build_s=0.1)]))  # a cache hit
        store.record(run_record(8, [api_image(build_s=300.0)], stack="other-stack"))
        store.record(run_record(9, [api_image(build_s=700.0)], profile="airgap"))
    return Location("sqlite", path=path)


def test_the_median_of_the_last_five_passing_runs(tmp_path: Path) -> None:
    where = recorded(tmp_path / "history.sqlite")
    # api: runs 1..5 (41, 39, 45, 40, 38) -> 40; run 0's cold 900 s is older than five, the
    # cache hit timed no build, the failing run and the other stack and profile do not count;
    # worker: runs 1..5 -> 61..65 -> 63.
    with SqliteStore(where.path, create=False) as store:  # type: ignore[arg-type]
        assert median_build_seconds(store, "ffmpeg-api") == {"api": 40.0, "worker": 63.0}
        assert median_build_seconds(store, "ffmpeg-api", profile="airgap") == {"api": 700.0}
        assert median_build_seconds(store, "no-such-stack") == {}


def test_a_store_that_cannot_be_read_gives_no_estimate(tmp_path: Path) -> None:
    missing = Location("sqlite", path=tmp_path / "none" / "history.sqlite")
    assert expected_seconds(missing, "ffmpeg-api") == {}
    assert not (tmp_path / "none").exists()  # read only: nothing is created
    (tmp_path / "dir.sqlite").mkdir()
    assert expected_seconds(Location("sqlite", path=tmp_path / "dir.sqlite"), "ffmpeg-api") == {}
    garbage = tmp_path / "garbage.sqlite"
    garbage.write_bytes(b"not a database" * 100)
    assert expected_seconds(Location("sqlite", path=garbage), "ffmpeg-api") == {}
    assert expected_seconds(Location("off"), "ffmpeg-api") == {}
    unreachable = Location("postgresql", url="postgresql://nobody@127.0.0.1:9/none")
    assert expected_seconds(unreachable, "ffmpeg-api") == {}


def test_placement_by_cost_from_the_history(tmp_path: Path) -> None:
    where = recorded(tmp_path / "history.sqlite")
    costs = expected_seconds(where, "ffmpeg-api")
    costs["worker-cpu"] = costs.pop("worker")  # the spec names of test_placement's stack
    costs["docs"] = 15.0
    placed = place(build_chains(specs(tmp_path)), [caps("a"), caps("b")], costs)
    # worker chain (63 s + the GPU worker's 900 s budget) first, then api (40 s), then docs:
    assert [chain[0].name for chain, _ in placed] == ["worker-cpu", "api", "docs"]
    where_placed = names(placed)
    assert where_placed["worker-cpu"] == where_placed["worker-gpu"] == "a"
    assert where_placed["api"] == where_placed["docs"] == "b"

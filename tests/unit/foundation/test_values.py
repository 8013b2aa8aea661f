"""stablebuild.values: a dataclass's ==, hash and repr for the classes that cannot be
NamedTuples; stablebuild.preload: imports that wait for the engine to be busy."""

from __future__ import annotations

import copy
import pickle
import sys
import threading
import time

import pytest

from stablebuild import preload
from stablebuild.schedule import Scheduler
from stablebuild.values import Fields, Frozen


class Point(Frozen):
    __slots__ = ("_seen", "x", "y")
    _uncompared = _unshown = ("_seen",)

    def __init__(self, x: int, y: int) -> None:
        super().__init__(x=x, y=y, _seen=[])


class Secret(Frozen):
    __slots__ = ("name", "value")
    _unshown = ("value",)

    def __init__(self, name: str, value: str) -> None:
        super().__init__(name=name, value=value)


class Box(Fields):
    __slots__ = ("items",)

    def __init__(self, items: list[int]) -> None:
        self.items = items


def test_equal_by_compared_fields_and_type() -> None:
    a, b = Point(1, 2), Point(1, 2)
    a._seen.append("cached")  # NOTE: a cache does not make two values differ
    assert a == b and hash(a) == hash(b)
    assert a != Point(2, 1)
    assert Box([1]) != Point(1, 2) and Box([1]) == Box([1])
    assert Secret("a", "x") != Secret("a", "y")  # hidden from repr, still compared


def test_repr_hides_what_it_must() -> None:
    assert repr(Point(1, 2)) == "Point(x=1, y=2)"
    assert "s3cr3t" not in repr(Secret("token", "s3cr3t"))
    assert repr(Secret("token", "s3cr3t")) == "Secret(name='token')"


def test_frozen_refuses_assignment_and_mutable_fields_unhashable() -> None:
    point = Point(1, 2)
    with pytest.raises(AttributeError, match="frozen"):
        point.x = 3  # type: ignore[misc]
    with pytest.raises(AttributeError, match="frozen"):
        del point.y
    box = Box([1])
    box.items = [2]
    assert box.items == [2]
    with pytest.raises(TypeError):
        hash(box)


def test_copies_and_pickles_are_equal_values() -> None:
    point = Point(1, 2)
    for copied in (copy.copy(point), copy.deepcopy(point), pickle.loads(pickle.dumps(point))):
        assert copied == point and copied is not point
        with pytest.raises(AttributeError, match="frozen"):
            copied.x = 3  # type: ignore[misc]
    box = copy.deepcopy(Box([1]))
    assert box == Box([1])


def test_one_item_runs_on_the_calling_thread_several_on_a_pool() -> None:
    seen: list[str] = []
    scheduler = Scheduler(2)
    scheduler.each([1], lambda _: seen.append(threading.current_thread().name))
    assert seen == [threading.current_thread().name] and scheduler.pool is None
    scheduler.each([1, 2, 3], lambda _: seen.append(threading.current_thread().name))
    scheduler.close(finished=True)
    assert scheduler.pool is not None
    assert all(name != threading.current_thread().name for name in seen[1:])


def test_the_first_failure_is_raised_either_way() -> None:
    def boom(item: int) -> None:
        raise ValueError(item)

    for items in ([1], [1, 2]):
        scheduler = Scheduler(2)
        with pytest.raises(ValueError):
            scheduler.each(items, boom)
        scheduler.close(finished=True)


def test_preloading_waits_for_the_engine_or_its_longest(monkeypatch: pytest.MonkeyPatch) -> None:
    name = "tests_unit_preload_probe_module"
    monkeypatch.setattr(preload, "_busy", threading.Event())
    loaded: list[float] = []

    class Finder:
        @staticmethod
        def find_spec(fullname: str, path: object, target: object = None) -> None:
            if fullname == name:
                loaded.append(time.monotonic())
            return None

    monkeypatch.setattr(sys, "meta_path", [Finder(), *sys.meta_path])
    started = time.monotonic()
    thread = preload.when_engine_busy([name], "test-preload", longest=30.0)
    thread.join(0.2)
    assert thread.is_alive() and loaded == []  # the engine is not busy yet
    preload.engine_busy()
    thread.join(5)
    assert not thread.is_alive() and len(loaded) == 1  # a missing module is no error here
    assert loaded[0] - started >= 0.2

    monkeypatch.setattr(preload, "_busy", threading.Event())
    thread = preload.when_engine_busy([name], "test-preload", longest=0.1)
    thread.join(5)
    assert not thread.is_alive() and len(loaded) == 2  # never busy: loaded after `longest`

"""Value classes without `dataclasses`: `==`, hash and repr by the fields in `__slots__`.

NOTE: `dataclasses` (inspect, ast, dis, tokenize) costs ~20 ms to import here and ~1.2 ms per
class it makes (it compiles each generated method); a validate's path held 57 of them, ~0.1 s
of a run whose checks take ~0.7 s. Its value types are NamedTuples (~0.3 ms a class); the few
that are filled in as a run goes, hold a cache, or hide a field from repr derive from these.
"""

from __future__ import annotations


class Fields:
    """`==` and repr by the fields named in `__slots__`, as a dataclass's (no hash: mutable)."""

    __slots__: tuple[str, ...] = ()
    _uncompared: tuple[str, ...] = ()  # fields neither compared nor hashed (a cache)
    _unshown: tuple[str, ...] = ()  # fields kept out of repr (a cache, a secret)

    def _compared(self) -> tuple[object, ...]:
        return tuple(getattr(self, n) for n in self.__slots__ if n not in self._uncompared)

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and self._compared() == other._compared()

    def __repr__(self) -> str:
        shown = (n for n in self.__slots__ if n not in self._unshown)
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in shown)
        return f"{type(self).__name__}({fields})"


class Frozen(Fields):
    """A `Fields` whose values never change once made: hashable, and assignment refused."""

    __slots__ = ()

    def __init__(self, **values: object) -> None:
        for name, value in values.items():
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"{type(self).__name__} is frozen: cannot assign {name}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is frozen: cannot delete {name}")

    def __hash__(self) -> int:
        return hash(self._compared())

    def __setstate__(self, state: tuple[None, dict[str, object]]) -> None:
        """A copy or an unpickled value gets its fields as `__init__` set them."""
        for name, value in state[1].items():
            object.__setattr__(self, name, value)

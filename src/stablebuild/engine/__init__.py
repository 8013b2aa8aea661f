"""The only code that talks to the Docker engine: connect, build, run, inspect, clean up."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from stablebuild.engine.client import LABEL_RUN, Engine, connect

__all__ = ["LABEL_RUN", "Engine", "connect"]


def __getattr__(name: str) -> Any:
    # NOTE: loaded when first named: `stablebuild.engine.unixapi` (a cache hit) must not pull
    # docker-py in through this package.
    if name in __all__:
        from stablebuild.engine import client

        return getattr(client, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

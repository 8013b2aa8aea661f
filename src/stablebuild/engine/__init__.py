"""The only code that talks to the Docker engine: connect, build, run, inspect, clean up."""

from stablebuild.engine.client import LABEL_RUN, Engine, connect

__all__ = ["LABEL_RUN", "Engine", "connect"]

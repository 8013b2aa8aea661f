"""The FastAPI application: `uvicorn app.api.main:app`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from .. import __version__
from ..config import get_settings
from ..db import get_engine, init_db
from . import jobs, system


@asynccontextmanager
async def lifespan(_: FastAPI) -> AsyncIterator[None]:
    get_settings().ensure_dirs()
    init_db(get_engine())
    yield
    get_engine().dispose()


def create_app() -> FastAPI:
    """The API with its routers under /api/v1; settings come from the environment."""
    app = FastAPI(title="ffmpeg-api", version=__version__, lifespan=lifespan)
    app.include_router(jobs.router, prefix="/api/v1")
    app.include_router(system.router, prefix="/api/v1")
    return app


app = create_app()

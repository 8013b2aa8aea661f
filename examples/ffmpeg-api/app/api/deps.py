"""FastAPI dependencies: a database session per request, the settings."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends
from sqlalchemy.orm import Session

from ..config import Settings, get_settings
from ..db import get_sessionmaker


def session() -> Iterator[Session]:
    db = get_sessionmaker()()
    try:
        yield db
    finally:
        db.close()


SessionDep = Annotated[Session, Depends(session)]
SettingsDep = Annotated[Settings, Depends(get_settings)]

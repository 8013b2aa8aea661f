"""Service routes: liveness, readiness (database and broker), and the workers' capabilities."""

from __future__ import annotations

from http import HTTPStatus

from fastapi import APIRouter, Response
from kombu.connection import Connection

from .. import capabilities
from ..config import Settings
from ..db import get_engine, ping
from .deps import SessionDep, SettingsDep
from .schemas import CapabilitiesOut, CheckOut, HealthOut, WorkerOut

router = APIRouter(tags=["system"])


def check_database() -> CheckOut:
    try:
        ping(get_engine())
    except Exception as exc:  # any driver error means "not healthy", with its message
        return CheckOut(ok=False, detail=f"{exc.__class__.__name__}: {exc}".splitlines()[0])
    return CheckOut(ok=True)


def check_broker(settings: Settings, timeout_s: float = 2.0) -> CheckOut:
    try:
        with Connection(settings.broker_url, connect_timeout=timeout_s) as conn:
            conn.ensure_connection(max_retries=1, timeout=timeout_s)
    except Exception as exc:  # kombu raises transport-specific errors
        return CheckOut(ok=False, detail=f"{exc.__class__.__name__}: {exc}".splitlines()[0])
    return CheckOut(ok=True)


@router.get("/health/live", response_model=HealthOut)
def live() -> HealthOut:
    """The process serves requests; needs neither the database nor the broker."""
    return HealthOut(status="ok", checks={})


@router.get(
    "/health",
    response_model=HealthOut,
    responses={503: {"model": HealthOut, "description": "a dependency is down"}},
)
def health(response: Response, settings: SettingsDep) -> HealthOut:
    """Ready to take jobs: the database answers and the broker accepts connections."""
    checks = {"database": check_database(), "broker": check_broker(settings)}
    healthy = all(check.ok for check in checks.values())
    if not healthy:
        response.status_code = HTTPStatus.SERVICE_UNAVAILABLE
    return HealthOut(status="ok" if healthy else "unavailable", checks=checks)


@router.get("/capabilities", response_model=CapabilitiesOut)
def get_capabilities(db: SessionDep) -> CapabilitiesOut:
    """What the running workers really encoded at start-up (FFmpeg runs there, not here)."""
    rows = capabilities.published(db)
    working = sorted({enc for row in rows for enc in row.working})
    compiled = sorted({enc for row in rows for enc in row.compiled_in})
    return CapabilitiesOut(
        working=working,
        compiled_only=[enc for enc in compiled if enc not in working],
        workers=[WorkerOut.model_validate(row, from_attributes=True) for row in rows],
    )

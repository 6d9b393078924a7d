"""Health probes: liveness (`/health`), readiness (`/health/ready`) and diagnostics.

`/health` answers without auth, rate limits or the database, so liveness probes stay cheap and
a database outage never gets a healthy process restarted. `/health/ready` runs every readiness
check (database at head, checkpointer, Redis when configured, templates), each with a deadline,
and answers 503 when one fails so load balancers stop routing to this instance. It stays
unauthenticated because orchestrators probe without credentials; it shows check names and short
reasons only. `/health/detailed` adds versions and backend URLs (passwords masked): admin only.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from app.api.deps import Principal, require_scope
from app.api.problems import problem_responses

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: Literal["ok"] = "ok"


class Check(BaseModel):
    name: str
    ok: bool
    latency_ms: float
    detail: str | None = None


class Readiness(BaseModel):
    ready: bool
    checks: list[Check]


@router.get("/health", response_model=Health, summary="Liveness probe")
async def health() -> Health:
    return Health()


@router.get(
    "/health/ready",
    response_model=Readiness,
    summary="Readiness probe (503 when a dependency fails)",
    responses={503: {"model": Readiness, "description": "A dependency check failed."}},
)
async def ready(request: Request) -> JSONResponse:
    from app.observability.health import readiness_async

    result = await readiness_async(settings=request.app.state.settings)
    return JSONResponse(result, status_code=200 if result["ready"] else 503)


@router.get(
    "/health/detailed",
    summary="Readiness plus versions and backends (admin)",
    responses=problem_responses(401, 403),
)
async def detailed(
    request: Request, principal: Annotated[Principal, Depends(require_scope("admin"))]
) -> JSONResponse:
    """Always 200 for an admin (the body says whether the instance is ready): it is a report."""
    from app.observability.health import detailed_async

    result: dict[str, Any] = await detailed_async(settings=request.app.state.settings)
    return JSONResponse(result)

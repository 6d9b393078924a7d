"""Liveness: answers without auth, rate limits or the database, so probes stay cheap."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: Literal["ok"] = "ok"


@router.get("/health", response_model=Health, summary="Liveness probe")
async def health() -> Health:
    return Health()

"""`GET /me`: who the access token says the caller is."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel
from slowapi import Limiter

from app.api.deps import CurrentPrincipal
from app.api.problems import problem_responses
from app.api.settings import ApiSettings


class Me(BaseModel):
    id: str
    name: str
    scopes: list[str]
    is_admin: bool
    token_expires_at: int


def build_me_router(limiter: Limiter, settings: ApiSettings) -> APIRouter:
    router = APIRouter(tags=["auth"])

    @router.get("/me", response_model=Me, responses=problem_responses(401, 429))
    @limiter.limit(settings.rate_limit_authenticated)
    def me(request: Request, response: Response, principal: CurrentPrincipal) -> Me:
        # Sync so slowapi's storage round trips run in the threadpool, not on the event loop.
        return Me(
            id=principal.user_id,
            name=principal.name,
            scopes=sorted(principal.scopes),
            is_admin=principal.is_admin,
            token_expires_at=principal.expires_at,
        )

    return router

"""Request dependencies: the authenticated principal, scope checks and resource ownership.

Every later resource (workflows, runs, jobs) is owned: fetch it, then pass it through
`owned_or_404`, so another user's resource is indistinguishable from a missing one (no id
probing) while admins see everything.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from app.api.problems import ApiProblem
from app.api.ratelimit import PRINCIPAL_KEY
from app.api.security import InvalidTokenError, TokenCodec
from app.api.settings import ApiSettings
from app.observability.logging import bind_context
from app.services import auth as auth_service

bearer = HTTPBearer(auto_error=False, description="Access token from POST /api/v1/auth/token.")
UNAUTHENTICATED_HEADERS = {"WWW-Authenticate": 'Bearer realm="flowwright"'}
T = TypeVar("T")


@dataclass(frozen=True)
class Principal:
    """Who is calling, as established by a verified, unrevoked access token."""

    user_id: str
    name: str
    scopes: frozenset[str]
    is_admin: bool
    token_id: str
    family_id: str
    expires_at: int

    def has_scope(self, scope: str) -> bool:
        return self.is_admin or "admin" in self.scopes or scope in self.scopes

    def owns(self, owner_id: str | None) -> bool:
        return self.is_admin or (owner_id is not None and owner_id == self.user_id)


def unauthenticated(detail: str = "missing, invalid or expired access token") -> ApiProblem:
    return ApiProblem(
        401,
        detail,
        code="UNAUTHENTICATED",
        hint="Send `Authorization: Bearer <access token>` from POST /api/v1/auth/token.",
        headers=UNAUTHENTICATED_HEADERS,
    )


def api_settings(request: Request) -> ApiSettings:
    return request.app.state.settings


def token_codec(request: Request) -> TokenCodec:
    return request.app.state.codec


async def current_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> AsyncIterator[Principal]:
    """The caller behind a valid access token; 401 problem otherwise.

    A yield dependency so the user id is bound into the log context for the rest of the
    request (endpoint included; sync endpoints get a copy of the context in the threadpool)
    and unbound afterwards in the same task that bound it.
    """
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise unauthenticated()
    codec: TokenCodec = request.app.state.codec
    try:
        claims = codec.decode(credentials.credentials, "access")
    except InvalidTokenError:
        raise unauthenticated() from None
    settings: ApiSettings = request.app.state.settings
    user = await run_in_threadpool(
        auth_service.access_user,
        settings.resolved_database_url,
        claims["sub"],
        claims["jti"],
        claims["fam"],
    )
    if user is None:
        raise unauthenticated("access token revoked or its user disabled")
    scopes = frozenset(claims["scope"].split()) & frozenset(user.scopes)
    principal = Principal(
        user.id, user.name, scopes, user.is_admin, claims["jti"], claims["fam"], claims["exp"]
    )
    request.state.principal = principal
    setattr(request.state, PRINCIPAL_KEY, f"sub:{user.id}")
    with bind_context(user=user.id):
        yield principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def require_scope(scope: str) -> Callable[..., Any]:
    """A dependency returning the principal when its token carries `scope` (or admin)."""

    async def check(principal: CurrentPrincipal) -> Principal:
        if not principal.has_scope(scope):
            raise ApiProblem(
                403,
                f"this operation needs the {scope!r} scope",
                code="SCOPE_MISSING",
                hint=f"Request a token with scope {scope!r} (your user or key must have it).",
            )
        return principal

    check.__name__ = f"require_{scope}"
    return check


def owned_or_404(resource: T | None, owner_id: str | None, principal: Principal, what: str) -> T:
    """The resource if the principal owns it (or is admin); the same 404 as missing otherwise."""
    if resource is None or not principal.owns(owner_id):
        raise ApiProblem(404, f"{what} not found", code="NOT_FOUND")
    return resource

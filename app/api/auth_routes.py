"""`/auth/token`, `/auth/refresh` and `/auth/revoke`: logins, rotation and revocation.

Tokens come in pairs: a short-lived access JWT (`typ: access`) and a refresh JWT
(`typ: refresh`) bound to a login family. Refreshing rotates the family's single live refresh
jti; presenting an older one is treated as theft and revokes the family (and with it every access
token of that login). All three routes are in the anonymous tier, keyed by client address, and
the limit is checked before any argon2 work.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field
from slowapi import Limiter

from app.api.deps import unauthenticated
from app.api.problems import ApiProblem, problem_responses
from app.api.security import InvalidTokenError, TokenCodec
from app.api.settings import ApiSettings
from app.services import auth as svc


class PasswordGrant(BaseModel):
    grant_type: Literal["password"]
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)
    scope: str | None = Field(None, max_length=200, description="Space-separated scopes.")


class ApiKeyGrant(BaseModel):
    grant_type: Literal["api_key"]
    api_key: str = Field(min_length=1, max_length=256)
    scope: str | None = Field(None, max_length=200, description="Space-separated scopes.")


TokenRequest = Annotated[PasswordGrant | ApiKeyGrant, Field(discriminator="grant_type")]


class TokenResponse(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="Seconds until the access token expires.")
    refresh_token: str
    refresh_expires_in: int = Field(description="Seconds until the login must be renewed.")
    scope: str


class RefreshRequest(BaseModel):
    refresh_token: str = Field(min_length=1, max_length=4096)


class RevokeRequest(BaseModel):
    token: str = Field(min_length=1, max_length=4096, description="Access or refresh token.")


class RevokeResponse(BaseModel):
    revoked: bool = Field(description="False when the token was unknown, invalid or expired.")


def _scopes(requested: str | None, allowed: tuple[str, ...]) -> tuple[str, ...]:
    if requested is None or not requested.strip():
        return allowed
    try:
        wanted = svc.normalize_scopes(requested.split())
    except svc.AuthServiceError as exc:
        raise ApiProblem(422, exc.message, code=exc.code, hint=exc.hint) from None
    if not set(wanted) <= set(allowed):
        missing = ", ".join(sorted(set(wanted) - set(allowed)))
        raise ApiProblem(
            403,
            f"scope(s) not granted to this user or key: {missing}",
            code="SCOPE_NOT_ALLOWED",
            hint=f"Request a subset of: {' '.join(allowed) or '(none)'}.",
        )
    return wanted


def _pair(codec: TokenCodec, grant: svc.Grant) -> TokenResponse:
    access = codec.encode(
        sub=grant.user.id, typ="access", jti=svc.new_id(), fam=grant.family_id, scopes=grant.scopes
    )
    refresh = codec.encode(
        sub=grant.user.id,
        typ="refresh",
        jti=grant.refresh_jti,
        fam=grant.family_id,
        scopes=grant.scopes,
        expires_at=grant.expires_at.replace(microsecond=0),
    )
    now = access.expires_at - codec.access_ttl
    return TokenResponse(
        access_token=access.token,
        expires_in=int(codec.access_ttl.total_seconds()),
        refresh_token=refresh.token,
        refresh_expires_in=max(0, int((refresh.expires_at - now).total_seconds())),
        scope=" ".join(grant.scopes),
    )


def build_auth_router(limiter: Limiter, settings: ApiSettings) -> APIRouter:
    router = APIRouter(prefix="/auth", tags=["auth"])
    url = settings.resolved_database_url
    tier = settings.rate_limit_anonymous

    @router.post(
        "/token",
        response_model=TokenResponse,
        responses=problem_responses(400, 401, 403, 413, 422, 429),
        summary="Exchange a password or an API key for an access + refresh token pair",
    )
    @limiter.limit(tier)
    def issue_token(request: Request, response: Response, body: TokenRequest) -> TokenResponse:
        if isinstance(body, PasswordGrant):
            user = svc.authenticate_password(url, body.username, body.password)
            key_id, allowed, method = None, user.scopes if user else (), "password"
        else:
            found = svc.authenticate_api_key(url, body.api_key)
            user, key = found if found else (None, None)
            key_id, method = (key.id if key else None), "api_key"
            allowed = tuple(s for s in key.scopes if user and s in user.scopes) if key else ()
        if user is None:
            raise unauthenticated("invalid credentials")
        scopes = _scopes(body.scope, allowed)
        grant = svc.start_family(
            url,
            user,
            scopes,
            ttl_s=settings.refresh_token_ttl_s,
            method=method,
            api_key_id=key_id,
        )
        return _pair(request.app.state.codec, grant)

    @router.post(
        "/refresh",
        response_model=TokenResponse,
        responses=problem_responses(400, 401, 413, 422, 429),
        summary="Rotate a refresh token (reuse of an old one revokes the whole login)",
    )
    @limiter.limit(tier)
    def refresh_token(request: Request, response: Response, body: RefreshRequest) -> TokenResponse:
        codec: TokenCodec = request.app.state.codec
        try:
            claims = codec.decode(body.refresh_token, "refresh")
        except InvalidTokenError:
            raise unauthenticated("invalid or expired refresh token") from None
        try:
            grant = svc.rotate_family(url, claims["fam"], claims["jti"], claims["sub"])
        except svc.TokenReuseError as exc:
            raise ApiProblem(401, exc.message, code=exc.code, hint=exc.hint) from None
        if grant is None:
            raise unauthenticated("refresh token revoked or expired")
        return _pair(codec, grant)

    @router.post(
        "/revoke",
        response_model=RevokeResponse,
        responses=problem_responses(400, 413, 422, 429),
        summary="Revoke an access token, or a refresh token and its whole login (RFC 7009)",
    )
    @limiter.limit(tier)
    def revoke_token(request: Request, response: Response, body: RevokeRequest) -> RevokeResponse:
        codec: TokenCodec = request.app.state.codec
        for typ in ("access", "refresh"):
            try:
                claims = codec.decode(body.token, typ)  # type: ignore[arg-type]
            except InvalidTokenError:
                continue
            if typ == "refresh":
                svc.revoke_family(url, claims["fam"], "revoked")
            else:
                expires = datetime.fromtimestamp(claims["exp"], UTC)
                svc.revoke_access_token(url, claims["jti"], expires)
            return RevokeResponse(revoked=True)
        # RFC 7009 §2.2: an invalid token is not an error the client could act on.
        return RevokeResponse(revoked=False)

    return router

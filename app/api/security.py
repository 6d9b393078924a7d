"""JWT access and refresh tokens: HS256 only, every registered claim required.

Why so strict: the algorithm list is pinned (no `none`, no RS/HS confusion), `typ` separates
access from refresh tokens so neither can stand in for the other, and `aud`/`iss` stop tokens
minted for another service with a shared secret. Decoding failures are reported with one generic
message: the client learns that the token is unusable, not which check failed.
"""

from __future__ import annotations

import secrets
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import jwt

from app.api.settings import MIN_SECRET_BYTES, ApiSettings
from app.errors import FlowwrightError

ALGORITHM = "HS256"
REQUIRED_CLAIMS = ("exp", "iat", "nbf", "sub", "aud", "iss", "jti", "typ")
TokenType = Literal["access", "refresh"]


class SecretConfigError(FlowwrightError):
    """The API cannot start: no JWT secret, or one too short to resist brute force."""

    code = "JWT_SECRET_INVALID"


class InvalidTokenError(Exception):
    """A token failed verification; the message is for logs, never for clients."""


def resolve_secret(settings: ApiSettings) -> bytes:
    """The signing secret, or a random per-process one in explicit dev mode (announced)."""
    if settings.jwt_secret is not None:
        secret = settings.jwt_secret.get_secret_value().encode()
        if len(secret) >= MIN_SECRET_BYTES:
            return secret
        raise SecretConfigError(
            f"FLOWWRIGHT_JWT_SECRET is {len(secret)} bytes; at least {MIN_SECRET_BYTES} needed",
            hint='Generate one: python -c "import secrets; print(secrets.token_urlsafe(48))"',
        )
    if settings.api_dev_mode:
        sys.stderr.write(
            "warning: FLOWWRIGHT_API_DEV_MODE: signing tokens with a random secret generated "
            "for this process; every token dies with it. Never use this in production.\n"
        )
        return secrets.token_bytes(48)
    raise SecretConfigError(
        "FLOWWRIGHT_JWT_SECRET is not set: the API refuses to start without a signing secret",
        hint="Set FLOWWRIGHT_JWT_SECRET (>= 32 bytes), or FLOWWRIGHT_API_DEV_MODE=1 to try it out.",
    )


@dataclass(frozen=True)
class IssuedToken:
    token: str
    jti: str
    expires_at: datetime


class TokenCodec:
    """Signs and verifies Flowwright tokens with one secret, issuer and audience."""

    def __init__(self, secret: bytes, settings: ApiSettings):
        self._secret = secret
        self.issuer = settings.jwt_issuer
        self.audience = settings.jwt_audience
        self.leeway = settings.jwt_leeway_s
        self.access_ttl = timedelta(seconds=settings.access_token_ttl_s)
        self._jwt = jwt.PyJWT(options={"enforce_minimum_key_length": True})

    def encode(
        self,
        *,
        sub: str,
        typ: TokenType,
        jti: str,
        fam: str,
        scopes: tuple[str, ...],
        expires_at: datetime | None = None,
    ) -> IssuedToken:
        now = datetime.now(UTC).replace(microsecond=0)
        exp = expires_at or now + self.access_ttl
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": sub,
            "iat": now,
            "nbf": now,
            "exp": exp,
            "jti": jti,
            "typ": typ,
            "fam": fam,
            "scope": " ".join(scopes),
        }
        token = self._jwt.encode(claims, self._secret, algorithm=ALGORITHM)
        return IssuedToken(token, jti, exp)

    def decode(self, token: str, typ: TokenType) -> dict[str, Any]:
        """The verified claims of a token of type `typ`; InvalidTokenError otherwise."""
        try:
            header = jwt.get_unverified_header(token)
            if header.get("alg") != ALGORITHM:
                raise InvalidTokenError(f"algorithm {header.get('alg')!r} refused")
            claims = self._jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway,
                options={"require": list(REQUIRED_CLAIMS), "strict_aud": True},
            )
        except jwt.PyJWTError as exc:
            raise InvalidTokenError(f"{type(exc).__name__}: {exc}") from None
        if claims.get("typ") != typ:
            raise InvalidTokenError(f"token type {claims.get('typ')!r}, expected {typ!r}")
        for name in ("sub", "jti", "fam", "scope"):
            if not isinstance(claims.get(name), str):
                raise InvalidTokenError(f"claim {name!r} missing or not a string")
        return claims

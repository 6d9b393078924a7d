"""Rate limits (slowapi over `limits`): tiers, keys and the 429 problem.

Keys: the verified principal (`sub:<user id>`, set by `deps.current_principal` only after the
token's signature, claims and revocation state were checked, so a forged token cannot spend
someone else's budget) and otherwise the client address. `X-Forwarded-For` is believed only when
the direct peer is a configured trusted proxy, and then the right-most untrusted hop is used,
since everything left of it is client-controlled.

Storage: in memory per process by default; with `FLOWWRIGHT_REDIS_URL` the `limits` Redis
storage, whose moving-window check-and-add is one Lua script, so all workers share exact counts.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse
from slowapi import Limiter
from slowapi.errors import RateLimitExceeded
from starlette.responses import Response

from app.api.problems import problem_response
from app.api.settings import ApiSettings, IPNetwork

PRINCIPAL_KEY = "rate_limit_key"
TIERS = ("anonymous", "authenticated", "validation", "generation")


def _parse_ip(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(value.strip())
    except ValueError:
        return None


def client_address(
    peer: str | None, forwarded_for: str | None, trusted: Sequence[IPNetwork]
) -> str:
    """The client's address: the peer, or the right-most untrusted X-Forwarded-For hop when
    the peer (and each hop to its right) is a trusted proxy."""
    peer = peer or "unknown"
    peer_ip = _parse_ip(peer)
    if not trusted or peer_ip is None or not any(peer_ip in net for net in trusted):
        return peer
    hops = [h.strip() for h in (forwarded_for or "").split(",") if h.strip()]
    for hop in reversed(hops):
        ip = _parse_ip(hop)
        if ip is None:
            return peer  # a malformed chain is not evidence of anything
        if not any(ip in net for net in trusted):
            return str(ip)
    return str(_parse_ip(hops[0])) if hops else peer


def key_for(trusted: Sequence[IPNetwork]):
    """slowapi key function: verified principal first, client address otherwise."""

    def key(request: Request) -> str:
        principal_key = getattr(request.state, PRINCIPAL_KEY, None)
        if principal_key:
            return principal_key
        peer = request.client.host if request.client else None
        return "ip:" + client_address(peer, request.headers.get("x-forwarded-for"), trusted)

    return key


class FlowLimiter(Limiter):
    """slowapi's limiter with `X-RateLimit-Reset` as whole epoch seconds (slowapi writes a
    float), the form clients compare with `time.time()`."""

    def _inject_headers(self, response: Response, current_limit: Any) -> Response:
        response = super()._inject_headers(response, current_limit)
        reset = response.headers.get("X-RateLimit-Reset")
        if reset is not None:
            response.headers["X-RateLimit-Reset"] = str(int(float(reset)))
        return response


def build_limiter(settings: ApiSettings) -> Limiter:
    storage_uri = settings.redis_url or "memory://"
    return FlowLimiter(
        key_func=key_for(settings.trusted_networks()),
        headers_enabled=True,
        strategy=settings.rate_limit_strategy,
        storage_uri=storage_uri,
        key_prefix=settings.rate_limit_key_prefix,
        enabled=settings.rate_limit_enabled,
        key_style="endpoint",  # one bucket per route, not per concrete URL (/tools/{name})
    )


def tier_of(exc: RateLimitExceeded, settings: ApiSettings) -> str:
    """The settings tier (`anonymous`, `authenticated`, ...) whose limit `exc` hit.

    slowapi only knows the limit itself, so it is matched against each tier's setting; a metric
    label must stay bounded, so anything unmatched is ``other`` (never the raw limit string).
    When two tiers share one limit the first listed wins: the count is still right, its split
    between the equal tiers is a guess.
    """
    from limits import parse_many

    hit = getattr(getattr(exc, "limit", None), "limit", None)
    for tier in TIERS:
        try:
            items = parse_many(getattr(settings, f"rate_limit_{tier}"))
        except ValueError:
            continue
        if hit in items:
            return tier
    return "other"


async def rate_limit_exceeded(request: Request, exc: Exception) -> JSONResponse:
    """429 problem with X-RateLimit-* and Retry-After headers; counted per tier in metrics."""
    from app.observability.metrics import observe_rate_limited

    assert isinstance(exc, RateLimitExceeded)
    observe_rate_limited(tier_of(exc, request.app.state.settings))
    response = problem_response(
        request,
        429,
        detail=f"rate limit exceeded: {exc.detail}",
        hint="Wait for the number of seconds in Retry-After, then retry.",
    )
    limiter: Limiter = request.app.state.limiter
    current = getattr(request.state, "view_rate_limit", None)
    return limiter._inject_headers(response, current)

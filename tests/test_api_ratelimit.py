"""Rate limits: exact under a burst across workers (Redis), keyed by verified principal or IP."""

from __future__ import annotations

import asyncio
import ipaddress
import uuid
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from app.api.app import create_app
from app.api.ratelimit import client_address
from app.services import auth as svc
from tests.api_server import (
    PASSWORD,
    api_settings,
    assert_problem,
    bearer,
    login,
    needs_redis,
    running_server,
)

NETS = [ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("::1/128")]


@pytest.mark.slow
@needs_redis
def test_burst_across_two_workers_is_exact_with_redis(tmp_path: Path) -> None:
    """12 simultaneous requests against a 10/minute route on 2 workers: exactly 10 pass."""
    prefix = f"fwtest-{uuid.uuid4().hex}"
    with running_server(
        tmp_path,
        workers=2,
        FLOWWRIGHT_REDIS_URL="redis://127.0.0.1:6379/15",
        FLOWWRIGHT_RATE_LIMIT_KEY_PREFIX=prefix,
        FLOWWRIGHT_RATE_LIMIT_VALIDATION="10/minute",
    ) as server:
        svc.create_user(server.database_url, "ada", PASSWORD, scopes=["read"])
        with httpx.Client(base_url=server.url, timeout=30) as client:
            auth = bearer(login(client, "ada")["access_token"])

        async def burst() -> list[httpx.Response]:
            limits = httpx.Limits(max_connections=12, max_keepalive_connections=0)
            async with httpx.AsyncClient(base_url=server.url, timeout=30, limits=limits) as ac:
                body = {"spec": "flowwright: '1'\nname: x\nsteps: []\n"}
                return await asyncio.gather(
                    *(ac.post("/api/v1/validate", json=body, headers=auth) for _ in range(12))
                )

        responses = asyncio.run(burst())
        codes = sorted(r.status_code for r in responses)
        assert codes == [200] * 10 + [429] * 2, codes
        for limited in (r for r in responses if r.status_code == 429):
            assert_problem(limited, 429, "RATE_LIMITED")
            assert int(limited.headers["retry-after"]) > 0
            assert limited.headers["x-ratelimit-limit"] == "10"
        remaining = sorted(int(r.headers["x-ratelimit-remaining"]) for r in responses)
        assert remaining[:2] == [0, 0]
        # Both workers really served the burst through the shared store: keys live in Redis.
        import redis

        store = redis.Redis.from_url("redis://127.0.0.1:6379/15")
        keys = list(store.scan_iter(f"*{prefix}*"))
        assert keys, "no rate-limit keys in Redis"
        store.delete(*keys)


def test_limits_are_per_verified_principal(tmp_path: Path) -> None:
    settings = api_settings(tmp_path, rate_limit_authenticated="3/minute")
    url = settings.resolved_database_url
    for name in ("ada", "bob"):
        svc.create_user(url, name, PASSWORD, scopes=["read"])
    with TestClient(create_app(settings)) as client:
        ada = bearer(login(client, "ada")["access_token"])
        bob = bearer(login(client, "bob")["access_token"])
        for _ in range(3):
            assert client.get("/api/v1/me", headers=ada).status_code == 200
        assert_problem(client.get("/api/v1/me", headers=ada), 429)
        # bob shares ada's address but has his own budget;
        assert client.get("/api/v1/me", headers=bob).status_code == 200
        # and a forged token neither spends nor is stopped by anyone's budget: it is a 401.
        assert_problem(client.get("/api/v1/me", headers=bearer("x.y.z")), 401)


def test_anonymous_limits_are_per_client_address(tmp_path: Path) -> None:
    settings = api_settings(tmp_path, rate_limit_anonymous="2/minute", trusted_proxies="testclient")
    with pytest.raises(ValueError):
        create_app(settings)  # a bad proxy entry fails at start-up, not per request
    settings = api_settings(tmp_path, rate_limit_anonymous="2/minute")
    with TestClient(create_app(settings)) as client:
        spoofed = {"X-Forwarded-For": "203.0.113.7"}
        for _ in range(2):
            client.post("/api/v1/auth/revoke", json={"token": "t"}, headers=spoofed)
        # X-Forwarded-For from an untrusted peer is ignored: still the same bucket.
        other = {"X-Forwarded-For": "198.51.100.9"}
        assert_problem(client.post("/api/v1/auth/revoke", json={"token": "t"}, headers=other), 429)


@pytest.mark.parametrize(
    ("peer", "xff", "expected"),
    [
        ("203.0.113.5", "1.2.3.4", "203.0.113.5"),  # untrusted peer: header ignored
        ("10.0.0.2", "198.51.100.1", "198.51.100.1"),  # trusted proxy: its client
        ("10.0.0.2", "6.6.6.6, 198.51.100.1", "198.51.100.1"),  # spoofed left part ignored
        ("10.0.0.2", "198.51.100.1, 10.0.0.9", "198.51.100.1"),  # chain of trusted proxies
        ("10.0.0.2", "garbage", "10.0.0.2"),
        ("10.0.0.2", None, "10.0.0.2"),
        ("::1", "2001:db8::1", "2001:db8::1"),
        (None, "1.2.3.4", "unknown"),
    ],
)
def test_client_address(peer: str | None, xff: str | None, expected: str) -> None:
    assert client_address(peer, xff, NETS) == expected


def test_client_address_without_trusted_proxies_is_the_peer() -> None:
    assert client_address("10.0.0.2", "1.2.3.4", []) == "10.0.0.2"

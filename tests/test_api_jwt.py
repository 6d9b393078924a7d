"""JWT attack suite: every forged, stale, misdirected or misused token is a 401 problem."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient

from app.api.app import create_app
from app.api.settings import ApiSettings
from app.services import auth as svc
from tests.api_server import PASSWORD, api_settings, assert_problem, bearer, login


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def raw_token(header: dict[str, Any], claims: dict[str, Any], key: bytes | None) -> str:
    """A JWS built by hand, so no library refuses to make the malicious ones."""
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    signature = (
        b"" if key is None else hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    )
    return f"{signing_input}.{b64(signature)}"


@pytest.fixture
def settings(tmp_path: Path) -> ApiSettings:
    return api_settings(tmp_path)


@pytest.fixture
def client(settings: ApiSettings) -> Iterator[TestClient]:
    svc.create_user(settings.resolved_database_url, "ada", PASSWORD, scopes=["read"])
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture
def pair(client: TestClient) -> dict[str, Any]:
    return login(client, "ada")


@pytest.fixture
def claims(pair: dict[str, Any]) -> dict[str, Any]:
    """The claims of a genuine access token: attacks start from them."""
    return jwt.decode(pair["access_token"], options={"verify_signature": False})


def secret_of(settings: ApiSettings) -> bytes:
    assert settings.jwt_secret is not None
    return settings.jwt_secret.get_secret_value().encode()


def me(client: TestClient, token: str):
    return client.get("/api/v1/me", headers=bearer(token))


def test_genuine_token_works(client: TestClient, pair: dict[str, Any]) -> None:
    assert me(client, pair["access_token"]).status_code == 200


def test_alg_none_is_refused(client: TestClient, claims: dict[str, Any]) -> None:
    for alg in ("none", "None", "NONE"):
        assert_problem(me(client, raw_token({"alg": alg, "typ": "JWT"}, claims, None)), 401)


def test_rs256_public_key_used_as_hmac_secret_is_refused(
    client: TestClient, claims: dict[str, Any]
) -> None:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    confused = raw_token({"alg": "HS256", "typ": "JWT"}, claims, public_pem)
    assert_problem(me(client, confused), 401)
    for alg in ("RS256", "HS256"):  # relabelled header on an HMAC-signed body
        assert_problem(me(client, raw_token({"alg": alg, "typ": "JWT"}, claims, public_pem)), 401)
    genuine_rs = jwt.encode(claims, private, algorithm="RS256")
    assert_problem(me(client, genuine_rs), 401)


@pytest.mark.parametrize(
    "change",
    [
        {"exp": int(time.time()) - 3600, "iat": int(time.time()) - 7200},  # expired
        {"nbf": int(time.time()) + 3600},  # not yet valid
        {"iat": int(time.time()) + 3600},  # issued in the future
        {"aud": "someone-else"},
        {"aud": ["flowwright-api", "someone-else"]},  # strict audience: exactly ours
        {"iss": "evil"},
        {"typ": "refresh"},  # right secret, wrong token type on an access route
        {"typ": None},
        {"fam": "0" * 32},  # a login that never existed
        {"sub": "0" * 32},  # a user that does not exist
    ],
    ids=[
        "expired",
        "not-yet-valid",
        "issued-in-future",
        "wrong-aud",
        "extra-aud",
        "wrong-iss",
        "refresh-typ",
        "no-typ",
        "unknown-family",
        "unknown-user",
    ],
)
def test_correctly_signed_but_invalid_claims(
    client: TestClient, settings: ApiSettings, claims: dict[str, Any], change: dict[str, Any]
) -> None:
    forged = {**claims, **change}
    forged = {k: v for k, v in forged.items() if v is not None}
    token = jwt.encode(forged, secret_of(settings), algorithm="HS256")
    assert_problem(me(client, token), 401, "UNAUTHENTICATED")


@pytest.mark.parametrize("missing", ["exp", "iat", "nbf", "sub", "aud", "iss", "jti", "typ"])
def test_every_registered_claim_is_required(
    client: TestClient, settings: ApiSettings, claims: dict[str, Any], missing: str
) -> None:
    forged = {k: v for k, v in claims.items() if k != missing}
    assert_problem(me(client, jwt.encode(forged, secret_of(settings), algorithm="HS256")), 401)


def test_tampered_payload_and_bad_signature(client: TestClient, pair: dict[str, Any]) -> None:
    header, payload, signature = pair["access_token"].split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["scope"] = "admin generate run read"
    tampered = f"{header}.{b64(json.dumps(claims).encode())}.{signature}"
    assert_problem(me(client, tampered), 401)
    flipped = signature[:-2] + ("AA" if signature[-2:] != "AA" else "BB")
    assert_problem(me(client, f"{header}.{payload}.{flipped}"), 401)
    other_secret = jwt.encode(claims, b"x" * 48, algorithm="HS256")
    assert_problem(me(client, other_secret), 401)
    for junk in ("", "not-a-jwt", "a.b.c", "Bearer"):
        assert_problem(client.get("/api/v1/me", headers={"Authorization": f"Bearer {junk}"}), 401)
    assert_problem(client.get("/api/v1/me", headers={"Authorization": "Basic YTpi"}), 401)
    assert_problem(client.get("/api/v1/me"), 401)


def test_refresh_token_is_not_an_access_token(client: TestClient, pair: dict[str, Any]) -> None:
    response = me(client, pair["refresh_token"])
    assert_problem(response, 401)
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_access_token_is_not_a_refresh_token(client: TestClient, pair: dict[str, Any]) -> None:
    response = client.post("/api/v1/auth/refresh", json={"refresh_token": pair["access_token"]})
    assert_problem(response, 401)


def test_refresh_reuse_revokes_the_whole_family(client: TestClient, pair: dict[str, Any]) -> None:
    first = client.post("/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert first.status_code == 200
    rotated = first.json()
    second = client.post("/api/v1/auth/refresh", json={"refresh_token": rotated["refresh_token"]})
    assert second.status_code == 200
    latest = second.json()

    replay = client.post("/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert_problem(replay, 401, "TOKEN_REUSED")
    # Every token of the family is dead now, including the newest refresh and all access tokens.
    newest = client.post("/api/v1/auth/refresh", json={"refresh_token": latest["refresh_token"]})
    assert_problem(newest, 401)
    for token in (pair["access_token"], rotated["access_token"], latest["access_token"]):
        assert_problem(me(client, token), 401)
    # Another login of the same user is a different family and unaffected.
    assert me(client, login(client, "ada")["access_token"]).status_code == 200


def test_revoked_access_token(client: TestClient, pair: dict[str, Any]) -> None:
    response = client.post("/api/v1/auth/revoke", json={"token": pair["access_token"]})
    assert response.json() == {"revoked": True}
    assert_problem(me(client, pair["access_token"]), 401)
    junk = client.post("/api/v1/auth/revoke", json={"token": "junk"})
    assert junk.status_code == 200 and junk.json() == {"revoked": False}


def test_deactivated_user_is_locked_out_at_once(
    client: TestClient, settings: ApiSettings, pair: dict[str, Any]
) -> None:
    from sqlalchemy import update

    from app.db.auth_models import UserRow

    with svc.session_for(settings.resolved_database_url) as session:
        session.execute(update(UserRow).where(UserRow.name == "ada").values(is_active=False))
    assert_problem(me(client, pair["access_token"]), 401)
    refreshed = client.post("/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert_problem(refreshed, 401)

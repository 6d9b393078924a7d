"""End to end against a real `flowwright serve` (uvicorn subprocess) driven with httpx."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from app.services import auth as svc
from tests.api_server import (
    PASSWORD,
    REPO,
    Server,
    assert_problem,
    bearer,
    login,
    running_server,
)

pytestmark = pytest.mark.slow
INVALID_SPEC = """flowwright: "1"
name: broken
steps:
  - id: check
    tool: validate_emial
    params: {email: "{{ inputs.email }}"}
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Server:
    with running_server(tmp_path_factory.mktemp("e2e")) as srv:
        yield srv


def test_user_token_me_tools_validate_refresh_revoke(server: Server) -> None:
    svc.create_user(server.database_url, "ada", PASSWORD, scopes=["read", "generate"])
    with httpx.Client(base_url=server.url, timeout=30) as client:
        pair = login(client, "ada")
        assert pair["token_type"] == "bearer" and pair["expires_in"] == 900
        assert pair["scope"] == "generate read"
        auth = bearer(pair["access_token"])

        me = client.get("/api/v1/me", headers=auth)
        assert me.status_code == 200
        assert me.json()["name"] == "ada" and me.json()["scopes"] == ["generate", "read"]
        assert me.headers["x-ratelimit-limit"] == "120"
        assert int(me.headers["x-ratelimit-remaining"]) <= 119
        assert me.headers["x-request-id"]

        tools = client.get("/api/v1/tools", headers=auth)
        assert tools.status_code == 200
        names = {t["name"] for t in tools.json()}
        assert {"validate_email", "write_csv", "http_request"} <= names
        detail = client.get("/api/v1/tools/validate_email", headers=auth).json()
        assert "email" in detail["input_schema"]["properties"]
        missing = client.get("/api/v1/tools/validate_emial", headers=auth)
        assert "validate_email" in assert_problem(missing, 404, "TOOL_UNKNOWN")["hint"]

        valid_text = (REPO / "examples" / "lead_intake.yaml").read_text()
        ok = client.post(
            "/api/v1/validate",
            content=valid_text,
            headers={**auth, "Content-Type": "application/yaml"},
        )
        assert ok.status_code == 200 and ok.json()["ok"] is True, ok.text
        bad = client.post(
            "/api/v1/validate", json={"spec": INVALID_SPEC, "source": "x.yaml"}, headers=auth
        )
        assert bad.status_code == 200
        report = bad.json()
        assert report["ok"] is False and report["errors"] >= 1 and report["source"] == "x.yaml"
        unknown = [d for d in report["diagnostics"] if "validate_email" in (d["hint"] or "")]
        assert unknown and unknown[0]["line"] == 5

        refreshed = client.post(
            "/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]}
        )
        assert refreshed.status_code == 200, refreshed.text
        new = refreshed.json()
        assert new["refresh_token"] != pair["refresh_token"]
        assert client.get("/api/v1/me", headers=bearer(new["access_token"])).status_code == 200

        revoked = client.post("/api/v1/auth/revoke", json={"token": new["access_token"]})
        assert revoked.json() == {"revoked": True}
        assert_problem(client.get("/api/v1/me", headers=bearer(new["access_token"])), 401)
        # The refresh token of the same login is unaffected by revoking one access token...
        again = client.post("/api/v1/auth/refresh", json={"refresh_token": new["refresh_token"]})
        assert again.status_code == 200
        # ...but revoking the refresh token ends the login and its access tokens.
        last = again.json()
        assert client.post("/api/v1/auth/revoke", json={"token": last["refresh_token"]}).json()[
            "revoked"
        ]
        assert_problem(client.get("/api/v1/me", headers=bearer(last["access_token"])), 401)
        gone = client.post("/api/v1/auth/refresh", json={"refresh_token": last["refresh_token"]})
        assert_problem(gone, 401)


def test_api_key_login_and_key_revocation(server: Server) -> None:
    svc.create_user(server.database_url, "bob", None, scopes=["read", "run"])
    info, secret = svc.create_api_key(server.database_url, "bob", scopes=["read"], name="ci")
    with httpx.Client(base_url=server.url, timeout=30) as client:
        pair = client.post("/api/v1/auth/token", json={"grant_type": "api_key", "api_key": secret})
        assert pair.status_code == 200 and pair.json()["scope"] == "read"
        access = pair.json()["access_token"]
        assert client.get("/api/v1/me", headers=bearer(access)).status_code == 200
        too_much = client.post(
            "/api/v1/auth/token",
            json={"grant_type": "api_key", "api_key": secret, "scope": "read run"},
        )
        assert_problem(too_much, 403, "SCOPE_NOT_ALLOWED")

        assert svc.revoke_api_key(server.database_url, info.id)
        assert_problem(client.get("/api/v1/me", headers=bearer(access)), 401)
        denied = client.post(
            "/api/v1/auth/token", json={"grant_type": "api_key", "api_key": secret}
        )
        assert_problem(denied, 401, "UNAUTHENTICATED")


def test_wrong_password_and_unknown_user_look_the_same(server: Server) -> None:
    svc.create_user(server.database_url, "cy", PASSWORD)
    with httpx.Client(base_url=server.url, timeout=30) as client:
        bodies = []
        for name, password in (("cy", "wrong password"), ("nobody", PASSWORD)):
            response = client.post(
                "/api/v1/auth/token",
                json={"grant_type": "password", "username": name, "password": password},
            )
            bodies.append(assert_problem(response, 401)["detail"])
        assert bodies[0] == bodies[1]


def test_streamed_body_over_the_limit_is_413(tmp_path: Path) -> None:
    with running_server(tmp_path, FLOWWRIGHT_MAX_REQUEST_BYTES="4096") as srv:
        svc.create_user(srv.database_url, "dee", PASSWORD)
        with httpx.Client(base_url=srv.url, timeout=30) as client:
            auth = bearer(login(client, "dee")["access_token"])

            def chunks():
                for _ in range(10):
                    yield b"#" * 1000 + b"\n"

            streamed = client.post(
                "/api/v1/validate",
                content=chunks(),
                headers={**auth, "Content-Type": "application/yaml"},
            )
            assert "content-length" not in streamed.request.headers
            assert_problem(streamed, 413, "PAYLOAD_TOO_LARGE")
            declared = client.post(
                "/api/v1/validate",
                content=b"#" * 5000,
                headers={**auth, "Content-Type": "application/yaml"},
            )
            assert_problem(declared, 413, "PAYLOAD_TOO_LARGE")

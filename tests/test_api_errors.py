"""Every error is an RFC 9457 problem; internals never reach the client; start-up is strict."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import Request
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from app.api.app import create_app
from app.api.security import SecretConfigError
from app.api.settings import ApiSettings
from app.services import auth as svc
from tests.api_server import PASSWORD, api_settings, assert_problem, bearer, login


@pytest.fixture
def settings(tmp_path: Path) -> ApiSettings:
    return api_settings(tmp_path, max_request_bytes=2048)


@pytest.fixture
def client(settings: ApiSettings) -> Iterator[TestClient]:
    url = settings.resolved_database_url
    svc.create_user(url, "reader", PASSWORD, scopes=["read"])
    svc.create_user(url, "writer", PASSWORD, scopes=["generate"])
    app = create_app(settings)

    @app.get("/boom")  # test-only route: an unexpected exception with a secret in its text
    async def boom(request: Request) -> None:
        raise RuntimeError("db password is hunter2 at /srv/secret.py line 3")

    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def reader(client: TestClient) -> dict[str, str]:
    return bearer(login(client, "reader")["access_token"])


def test_internal_error_is_a_generic_500_with_request_id(client: TestClient) -> None:
    response = client.get("/boom")
    body = assert_problem(response, 500, "INTERNAL_ERROR")
    assert "hunter2" not in response.text and "RuntimeError" not in response.text
    assert body["request_id"] and response.headers["x-request-id"] == body["request_id"]


def test_dependency_failure_is_a_500_problem(
    client: TestClient, reader: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_a: object, **_k: object) -> None:
        raise OSError("disk /var/lib/secret full")

    monkeypatch.setattr(svc, "access_user", broken)
    response = client.get("/api/v1/me", headers=reader)
    assert_problem(response, 500)
    assert "secret" not in response.text


def test_not_found_and_method_not_allowed(client: TestClient) -> None:
    assert_problem(client.get("/api/v1/nope"), 404, "NOT_FOUND")
    response = client.put("/api/v1/validate")
    assert_problem(response, 405, "METHOD_NOT_ALLOWED")
    assert "POST" in response.headers["allow"]


def test_validation_error_lists_fields(client: TestClient) -> None:
    response = client.post("/api/v1/auth/token", json={"grant_type": "password"})
    body = assert_problem(response, 422, "VALIDATION_FAILED")
    locs = {tuple(e["loc"]) for e in body["errors"]}
    assert ("body", "password", "username") in locs or ("body", "password", "password") in locs
    bad_json = client.post(
        "/api/v1/auth/token", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert_problem(bad_json, 422)


def test_validate_envelope_errors(client: TestClient, reader: dict[str, str]) -> None:
    body = assert_problem(client.post("/api/v1/validate", json={"nope": 1}, headers=reader), 422)
    assert body["errors"][0]["loc"][:2] == ["body", "spec"]
    garbage = client.post(
        "/api/v1/validate",
        content=b"\xff{",
        headers={**reader, "Content-Type": "application/json"},
    )
    assert_problem(garbage, 422)
    image = client.post(
        "/api/v1/validate", content=b"GIF89a", headers={**reader, "Content-Type": "image/gif"}
    )
    assert_problem(image, 415, "UNSUPPORTED_MEDIA_TYPE")


def test_validate_accepts_a_json_object_spec(client: TestClient, reader: dict[str, str]) -> None:
    spec = {
        "flowwright": "1",
        "name": "t",
        "inputs": {"text": {"type": "string", "required": True}},
        "steps": [{"id": "e", "tool": "extract_emails", "params": {"text": "{{ inputs.text }}"}}],
    }
    response = client.post("/api/v1/validate", json={"spec": spec}, headers=reader)
    assert response.status_code == 200 and response.json()["ok"] is True, response.text


def test_missing_scope_is_403(client: TestClient) -> None:
    writer = bearer(login(client, "writer")["access_token"])
    assert_problem(client.get("/api/v1/tools", headers=writer), 403, "SCOPE_MISSING")
    denied = client.post(
        "/api/v1/auth/token",
        json={
            "grant_type": "password",
            "username": "writer",
            "password": PASSWORD,
            "scope": "admin",
        },
    )
    assert_problem(denied, 403, "SCOPE_NOT_ALLOWED")
    unknown = client.post(
        "/api/v1/auth/token",
        json={
            "grant_type": "password",
            "username": "writer",
            "password": PASSWORD,
            "scope": "root",
        },
    )
    assert_problem(unknown, 422, "SCOPE_UNKNOWN")


def test_declared_oversized_body_is_413_before_reading(client: TestClient) -> None:
    response = client.post(
        "/api/v1/auth/token", content=b"x" * 4096, headers={"Content-Type": "application/json"}
    )
    assert_problem(response, 413, "PAYLOAD_TOO_LARGE")


def test_rate_limited_is_429_problem_with_headers(tmp_path: Path) -> None:
    settings = api_settings(tmp_path, rate_limit_anonymous="2/minute")
    with TestClient(create_app(settings)) as client:
        body = {"token": "junk"}
        first = client.post("/api/v1/auth/revoke", json=body)
        assert first.headers["x-ratelimit-limit"] == "2"
        assert first.headers["x-ratelimit-remaining"] == "1"
        client.post("/api/v1/auth/revoke", json=body)
        limited = client.post("/api/v1/auth/revoke", json=body)
        assert_problem(limited, 429, "RATE_LIMITED")
        assert 0 < int(limited.headers["retry-after"]) <= 60
        assert limited.headers["x-ratelimit-remaining"] == "0"
        assert int(limited.headers["x-ratelimit-reset"]) > 0


def test_owned_resources_are_404_for_others_and_visible_to_admins() -> None:
    from app.api.deps import Principal, owned_or_404
    from app.api.problems import ApiProblem

    alice = Principal("u1", "alice", frozenset({"read"}), False, "j", "f", 0)
    admin = Principal("u9", "root", frozenset({"admin"}), True, "j", "f", 0)
    assert owned_or_404("run", "u1", alice, "run") == "run"
    assert owned_or_404("run", "u1", admin, "run") == "run"
    for resource, owner in (("run", "u2"), (None, "u1"), ("run", None)):
        with pytest.raises(ApiProblem) as err:
            owned_or_404(resource, owner, alice, "run")
        assert err.value.status == 404 and err.value.detail == "run not found"


@pytest.mark.parametrize("secret", [None, "short-secret"])
def test_api_refuses_to_start_without_a_strong_secret(tmp_path: Path, secret: str | None) -> None:
    with pytest.raises(SecretConfigError):
        create_app(api_settings(tmp_path, jwt_secret=secret))


def test_dev_mode_generates_a_secret_and_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = create_app(api_settings(tmp_path, jwt_secret=None, api_dev_mode=True))
    assert app.state.codec is not None
    assert "random secret" in capsys.readouterr().err


def test_serve_refuses_without_secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from app.cli.main import app as cli

    monkeypatch.delenv("FLOWWRIGHT_JWT_SECRET", raising=False)
    monkeypatch.delenv("FLOWWRIGHT_API_DEV_MODE", raising=False)
    monkeypatch.setenv("FLOWWRIGHT_DATABASE_URL", f"sqlite:///{tmp_path / 'x.db'}")
    result = CliRunner().invoke(cli, ["serve", "--port", "1"])
    assert result.exit_code == 2
    assert "error[JWT_SECRET_INVALID]" in result.output

"""The API's observability wiring: /metrics, readiness, diagnostics, request ids, traces."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.api.app import create_app
from app.api.settings import ApiSettings
from app.config import get_settings
from app.db import migrate
from app.db.base import engine_for
from app.observability.logging import configure_logging
from app.services import auth as svc
from tests.api_server import PASSWORD, api_settings, assert_problem, bearer, login
from tests.test_health import closed_port
from tests.test_metrics import value


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ApiSettings]:
    """App settings, with the process-wide settings on the same database (generation traces)."""
    s = api_settings(tmp_path, home=tmp_path / "home")
    monkeypatch.setenv("FLOWWRIGHT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("FLOWWRIGHT_DATABASE_URL", s.resolved_database_url)
    monkeypatch.delenv("FLOWWRIGHT_REDIS_URL", raising=False)
    get_settings.cache_clear()
    yield s
    engine_for(s.resolved_database_url).dispose()
    migrate.forget_ensured(s.resolved_database_url)
    get_settings.cache_clear()


@pytest.fixture
def client(settings: ApiSettings) -> Iterator[TestClient]:
    url = settings.resolved_database_url
    migrate.upgrade(url)
    svc.create_user(url, "reader", PASSWORD, scopes=["read"])
    svc.create_user(url, "other", PASSWORD, scopes=["read"])
    svc.create_user(url, "root", PASSWORD, admin=True)
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def auth(client: TestClient, name: str) -> dict[str, str]:
    return bearer(login(client, name)["access_token"])


def test_metrics_endpoint_counts_requests_by_route_template(client: TestClient) -> None:
    reader = auth(client, "reader")
    route = "/api/v1/tools/{name}"
    before = value("flowwright_http_requests_total", method="GET", route=route, status="200")
    assert client.get("/api/v1/tools/validate_email", headers=reader).status_code == 200
    assert client.get("/api/v1/tools/read_csv", headers=reader).status_code == 200
    response = client.get("/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    assert "flowwright_http_requests_total" in response.text
    after = value("flowwright_http_requests_total", method="GET", route=route, status="200")
    assert after == before + 2
    assert 'route="/api/v1/tools/validate_email"' not in response.text  # templates, never paths
    assert 'route="/metrics"' not in response.text  # scrapes are not counted


def test_rate_limited_requests_are_counted_by_tier(tmp_path: Path) -> None:
    s = api_settings(tmp_path, rate_limit_authenticated="2/minute")
    svc.create_user(s.resolved_database_url, "ada", PASSWORD, scopes=["read"])
    before = value("flowwright_rate_limited_total", tier="authenticated")
    with TestClient(create_app(s)) as client:
        headers = auth(client, "ada")
        codes = [client.get("/api/v1/me", headers=headers).status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    assert value("flowwright_rate_limited_total", tier="authenticated") == before + 1
    engine_for(s.resolved_database_url).dispose()


def test_ready_is_200_when_every_check_passes(client: TestClient) -> None:
    response = client.get("/health/ready")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["ready"] is True
    assert {c["name"] for c in body["checks"]} >= {"database", "checkpointer", "templates"}


def test_ready_is_503_when_the_database_is_unreachable(tmp_path: Path) -> None:
    url = f"postgresql+psycopg://postgres@127.0.0.1:{closed_port()}/none"
    s = api_settings(tmp_path, database_url=url, health_timeout_s=2.0)
    app = create_app(s)
    client = TestClient(app)  # no lifespan: its schema check would fail on the dead database
    response = client.get("/health/ready")
    assert response.status_code == 503
    checks = {c["name"]: c for c in response.json()["checks"]}
    assert checks["database"]["ok"] is False and checks["database"]["detail"]
    assert client.get("/health").status_code == 200  # liveness never depends on the database


def test_detailed_is_admin_only(client: TestClient) -> None:
    assert_problem(client.get("/health/detailed"), 401)
    assert_problem(client.get("/health/detailed", headers=auth(client, "reader")), 403)
    response = client.get("/health/detailed", headers=auth(client, "root"))
    assert response.status_code == 200
    body = response.json()
    assert body["ready"] is True and body["version"] and body["packages"]["fastapi"]


def test_request_id_is_echoed_and_reaches_the_logs(client: TestClient) -> None:
    stream = io.StringIO()
    configure_logging("INFO", json=True, stream=stream)
    log = logging.getLogger("flowwright.test")

    @client.app.get("/log-something")  # type: ignore[attr-defined]
    async def log_something() -> dict[str, str]:
        log.info("inside the handler")
        return {"ok": "yes"}

    response = client.get("/log-something", headers={"X-Request-ID": "req-abc-12345"})
    assert response.headers["x-request-id"] == "req-abc-12345"
    minted = client.get("/health").headers["x-request-id"]
    assert minted and minted != "req-abc-12345"
    short = client.get("/health", headers={"X-Request-ID": "req-123"}).headers["x-request-id"]
    assert short != "req-123" and len(short) == 32  # the API takes 8-64 characters
    lines = [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]
    (line,) = [entry for entry in lines if entry.get("event") == "inside the handler"]
    assert line["request_id"] == "req-abc-12345"


def test_user_is_bound_into_the_logs(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    stream = io.StringIO()
    configure_logging("INFO", json=True, stream=stream)
    headers = auth(client, "reader")
    seen: list[str] = []
    import structlog

    original = client.app.state.catalog  # type: ignore[attr-defined]

    def catalog() -> object:
        seen.append(str(structlog.contextvars.get_contextvars().get("user")))
        return original()

    monkeypatch.setattr(client.app.state, "catalog", catalog)  # type: ignore[attr-defined]
    assert client.get("/api/v1/tools", headers=headers).status_code == 200
    me = client.get("/api/v1/me", headers=headers).json()
    assert seen == [me["id"]]


def test_trace_of_a_real_generation(client: TestClient, tmp_path: Path) -> None:
    from agents.service import generate_workflow

    result = generate_workflow(
        "Validate the email address ada@example.com.", out_dir=tmp_path / "out", run_tests=False
    )
    assert result.ok and result.trace_id
    admin = auth(client, "root")
    response = client.get(f"/api/v1/traces/{result.trace_id}", headers=admin)
    assert response.status_code == 200, response.text
    tree = response.json()
    assert tree["trace_id"] == result.trace_id and tree["job_id"] == result.job_id
    assert tree["root"]["name"] == "flowwright.generate"
    assert {c["name"] for c in tree["root"]["children"]} >= {"planner", "generator"}
    # A job started outside the API has no owner: other users get the same 404 as a bad id.
    reader = auth(client, "reader")
    assert_problem(client.get(f"/api/v1/traces/{result.trace_id}", headers=reader), 404)
    assert_problem(client.get("/api/v1/traces/0123456789abcdef", headers=admin), 404)
    listed = client.get("/api/v1/traces", headers=admin, params={"job_id": result.job_id})
    assert [t["trace_id"] for t in listed.json()] == [result.trace_id]
    assert_problem(client.get("/api/v1/traces", headers=reader), 403)


def test_trace_of_an_owned_run_is_visible_to_its_owner(
    client: TestClient, settings: ApiSettings
) -> None:
    import asyncio

    import yaml

    from app.db import history
    from app.engine.runner import WorkflowRunner
    from app.tools.registry import Catalog
    from app.workflow.spec import WorkflowSpec

    spec = WorkflowSpec.model_validate(yaml.safe_load(
        "flowwright: '1'\nname: owned\nsteps:\n"
        "  - {id: check, tool: validate_email, params: {email: ada@example.com}}\n"
    ))  # fmt: skip
    url = settings.resolved_database_url
    reader_id = svc.get_user(url, "reader").id
    history.record_started("owned-run-1", spec, {}, dry_run=False, owner_id=reader_id, url=url)
    result = asyncio.run(WorkflowRunner(Catalog.builtin(), tracing=True).run(
        spec, {}, run_id="owned-run-1"
    ))  # fmt: skip
    assert result.trace_id
    path = f"/api/v1/traces/{result.trace_id}"
    assert client.get(path, headers=auth(client, "reader")).status_code == 200
    assert_problem(client.get(path, headers=auth(client, "other")), 404)

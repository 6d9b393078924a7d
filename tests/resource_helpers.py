"""Helpers for the API resource tests (jobs, artifacts, workflows, runs) over a real server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from app.services import auth as svc
from tests.api_server import PASSWORD, Server, bearer, login, running_server

API = "/api/v1"
# A dev-set style request whose plan has a workflow input (`email`).
EMAIL_REQUEST = "Check whether an email address is valid."
STEP_ORDER = ["planner", "validator", "tool_runner", "generator", "validator"]


@contextmanager
def resource_server(tmp_path: Path, **env: str) -> Iterator[Server]:
    """A server with its own workspace and generous limits (tests, not rate limits, run here)."""
    limits = "10000/minute"
    with running_server(
        tmp_path,
        FLOWWRIGHT_WORKSPACE=str(tmp_path / "workspace"),
        FLOWWRIGHT_RATE_LIMIT_GENERATION=limits,
        FLOWWRIGHT_RATE_LIMIT_AUTHENTICATED=limits,
        FLOWWRIGHT_RATE_LIMIT_ANONYMOUS=limits,
        **env,
    ) as server:
        (tmp_path / "workspace").mkdir(exist_ok=True)
        yield server


def user_headers(server: Server, name: str, *, admin: bool = False) -> dict[str, str]:
    svc.create_user(server.database_url, name, PASSWORD, admin=admin)
    with httpx.Client(base_url=server.url, timeout=30) as client:
        return bearer(login(client, name)["access_token"])


def read_sse(response: httpx.Response) -> list[tuple[str, dict[str, Any], str | None]]:
    """(event, data, id) of every frame of a text/event-stream response, until it closes."""
    frames: list[tuple[str, dict[str, Any], str | None]] = []
    event, data, event_id = "message", "", None
    for line in response.iter_lines():
        if line.startswith(":"):
            continue
        if not line:
            if data:
                frames.append((event, json.loads(data), event_id))
            event, data, event_id = "message", "", None
        elif line.startswith("event: "):
            event = line[7:]
        elif line.startswith("data: "):
            data += line[6:]
        elif line.startswith("id: "):
            event_id = line[4:]
    return frames


def stream(client: httpx.Client, path: str, headers: dict[str, str]) -> list[tuple[str, dict, Any]]:
    with client.stream("GET", path, headers=headers, timeout=120) as response:
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"].startswith("text/event-stream")
        return read_sse(response)


def generate(client: httpx.Client, headers: dict[str, str], request: str = EMAIL_REQUEST) -> dict:
    """A finished generation job (`?wait=true`, generated tests skipped for speed)."""
    response = client.post(
        f"{API}/generate?wait=true",
        json={"request": request, "run_tests": False},
        headers=headers,
        timeout=180,
    )
    assert response.status_code == 200, response.text
    job = response.json()
    assert job["status"] == "succeeded", job
    return job


def save_workflow(
    client: httpx.Client, headers: dict[str, str], spec: dict, name: str, **extra: Any
) -> dict:
    response = client.post(
        f"{API}/workflows", json={"name": name, "spec": spec, **extra}, headers=headers
    )
    assert response.status_code == 201, response.text
    return response.json()


def wait_run(client: httpx.Client, headers: dict[str, str], run_id: str) -> dict:
    """Follow the run's SSE stream to its end, then return the run."""
    stream(client, f"{API}/runs/{run_id}/events", headers)
    response = client.get(f"{API}/runs/{run_id}", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()

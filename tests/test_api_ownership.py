"""Ownership: another user cannot see or act on a user's jobs, artifacts, workflows or runs (404,
exactly like a missing id), and an admin can."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.api_server import assert_problem
from tests.resource_helpers import (
    API,
    generate,
    resource_server,
    save_workflow,
    user_headers,
    wait_run,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A's job, workflow and finished run; B and an admin with tokens."""
    with resource_server(tmp_path_factory.mktemp("owners")) as server:
        a, b = user_headers(server, "alice"), user_headers(server, "bert")
        admin = user_headers(server, "root", admin=True)
        with httpx.Client(base_url=server.url, timeout=60) as client:
            job = generate(client, a)
            workflow = save_workflow(client, a, job["spec"], "alice's check")
            run = client.post(
                workflow["links"]["runs"], json={"inputs": {"email": "a@example.com"}}, headers=a
            ).json()
            run = wait_run(client, a, run["id"])
        yield server, a, b, admin, job, workflow, run


def _reads(job: dict, workflow: dict, run: dict) -> list[str]:
    jid, wid, rid = job["id"], workflow["id"], run["id"]
    return [
        f"{API}/jobs/{jid}",
        f"{API}/jobs/{jid}/events",
        f"{API}/jobs/{jid}/artifacts",
        f"{API}/jobs/{jid}/artifacts.zip",
        f"{API}/jobs/{jid}/artifacts/workflow.yaml",
        f"{API}/workflows/{wid}",
        f"{API}/workflows/{wid}/versions",
        f"{API}/workflows/{wid}/versions/1",
        f"{API}/runs/{rid}",
        f"{API}/runs/{rid}/events",
    ]


def test_another_user_gets_404_for_everything(world: Any) -> None:
    server, _a, b, _admin, job, workflow, run = world
    with httpx.Client(base_url=server.url, timeout=60) as client:
        for path in _reads(job, workflow, run):
            body = assert_problem(client.get(path, headers=b), 404, "NOT_FOUND")
            assert job["owner_id"] not in str(body)
        wid, rid, jid = workflow["id"], run["id"], job["id"]
        writes = [
            client.post(f"{API}/workflows/{wid}/runs", json={"inputs": {}}, headers=b),
            client.put(f"{API}/workflows/{wid}", json={"spec": job["spec"]}, headers=b),
            client.delete(f"{API}/workflows/{wid}", headers=b),
            client.post(f"{API}/runs/{rid}/cancel", headers=b),
            client.post(f"{API}/runs/{rid}/approve", headers=b),
            client.post(f"{API}/runs/{rid}/reject", headers=b),
            client.post(f"{API}/jobs/{jid}/approve", headers=b),
            client.post(f"{API}/jobs/{jid}/reject", headers=b),
        ]
        for response in writes:
            assert_problem(response, 404, "NOT_FOUND")
        # A missing id answers exactly the same way (no probing by status or message shape).
        missing = client.get(f"{API}/workflows/{'0' * 32}", headers=b)
        foreign = client.get(f"{API}/workflows/{wid}", headers=b)
        assert missing.json()["code"] == foreign.json()["code"] == "NOT_FOUND"
        for listing in ("jobs", "workflows", "runs"):
            page = client.get(f"{API}/{listing}", headers=b).json()
            assert page["total"] == 0 and page["items"] == []
        # A's resources are untouched by B's attempts.
        assert client.get(f"{API}/workflows/{wid}", headers=world[1]).status_code == 200


def test_admin_sees_and_acts_on_everything(world: Any) -> None:
    server, a, _b, admin, job, workflow, run = world
    with httpx.Client(base_url=server.url, timeout=60) as client:
        for path in _reads(job, workflow, run):
            response = client.get(path, headers=admin)
            assert response.status_code == 200, (path, response.text)
        for listing, wanted in (("jobs", job), ("workflows", workflow), ("runs", run)):
            ids = {i["id"] for i in client.get(f"{API}/{listing}", headers=admin).json()["items"]}
            assert wanted["id"] in ids
        by_admin = client.post(
            workflow["links"]["runs"],
            json={"inputs": {"email": "root@example.com"}, "dry_run": True},
            headers=admin,
        )
        assert by_admin.status_code == 202, by_admin.text
        # The admin's run is the admin's: alice does not see it.
        assert client.get(f"{API}/runs/{by_admin.json()['id']}", headers=a).status_code == 404
        wait_run(client, admin, by_admin.json()["id"])
        assert client.delete(f"{API}/workflows/{workflow['id']}", headers=admin).status_code == 204
        assert client.get(f"{API}/workflows/{workflow['id']}", headers=a).status_code == 404
        # Runs keep their own spec: the deleted workflow's run stays readable.
        assert client.get(f"{API}/runs/{run['id']}", headers=a).status_code == 200


def test_scopes_are_enforced(world: Any) -> None:
    server, *_ = world
    from app.services import auth as svc
    from tests.api_server import PASSWORD, bearer, login

    svc.create_user(server.database_url, "reader", PASSWORD, scopes=["read"])
    with httpx.Client(base_url=server.url, timeout=60) as client:
        reader = bearer(login(client, "reader")["access_token"])
        for response in (
            client.post(f"{API}/generate", json={"request": "x"}, headers=reader),
            client.post(f"{API}/plan", json={"request": "x"}, headers=reader),
            client.post(f"{API}/workflows", json={"name": "n", "spec": {}}, headers=reader),
            client.post(f"{API}/workflows/{'0' * 32}/runs", json={}, headers=reader),
        ):
            assert_problem(response, 403, "SCOPE_MISSING")
        assert client.get(f"{API}/runs", headers=reader).status_code == 200
        assert_problem(client.get(f"{API}/runs"), 401, "UNAUTHENTICATED")

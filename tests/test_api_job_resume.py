"""A job the server stopped in the middle of is `interrupted`, and approving it after a restart
continues it from its checkpoint to the end (the hint the interrupted job carries)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest

from tests.api_server import PASSWORD, bearer, login
from tests.resource_helpers import API, EMAIL_REQUEST, resource_server, user_headers

pytestmark = pytest.mark.slow


def wait_job(client: httpx.Client, auth: dict[str, str], job_id: str, done: set[str]) -> dict:
    deadline = time.monotonic() + 180
    while True:
        job = client.get(f"{API}/jobs/{job_id}", headers=auth).json()
        if job["status"] in done or time.monotonic() > deadline:
            return job
        time.sleep(0.1)


def test_interrupted_job_continues_when_approved_after_a_restart(tmp_path: Path) -> None:
    with resource_server(tmp_path) as server:
        auth = user_headers(server, "ida")
        with httpx.Client(base_url=server.url, timeout=60) as client:
            started = client.post(
                f"{API}/generate", json={"request": EMAIL_REQUEST, "run_tests": True},
                headers=auth,
            )  # fmt: skip
            assert started.status_code == 202, started.text
            job_id = started.json()["id"]
            # Stop the server once the generator has written the files: the checks (a pytest
            # run of the generated test among them) are then still going on.
            written = tmp_path / "home" / "jobs" / job_id / "test_workflow.py"
            deadline = time.monotonic() + 120
            while not written.exists():
                assert time.monotonic() < deadline, client.get(f"{API}/jobs/{job_id}", headers=auth)
                time.sleep(0.05)
    # The server stopped (SIGTERM): the job was recorded as interrupted, with how to continue.
    with (
        resource_server(tmp_path) as server,
        httpx.Client(base_url=server.url, timeout=60) as client,
    ):
        auth = bearer(login(client, "ida", PASSWORD)["access_token"])
        job = client.get(f"{API}/jobs/{job_id}", headers=auth).json()
        assert job["status"] == "interrupted", job
        assert job["error"]["code"] == "JOB_CANCELLED" and "approve" in job["error"]["hint"]
        rejected = client.post(f"{API}/jobs/{job_id}/reject", headers=auth)
        assert rejected.status_code == 409 and rejected.json()["code"] == "JOB_STATE"
        approved = client.post(f"{API}/jobs/{job_id}/approve", headers=auth)
        assert approved.status_code == 202, approved.text
        job = wait_job(client, auth, job_id, {"succeeded", "failed", "interrupted"})
    # The generated test ran and passed (graph.py loads the API's catalog).
    assert job["status"] == "succeeded", json.dumps(job["checks"])[-3000:]
    assert job["error"] is None and {"workflow.yaml", "graph.py"} <= set(job["artifacts"])
    assert [c["name"] for c in job["checks"] if c["ok"]][-1] == "test"

"""Jobs whose server stopped: `interrupted` (a graceful stop records it; a crash is noticed by
the stale heartbeat), and approving an interrupted job after a restart continues it from its
checkpoint to the end, as the hint it carries says."""

from __future__ import annotations

import json
import os
import signal
import time
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from app.db.base import utcnow
from app.db.migrate import upgrade
from app.services import jobs as job_store
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


def start_and_stop_mid_job(tmp_path: Path, *, crash: bool, **env: str) -> str:
    """Start a job with its generated tests, stop the server while they run; the job id."""
    with resource_server(tmp_path, **env) as server:
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
        if crash:  # no chance to record anything: the job row still says running
            os.killpg(server.pid, signal.SIGKILL)
    return job_id


def approve_and_finish(tmp_path: Path, job_id: str, error_code: str, **env: str) -> dict:
    """Restart the server, check the job is interrupted, approve it; the finished job."""
    with (
        resource_server(tmp_path, **env) as server,
        httpx.Client(base_url=server.url, timeout=60) as client,
    ):
        auth = bearer(login(client, "ida", PASSWORD)["access_token"])
        job = client.get(f"{API}/jobs/{job_id}", headers=auth).json()
        assert job["status"] == "interrupted", job
        assert job["error"]["code"] == error_code and "approve" in job["error"]["hint"]
        rejected = client.post(f"{API}/jobs/{job_id}/reject", headers=auth)
        assert rejected.status_code == 409 and rejected.json()["code"] == "JOB_STATE"
        approved = client.post(f"{API}/jobs/{job_id}/approve", headers=auth)
        assert approved.status_code == 202, approved.text
        job = wait_job(client, auth, job_id, {"succeeded", "failed", "interrupted"})
    return job


def test_interrupted_job_continues_when_approved_after_a_restart(tmp_path: Path) -> None:
    job_id = start_and_stop_mid_job(tmp_path, crash=False)  # SIGTERM: recorded on the way out
    job = approve_and_finish(tmp_path, job_id, "JOB_CANCELLED")
    # The generated test ran and passed (graph.py loads the API's catalog).
    assert job["status"] == "succeeded", json.dumps(job["checks"])[-3000:]
    assert job["error"] is None and {"workflow.yaml", "graph.py"} <= set(job["artifacts"])
    assert [c["name"] for c in job["checks"] if c["ok"]][-1] == "test"


def test_a_crashed_servers_job_is_noticed_and_continues_when_approved(tmp_path: Path) -> None:
    lost_after = {"FLOWWRIGHT_JOB_LOST_AFTER_S": "2"}
    job_id = start_and_stop_mid_job(tmp_path, crash=True, **lost_after)  # SIGKILL
    time.sleep(2.5)  # no worker beats for it any more
    job = approve_and_finish(tmp_path, job_id, "JOB_LOST", **lost_after)
    assert job["status"] == "succeeded", json.dumps(job["checks"])[-3000:]


def test_only_stale_jobs_are_marked_lost(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'jobs.db'}"
    upgrade(url)
    options = job_store.JobOptions()
    never = job_store.create_job(url, owner_id="o", request="r", options=options)
    live = job_store.create_job(url, owner_id="o", request="r", options=options)
    job_store.set_status(url, live.id, "running")  # sets the heartbeat
    cutoff = utcnow() + timedelta(seconds=1)  # as if both were last heard of before now
    assert not job_store.mark_lost(url, live.id, utcnow() - timedelta(seconds=60))
    assert job_store.mark_lost(url, never.id, cutoff)
    lost = job_store.get_job(url, never.id)
    assert lost is not None and lost.status == "failed" and lost.error is not None
    assert lost.error["code"] == "JOB_LOST" and "again" in lost.error["hint"]
    monkeypatch.setenv("FLOWWRIGHT_JOB_LOST_AFTER_S", "3600")
    from app.config import get_settings

    get_settings.cache_clear()
    try:
        still = job_store.get_job(url, live.id)
    finally:
        get_settings.cache_clear()
    assert still is not None and still.status == "running"

"""The whole API flow against a real uvicorn server: token → generate → SSE → zip → save → run."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import httpx
import pytest
import yaml

from tests.api_server import Server
from tests.resource_helpers import (
    API,
    EMAIL_REQUEST,
    STEP_ORDER,
    resource_server,
    save_workflow,
    stream,
    user_headers,
    wait_run,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Server:
    with resource_server(tmp_path_factory.mktemp("flow")) as srv:
        yield srv


def test_generate_stream_download_save_and_run(server: Server) -> None:
    auth = user_headers(server, "ada")
    with httpx.Client(base_url=server.url, timeout=60) as client:
        started = client.post(
            f"{API}/generate", json={"request": EMAIL_REQUEST, "run_tests": False}, headers=auth
        )
        assert started.status_code == 202, started.text
        job = started.json()
        assert job["status"] in ("queued", "running") and job["trace_id"] is None
        assert job["links"]["events"] == f"{API}/jobs/{job['id']}/events"
        assert started.headers["location"] == f"{API}/jobs/{job['id']}"

        # One event per agent step, in order, replayed from the start, then `end`.
        frames = stream(client, job["links"]["events"], auth)
        finished = [d["node"] for e, d, _ in frames if e == "node_finished"]
        started_nodes = [d["node"] for e, d, _ in frames if e == "node_started"]
        assert finished == STEP_ORDER and started_nodes == STEP_ORDER
        assert frames[-1][0] == "end" and frames[-1][1]["status"] == "succeeded"
        ids = [int(i) for _, _, i in frames[:-1]]
        assert ids == sorted(ids) and len(set(ids)) == len(ids)
        # Resuming after the third event replays only the rest.
        with client.stream(
            "GET", job["links"]["events"], headers={**auth, "Last-Event-ID": str(ids[2])}
        ) as rest:
            tail = [line for line in rest.iter_lines() if line.startswith("event: node")]
        assert len(tail) == len(ids) - 3

        done = client.get(f"{API}/jobs/{job['id']}", headers=auth).json()
        assert done["status"] == "succeeded" and done["error"] is None
        assert {"workflow.yaml", "graph.py"} <= set(done["artifacts"])
        assert "email" in done["spec"]["inputs"]
        assert [c["name"] for c in done["checks"]]
        # The finished job names its trace, which its owner can read.
        job_trace = client.get(f"{API}/traces/{done['trace_id']}", headers=auth)
        assert job_trace.status_code == 200, job_trace.text
        assert job_trace.json()["job_id"] == job["id"]
        listed = client.get(f"{API}/jobs", headers=auth).json()
        assert listed["total"] == 1 and listed["items"][0]["id"] == job["id"]

        archive = client.get(f"{API}/jobs/{job['id']}/artifacts.zip", headers=auth)
        assert archive.status_code == 200
        assert archive.headers["content-type"] == "application/zip"
        with zipfile.ZipFile(io.BytesIO(archive.content)) as zf:
            assert zf.testzip() is None
            assert {"workflow.yaml", "graph.py"} <= set(zf.namelist())
            assert yaml.safe_load(zf.read("workflow.yaml"))["name"] == done["spec"]["name"]
            graph_py = zf.read("graph.py")
        one = client.get(f"{API}/jobs/{job['id']}/artifacts/graph.py", headers=auth)
        assert one.status_code == 200 and one.content == graph_py

        workflow = save_workflow(client, auth, done["spec"], "email check", tags=["email"])
        assert workflow["version"] == 1

        dry = client.post(
            workflow["links"]["runs"],
            json={"inputs": {"email": "ada@example.com"}, "dry_run": True},
            headers=auth,
        )
        assert dry.status_code == 202, dry.text
        assert dry.json()["dry_run"] is True
        dry_run = wait_run(client, auth, dry.json()["id"])
        assert dry_run["status"] == "succeeded"

        real = client.post(
            workflow["links"]["runs"], json={"inputs": {"email": "ada@example.com"}}, headers=auth
        )
        assert real.status_code == 202, real.text
        run_id = real.json()["id"]
        frames = stream(client, f"{API}/runs/{run_id}/events", auth)
        kinds = [e for e, _, _ in frames]
        assert kinds[0] == "status" and kinds[-1] == "end"
        steps = [d for e, d, _ in frames if e == "step"]
        assert [s["step"] for s in steps] == [s["id"] for s in done["spec"]["steps"]]
        assert all(s["status"] == "succeeded" for s in steps)
        assert frames[-1][1]["status"] == "succeeded"

        result = client.get(f"{API}/runs/{run_id}", headers=auth).json()
        assert result["status"] == "succeeded" and result["dry_run"] is False
        assert result["inputs"] == {"email": "ada@example.com"}
        assert result["steps"][0]["output"]["valid"] is True
        run_trace = client.get(f"{API}/traces/{result['trace_id']}", headers=auth)
        assert run_trace.status_code == 200, run_trace.text
        assert run_trace.json()["run_id"] == run_id
        assert [c["name"] for c in run_trace.json()["root"]["children"]] == [
            s["id"] for s in done["spec"]["steps"]
        ]
        runs = client.get(f"{API}/runs?status=succeeded", headers=auth).json()
        assert runs["total"] == 2 and {r["id"] for r in runs["items"]} == {run_id, dry_run["id"]}

        bad_inputs = client.post(workflow["links"]["runs"], json={"inputs": {}}, headers=auth)
        assert bad_inputs.status_code == 422
        assert bad_inputs.json()["code"] == "INPUT_INVALID"


def test_job_with_unplannable_request_fails_with_its_error(server: Server, tmp_path: Path) -> None:
    auth = user_headers(server, "bob")
    with httpx.Client(base_url=server.url, timeout=120) as client:
        response = client.post(
            f"{API}/generate?wait=true",
            json={"request": "Paint my house purple tomorrow.", "run_tests": False},
            headers=auth,
        )
        assert response.status_code == 200, response.text
        job = response.json()
        assert job["status"] == "failed" and job["error"]["code"]
        frames = stream(client, job["links"]["events"], auth)
        assert frames[-1] == ("end", {"job_id": job["id"], "status": "failed"}, None)
        empty = client.get(f"{API}/jobs/{job['id']}/artifacts.zip", headers=auth)
        assert empty.status_code == 404 and empty.json()["code"] == "NO_ARTIFACTS"

"""Resource semantics: idempotent run starts, If-Match versioning, search and paging, spec and
input validation, /plan, and artifact path traversal (over a real server), plus the artifact
path and zip helpers in-process."""

from __future__ import annotations

import http.client
import io
import zipfile
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from app.api.problems import ApiProblem
from app.api.routes.artifacts import iter_zip, list_files, safe_path
from tests.api_server import assert_problem
from tests.resource_helpers import API, generate, resource_server, save_workflow, user_headers

BROKEN_SPEC = 'flowwright: "1"\nname: broken\nsteps:\n  - id: check\n    tool: validate_emial\n'


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Any:
    with resource_server(tmp_path_factory.mktemp("resources")) as server:
        auth = user_headers(server, "cleo")
        with httpx.Client(base_url=server.url, timeout=60) as client:
            job = generate(client, auth)
        yield server, auth, job


@pytest.mark.slow
def test_idempotency_key_replays_and_conflicts(setup: Any) -> None:
    server, auth, job = setup
    other = user_headers(server, "dora")
    with httpx.Client(base_url=server.url, timeout=60) as client:
        workflow = save_workflow(client, auth, job["spec"], "idem")
        url = workflow["links"]["runs"]
        body = {"inputs": {"email": "x@example.com"}, "dry_run": True}
        key = {**auth, "Idempotency-Key": "run-1"}
        first = client.post(url, json=body, headers=key)
        assert first.status_code == 202, first.text
        again = client.post(url, json=body, headers=key)
        assert again.status_code == 200 and again.headers["idempotent-replayed"] == "true"
        assert again.json()["id"] == first.json()["id"]
        changed = client.post(url, json={**body, "dry_run": False}, headers=key)
        assert_problem(changed, 409, "IDEMPOTENCY_KEY_REUSED")
        fresh = client.post(url, json=body, headers={**auth, "Idempotency-Key": "run-2"})
        assert fresh.status_code == 202 and fresh.json()["id"] != first.json()["id"]
        no_key = client.post(url, json=body, headers=auth)
        assert no_key.status_code == 202 and no_key.json()["id"] != first.json()["id"]
        # Keys are per user: the same key from another user is not a replay of alice's run.
        mine = save_workflow(client, other, job["spec"], "idem")
        theirs = client.post(
            mine["links"]["runs"], json=body, headers={**other, "Idempotency-Key": "run-1"}
        )
        assert theirs.status_code == 202 and theirs.json()["id"] != first.json()["id"]


@pytest.mark.slow
def test_versions_are_immutable_and_if_match_guards_updates(setup: Any) -> None:
    server, auth, job = setup
    with httpx.Client(base_url=server.url, timeout=60) as client:
        created = client.post(
            f"{API}/workflows",
            json={"name": "versioned", "spec": job["spec"], "tags": ["a", "a"]},
            headers=auth,
        )
        assert created.status_code == 201 and created.headers["etag"] == '"1"'
        workflow = created.json()
        assert workflow["tags"] == ["a"]
        path = f"{API}/workflows/{workflow['id']}"
        spec2 = {**job["spec"], "description": "second"}
        updated = client.put(path, json={"spec": spec2}, headers={**auth, "If-Match": '"1"'})
        assert updated.status_code == 200, updated.text
        assert updated.json()["version"] == 2 and updated.headers["etag"] == '"2"'
        stale = client.put(path, json={"spec": job["spec"]}, headers={**auth, "If-Match": '"1"'})
        assert_problem(stale, 412, "VERSION_MISMATCH")
        garbage = client.put(path, json={"spec": job["spec"]}, headers={**auth, "If-Match": "x"})
        assert_problem(garbage, 412, "VERSION_MISMATCH")
        unconditional = client.put(path, json={"spec": job["spec"], "tags": ["b"]}, headers=auth)
        assert unconditional.json()["version"] == 3 and unconditional.json()["tags"] == ["b"]
        versions = client.get(f"{path}/versions", headers=auth).json()
        assert [v["version"] for v in versions["items"]] == [3, 2, 1] and versions["total"] == 3
        v1 = client.get(f"{path}/versions/1", headers=auth).json()
        v2 = client.get(f"{path}/versions/2", headers=auth).json()
        assert v1["spec"] == job["spec"] and v2["spec"]["description"] == "second"
        assert_problem(client.get(f"{path}/versions/9", headers=auth), 404)
        # An old version can still be run.
        run = client.post(
            f"{path}/runs", json={"inputs": {"email": "v@example.com"}, "version": 1}, headers=auth
        )
        assert run.status_code == 202, run.text
        taken = client.post(
            f"{API}/workflows", json={"name": "versioned", "spec": job["spec"]}, headers=auth
        )
        assert_problem(taken, 409, "WORKFLOW_NAME_TAKEN")


@pytest.mark.slow
def test_invalid_spec_is_a_422_with_diagnostics(setup: Any) -> None:
    server, auth, _job = setup
    with httpx.Client(base_url=server.url, timeout=60) as client:
        bad = client.post(
            f"{API}/workflows", json={"name": "broken", "spec": BROKEN_SPEC}, headers=auth
        )
        body = assert_problem(bad, 422, "SPEC_INVALID")
        unknown = [d for d in body["diagnostics"] if "validate_email" in (d["hint"] or "")]
        assert unknown and unknown[0]["line"] == 5
        assert client.get(f"{API}/workflows?q=broken", headers=auth).json()["total"] == 0


@pytest.mark.slow
def test_search_tags_and_paging(setup: Any) -> None:
    server, auth, job = setup
    with httpx.Client(base_url=server.url, timeout=60) as client:
        for i, tags in enumerate((["sales"], ["sales", "ops"], ["ops"])):
            save_workflow(
                client, auth, job["spec"], f"Lead_{i}", tags=tags, description=f"desc {i} 100%"
            )

        def names(query: str) -> list[str]:
            page = client.get(f"{API}/workflows?{query}", headers=auth).json()
            return [w["name"] for w in page["items"]]

        assert names("q=lead_&tag=sales") == ["Lead_1", "Lead_0"]
        assert names("tag=ops") == ["Lead_2", "Lead_1"]
        assert names("q=100%25&tag=ops&limit=1") == ["Lead_2"]
        assert names("q=lead_&limit=1&offset=1") == ["Lead_1"]
        assert names("q=lea%25d") == []  # LIKE wildcards are escaped
        assert names("tag=sale") == []
        page = client.get(f"{API}/workflows?q=lead&limit=2", headers=auth).json()
        assert page["total"] == 3 and page["limit"] == 2 and len(page["items"]) == 2
        assert_problem(client.get(f"{API}/workflows?limit=0", headers=auth), 422)


@pytest.mark.slow
def test_plan_returns_a_spec_or_the_closest_tools(setup: Any) -> None:
    server, auth, _job = setup
    with httpx.Client(base_url=server.url, timeout=60) as client:
        ok = client.post(
            f"{API}/plan", json={"request": "Check if an email is valid."}, headers=auth
        )
        assert ok.status_code == 200 and ok.json()["ok"] is True
        assert ok.json()["spec"]["steps"][0]["tool"] == "validate_email"
        nothing = client.post(f"{API}/plan", json={"request": "Paint my house."}, headers=auth)
        assert nothing.status_code == 200, nothing.text
        body = nothing.json()
        assert body["ok"] is False and body["spec"] is None
        assert (
            body["error"]["code"] == "NO_MATCHING_TOOL" and len(body["error"]["closest_tools"]) >= 1
        )
        blank = client.post(f"{API}/plan", json={"request": "  "}, headers=auth)
        assert_problem(blank, 422, "VALIDATION_FAILED")


@pytest.mark.slow
def test_artifact_traversal_is_refused(setup: Any) -> None:
    server, auth, job = setup
    base = f"{API}/jobs/{job['id']}/artifacts/"
    with httpx.Client(base_url=server.url, timeout=60) as client:
        for attack in (
            "%2e%2e/%2e%2e/etc/passwd",
            "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
            "..%2F..%2F..%2Fetc%2Fpasswd",
            "%252e%252e%252fetc%252fpasswd",
            "%2Fetc%2Fpasswd",
            "graph.py%00.txt",
            "..%5C..%5Cetc%5Cpasswd",
        ):
            response = client.get(base + attack, headers=auth)
            assert response.status_code in (400, 404), (attack, response.status_code)
            assert "root:" not in response.text
            assert response.headers["content-type"].startswith("application/problem+json")
    # Literal dot segments, sent as-is (httpx would normalise them away).
    split = urlsplit(server.url)
    conn = http.client.HTTPConnection(split.hostname, split.port, timeout=30)
    try:
        conn.request("GET", base + "../../../../../../etc/passwd", headers=auth)
        literal = conn.getresponse()
        text = literal.read().decode()
        assert literal.status in (400, 404) and "root:" not in text
    finally:
        conn.close()


@pytest.mark.slow
def test_state_conflicts_and_unknown_ids(setup: Any) -> None:
    server, auth, job = setup
    with httpx.Client(base_url=server.url, timeout=60) as client:
        assert_problem(
            client.post(f"{API}/jobs/{job['id']}/approve", headers=auth), 409, "JOB_STATE"
        )
        workflow = save_workflow(client, auth, job["spec"], "states")
        run = client.post(
            workflow["links"]["runs"], json={"inputs": {"email": "s@example.com"}}, headers=auth
        ).json()
        from tests.resource_helpers import wait_run

        assert wait_run(client, auth, run["id"])["status"] == "succeeded"
        cancel = client.post(f"{API}/runs/{run['id']}/cancel", headers=auth)
        assert_problem(cancel, 409, "RUN_STATE")
        assert_problem(client.post(f"{API}/runs/{run['id']}/approve", headers=auth), 409)
        assert_problem(client.get(f"{API}/jobs/{'f' * 32}", headers=auth), 404, "NOT_FOUND")
        assert_problem(client.get(f"{API}/runs/nope", headers=auth), 404, "NOT_FOUND")
        assert_problem(client.get(f"{API}/jobs/not-hex", headers=auth), 422)
        empty = client.post(f"{API}/generate", json={"request": "   "}, headers=auth)
        assert_problem(empty, 422, "VALIDATION_FAILED")


# --- in-process helpers ---------------------------------------------------------------------------


def test_safe_path_stays_inside_the_job_directory(tmp_path: Path) -> None:
    root = (tmp_path / "job").resolve()
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "a.txt").write_text("a")
    (tmp_path / "secret.txt").write_text("s")
    (root / "escape").symlink_to(tmp_path / "secret.txt")
    assert safe_path(root, "sub/a.txt") == root / "sub" / "a.txt"
    for bad in ("../secret.txt", "/etc/passwd", "sub/../../secret.txt", "sub\\a.txt", "", "a\0b"):
        with pytest.raises(ApiProblem) as info:
            safe_path(root, bad)
        assert info.value.status == 400, bad
    for missing in ("escape", "sub", "nope.txt"):
        with pytest.raises(ApiProblem) as info:
            safe_path(root, missing)
        assert info.value.status == 404, missing
    assert [p.name for p in list_files(root)] == ["a.txt"]


def test_zip_stream_is_a_valid_archive(tmp_path: Path) -> None:
    root = tmp_path.resolve()
    (root / "d").mkdir()
    big = bytes(range(256)) * 2048  # several chunks
    (root / "d" / "big.bin").write_bytes(big)
    (root / "workflow.yaml").write_text("name: x\n")
    chunks = list(iter_zip(root, list_files(root)))
    assert len(chunks) > 2
    with zipfile.ZipFile(io.BytesIO(b"".join(chunks))) as zf:
        assert zf.testzip() is None
        assert zf.read("d/big.bin") == big and zf.read("workflow.yaml") == b"name: x\n"

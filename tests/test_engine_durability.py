"""Durability: approvals pause and continue runs; a SIGKILLed run resumes without repeating steps."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import yaml

from app.config import get_settings
from app.engine.checkpoints import open_checkpointer
from app.engine.results import RunStatus, StepStatus
from app.engine.runner import WorkflowRunner
from app.workflow.spec import WorkflowSpec
from tests import engine_tools

ROOT = Path(__file__).resolve().parents[1]
POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _postgres_up() -> bool:
    try:
        psycopg.connect("postgresql://postgres@127.0.0.1:5432/test", connect_timeout=2).close()
        return True
    except psycopg.Error:
        return False


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    if request.param == "postgres":
        if not _postgres_up():
            pytest.skip("PostgreSQL at 127.0.0.1:5432 is not reachable")
        url = POSTGRES_URL
    else:
        url = f"sqlite:///{tmp_path / 'state.db'}"
    monkeypatch.setenv("FLOWWRIGHT_DATABASE_URL", url)
    monkeypatch.setenv("FLOWWRIGHT_HOME", str(tmp_path / "home"))
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


APPROVAL_SPEC = """
flowwright: "1"
name: approve-me
steps:
  - {id: prepare, tool: echo, params: {value: draft}}
  - id: publish
    tool: record
    approval: true
    params: {path: "PATH", text: "{{ steps.prepare.output }}"}
  - {id: done, tool: echo, params: {value: "{{ steps.publish.output.bytes }}"}}
outputs: {bytes: "{{ steps.done.output }}"}
"""


@pytest.mark.parametrize("approved", [True, False])
def test_approval_pauses_then_approve_or_reject_continues(
    database_url: str, tmp_path: Path, approved: bool
) -> None:
    target = tmp_path / "published.txt"
    spec = WorkflowSpec.model_validate(yaml.safe_load(APPROVAL_SPEC.replace("PATH", str(target))))
    run_id = uuid.uuid4().hex

    async def scenario() -> tuple[object, object]:
        async with open_checkpointer() as checkpointer:
            first = await WorkflowRunner(engine_tools.catalog(), checkpointer).run(
                spec, {}, run_id=run_id
            )
        assert not target.exists(), "nothing may be published before approval"
        async with open_checkpointer() as checkpointer:  # a new process would do the same
            runner = WorkflowRunner(engine_tools.catalog(), checkpointer)
            second = await runner.decide(spec, run_id, approved=approved, reason="looks wrong")
        return first, second

    first, second = asyncio.run(scenario())
    assert first.status is RunStatus.WAITING_APPROVAL
    assert first.waiting_for == "publish"
    if approved:
        assert second.status is RunStatus.SUCCEEDED
        assert target.read_text() == "draft\n"
        assert second.outputs == {"bytes": 6}
    else:
        steps = {s.id: s for s in second.steps}
        assert second.status is RunStatus.REJECTED
        assert steps["publish"].status is StepStatus.REJECTED
        assert steps["done"].status is StepStatus.CANCELLED
        assert not target.exists()


CRASH_SPEC = """
flowwright: "1"
name: crashy
steps:
  - {id: one, tool: nap, params: {label: one}}
  - {id: two, tool: nap, params: {label: "{{ steps.one.output.label }}-two"}}
  - {id: three, tool: wait_for_file, params: {path: "RELEASE", label: three}, depends_on: [two]}
  - {id: four, tool: nap, params: {label: four}, depends_on: [three]}
outputs: {last: "{{ steps.four.output.label }}"}
"""


def test_sigkilled_run_resumes_without_repeating_finished_steps(
    database_url: str, tmp_path: Path
) -> None:
    release = tmp_path / "release"
    spec_file = tmp_path / "crashy.yaml"
    spec_file.write_text(CRASH_SPEC.replace("RELEASE", str(release)))
    log = tmp_path / "calls.log"
    env = {**os.environ, "ENGINE_TEST_LOG": str(log)}
    run_id = uuid.uuid4().hex
    worker = [sys.executable, "-m", "tests.crash_worker"]
    proc = subprocess.Popen([*worker, "run", str(spec_file), run_id], cwd=ROOT, env=env)
    deadline = time.monotonic() + 60
    while "started:three" not in (log.read_text() if log.exists() else ""):
        assert proc.poll() is None, "worker exited before reaching step three"
        assert time.monotonic() < deadline, "worker never reached step three"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    assert log.read_text().splitlines() == ["one", "one-two", "started:three"]

    release.touch()
    out = subprocess.run(
        [*worker, "resume", str(spec_file), run_id],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["status"] == "succeeded"
    assert result["outputs"] == {"last": "four"}
    calls = log.read_text().splitlines()
    assert calls.count("one") == 1 and calls.count("one-two") == 1, calls
    assert calls[-3:] == ["started:three", "three", "four"]

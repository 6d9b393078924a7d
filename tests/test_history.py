"""Run history: real runs recorded, read back, listed, filtered and pruned (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import func, select, update

from app.config import get_settings
from app.db import history, migrate
from app.db.base import engine_for
from app.db.history import HistoryError
from app.db.models import RunRow, StepResultRow
from app.db.values import TRUNCATED_KEY
from app.engine.checkpoints import open_checkpointer
from app.engine.results import RunResult, RunStatus, StepStatus
from app.engine.runner import WorkflowRunner
from app.workflow.spec import WorkflowSpec
from tests import engine_tools
from tests.test_db_migrations import ROOT, pg_schema_url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """Settings point at a fresh database (history and checkpointer both follow them)."""
    engine_tools.reset()

    def configure(url: str) -> None:
        monkeypatch.setenv("FLOWWRIGHT_DATABASE_URL", url)
        monkeypatch.setenv("FLOWWRIGHT_HOME", str(tmp_path / "home"))
        get_settings.cache_clear()

    if request.param == "postgres":
        with pg_schema_url("fw_hist") as url:
            configure(url)
            yield url
    else:
        url = f"sqlite:///{tmp_path / 'state.db'}"
        configure(url)
        yield url
        engine_for(url).dispose()
        migrate.forget_ensured(url)
    get_settings.cache_clear()


def spec(text: str) -> WorkflowSpec:
    return WorkflowSpec.model_validate(yaml.safe_load(text))


MIXED = spec(
    """
    flowwright: "1"
    name: mixed
    inputs: {who: {type: string}, go: {type: boolean, required: false, default: false}}
    steps:
      - {id: greet, tool: nap, params: {label: "{{ inputs.who }}"}}
      - {id: gated, tool: nap, when: "{{ inputs.go }}", params: {label: never}}
      - {id: retried, tool: flaky, params: {key: k1, failures: 2}, retry: {max_attempts: 3, backoff_s: 0, jitter: false}}
      - {id: shout, tool: echo, params: {value: "{{ steps.greet.output }}"}}
    outputs: {label: "{{ steps.shout.output.label }}", tries: "{{ steps.retried.output }}"}
    """
)

APPROVAL = spec(
    """
    flowwright: "1"
    name: approve-me
    steps:
      - {id: prepare, tool: echo, params: {value: draft}}
      - {id: publish, tool: echo, approval: true, params: {value: "{{ steps.prepare.output }}"}}
    outputs: {published: "{{ steps.publish.output }}"}
    """
)

FAILING = spec(
    """
    flowwright: "1"
    name: failing
    steps:
      - {id: broken, tool: flaky, params: {key: bad, failures: 5, kind: input}}
      - {id: after, tool: echo, params: {value: "{{ steps.broken.output }}"}}
    """
)


def execute(
    workflow: WorkflowSpec,
    inputs: dict[str, Any] | None = None,
    runner: WorkflowRunner | None = None,
    **started: Any,
) -> RunResult:
    """Record, run for real, record the result: what the CLI and API do."""
    runner = runner or WorkflowRunner(engine_tools.catalog())
    run_id = uuid.uuid4().hex
    history.record_started(run_id, workflow, inputs or {}, dry_run=False, **started)
    result = asyncio.run(runner.run(workflow, inputs or {}, run_id=run_id))
    history.record_result(result)
    return result


def set_created(run_id: str, when: datetime) -> None:
    with engine_for(get_settings().resolved_database_url).begin() as conn:
        conn.execute(update(RunRow).where(RunRow.id == run_id).values(created_at=when))


def step_row_count(run_id: str) -> int:
    with engine_for(get_settings().resolved_database_url).connect() as conn:
        query = select(func.count()).where(StepResultRow.run_id == run_id)
        return conn.execute(query).scalar_one()


def test_round_trip_of_a_real_run(db: str) -> None:
    run_id = uuid.uuid4().hex
    history.record_started(
        run_id, MIXED, {"who": "ada"}, dry_run=False, batch_id="b1", owner_id="alice", trace_id="t1"
    )
    pending = history.get_run(run_id)
    assert pending is not None and pending.status is RunStatus.RUNNING and pending.steps == []

    runner = WorkflowRunner(engine_tools.catalog())
    result = asyncio.run(runner.run(MIXED, {"who": "ada"}, run_id=run_id))
    assert result.status is RunStatus.SUCCEEDED
    history.record_result(result)

    record = history.get_run(run_id)
    assert record is not None
    assert (record.workflow, record.batch_id, record.owner_id) == ("mixed", "b1", "alice")
    # the run's own trace replaces the id given at start
    assert record.trace_id == (result.trace_id or "t1")
    assert record.spec == MIXED and record.spec_hash == history.spec_hash(MIXED)
    assert record.inputs == {"who": "ada", "go": False}  # the prepared inputs, defaults included
    assert record.outputs == {"label": "ada", "tries": "ok after 3"}
    assert [s.id for s in record.steps] == ["greet", "gated", "retried", "shout"]
    assert [s.position for s in record.steps] == [0, 1, 2, 3]
    by_id = {s.id: s for s in record.steps}
    assert by_id["gated"].status is StepStatus.SKIPPED and "when" in (by_id["gated"].reason or "")
    assert by_id["retried"].attempts == 3
    assert by_id["greet"].output == {"label": "ada", "n": 3}
    assert by_id["greet"].duration_ms is not None and by_id["greet"].duration_ms >= 0
    assert record.step_counts == {"succeeded": 3, "skipped": 1}
    assert record.created_at.tzinfo is not None and record.finished_at is not None
    assert record.duration_ms is not None and record.duration_ms >= 0
    # The stored run reads back as the engine reported it.
    restored = record.to_result()
    assert restored.steps == result.steps
    assert (restored.status, restored.outputs, restored.inputs) == (
        result.status,
        result.outputs,
        result.inputs,
    )


def test_failed_run_keeps_errors_and_cancelled_steps(db: str) -> None:
    result = execute(FAILING)
    record = history.get_run(result.run_id)
    assert record is not None and record.status is RunStatus.FAILED
    assert record.error is not None and record.error["code"] == "TOOL_INPUT"
    broken = record.steps[0]
    assert broken.status is StepStatus.FAILED and broken.error is not None
    assert broken.error["message"] == "bad argument" and broken.output is None
    assert record.steps[1].status is StepStatus.CANCELLED
    assert record.finished_at is not None


def test_approval_from_history_alone_and_idempotent_updates(db: str) -> None:
    result = execute(APPROVAL, owner_id="alice")
    assert result.status is RunStatus.WAITING_APPROVAL
    waiting = history.get_run(result.run_id)
    assert waiting is not None and waiting.status is RunStatus.WAITING_APPROVAL
    assert waiting.waiting_for == "publish" and waiting.finished_at is None

    # A fresh runner approves using only what history stored (the spec), like the API would.
    async def approve() -> RunResult:
        async with open_checkpointer() as saver:
            first = WorkflowRunner(engine_tools.catalog(), saver)
            run_id = uuid.uuid4().hex
            history.record_started(run_id, APPROVAL, {}, dry_run=False)
            history.record_result(await first.run(APPROVAL, {}, run_id=run_id))
            stored = history.get_run(run_id)
            assert stored is not None
            second = WorkflowRunner(engine_tools.catalog(), saver)
            return await second.decide(stored.spec, run_id, approved=True)

    done = asyncio.run(approve())
    history.record_result(done)
    history.record_result(done)  # recording twice changes nothing
    record = history.get_run(done.run_id)
    assert record is not None and record.status is RunStatus.SUCCEEDED
    assert record.waiting_for is None and record.finished_at is not None
    assert record.outputs == {"published": "draft"}
    assert [s.id for s in record.steps] == ["prepare", "publish"]
    assert step_row_count(done.run_id) == 2


def test_huge_outputs_are_capped_with_a_marker(db: str) -> None:
    blob = "x" * 1_100_000  # a literal param: expressions refuse results this large
    huge = WorkflowSpec.model_validate(
        {
            "flowwright": "1",
            "name": "huge",
            "steps": [
                {"id": "big", "tool": "echo", "params": {"value": blob}},
                {"id": "small", "tool": "echo", "params": {"value": "tiny"}},
            ],
        }
    )
    result = execute(huge)
    assert result.status is RunStatus.SUCCEEDED and result.steps[0].output == blob
    record = history.get_run(result.run_id)
    assert record is not None
    big, small = record.steps
    assert big.output_truncated and big.output[TRUNCATED_KEY] is True
    assert big.output["bytes"] == len(blob) + 2 and big.output["preview"].startswith('"xxx')
    assert not small.output_truncated and small.output == "tiny"

    # Run outputs are capped per output name the same way.
    history.record_result(result.model_copy(update={"outputs": {"big": blob, "small": 1}}))
    record = history.get_run(result.run_id)
    assert record is not None
    assert record.outputs["big"][TRUNCATED_KEY] is True and record.outputs["small"] == 1


def test_list_filters_pagination_and_step_counts(db: str) -> None:
    base = datetime(2030, 1, 1, tzinfo=UTC)
    ids = []
    for i, (workflow, owner, inputs) in enumerate(
        [
            (MIXED, "alice", {"who": "a"}),
            (FAILING, "alice", {}),
            (MIXED, "bob", {"who": "b"}),
            (APPROVAL, "bob", {}),
            (MIXED, None, {"who": "c"}),
        ]
    ):
        engine_tools.flaky_calls.clear()
        result = execute(workflow, inputs, owner_id=owner, batch_id="batch" if i < 2 else None)
        set_created(result.run_id, base + timedelta(minutes=i))
        ids.append(result.run_id)

    newest_first = [r.id for r in history.list_runs()]
    assert newest_first == ids[::-1]
    page = history.list_runs(limit=2, offset=1)
    assert [r.id for r in page] == [ids[3], ids[2]]
    assert history.list_runs(limit=2, offset=10) == []

    assert [r.id for r in history.list_runs(status="failed")] == [ids[1]]
    assert [r.id for r in history.list_runs(status=RunStatus.WAITING_APPROVAL)] == [ids[3]]
    assert [r.id for r in history.list_runs(workflow="mixed")] == [ids[4], ids[2], ids[0]]
    assert [r.id for r in history.list_runs(owner_id="alice")] == [ids[1], ids[0]]
    assert [r.id for r in history.list_runs(batch_id="batch")] == [ids[1], ids[0]]
    both = history.list_runs(owner_id="bob", workflow="mixed")
    assert [r.id for r in both] == [ids[2]]
    assert history.count_runs() == 5 and history.count_runs(owner_id="bob") == 2

    summary = {r.id: r for r in history.list_runs()}
    assert summary[ids[0]].step_counts == {"succeeded": 3, "skipped": 1}
    assert summary[ids[1]].step_counts == {"failed": 1, "cancelled": 1}
    assert summary[ids[3]].step_counts == {"succeeded": 1}
    assert summary[ids[3]].duration_ms is None and summary[ids[0]].duration_ms is not None
    assert summary[ids[0]].created_at == base

    with pytest.raises(ValueError):
        history.list_runs(status="exploded")
    with pytest.raises(ValueError):
        history.list_runs(limit=0)
    with pytest.raises(ValueError):
        history.list_runs(offset=-1)


def test_owner_scoping(db: str) -> None:
    mine = execute(MIXED, {"who": "a"}, owner_id="alice")
    assert history.get_run(mine.run_id, owner_id="alice") is not None
    assert history.get_run(mine.run_id, owner_id="bob") is None
    assert history.get_run(mine.run_id) is not None  # no owner given: operator/CLI view
    assert history.list_runs(owner_id="bob") == []
    assert history.get_run("does-not-exist") is None


def test_duplicate_start_and_unknown_result_are_clear_errors(db: str) -> None:
    result = execute(MIXED, {"who": "a"})
    with pytest.raises(HistoryError) as err:
        history.record_started(result.run_id, MIXED, {}, dry_run=False)
    assert err.value.code == "RUN_EXISTS"
    with pytest.raises(HistoryError) as err:
        history.record_result(result.model_copy(update={"run_id": "never-started"}))
    assert err.value.code == "RUN_NOT_FOUND"


def test_prune_deletes_old_finished_runs_and_their_checkpoints(db: str) -> None:
    config = lambda run_id: {"configurable": {"thread_id": run_id}}  # noqa: E731
    old = datetime.now(UTC) - timedelta(days=40)

    async def scenario() -> None:
        async with open_checkpointer() as saver:
            runner = WorkflowRunner(engine_tools.catalog(), saver)

            async def start(workflow: WorkflowSpec, inputs: dict[str, Any]) -> RunResult:
                run_id = uuid.uuid4().hex
                history.record_started(run_id, workflow, inputs, dry_run=False)
                result = await runner.run(workflow, inputs, run_id=run_id)
                history.record_result(result)
                return result

            old_ok = await start(MIXED, {"who": "old"})
            old_failed = await start(FAILING, {})
            old_waiting = await start(APPROVAL, {})
            recent = await start(MIXED, {"who": "new"})
            old_running = uuid.uuid4().hex  # started, never finished (e.g. the worker died)
            history.record_started(old_running, MIXED, {"who": "x"}, dry_run=False)
            for run_id in (old_ok.run_id, old_failed.run_id, old_waiting.run_id, old_running):
                set_created(run_id, old)
            steps_before = step_row_count(old_ok.run_id) + step_row_count(old_failed.run_id)
            assert steps_before == 6
            assert await saver.aget_tuple(config(old_ok.run_id)) is not None

            report = await history.prune(older_than=timedelta(days=30), checkpointer=saver)
            assert (report.runs, report.steps, report.checkpoints) == (2, 6, 2)

            for gone in (old_ok.run_id, old_failed.run_id):
                assert history.get_run(gone) is None
                assert step_row_count(gone) == 0
                assert await saver.aget_tuple(config(gone)) is None
            for kept in (recent.run_id, old_waiting.run_id):
                assert history.get_run(kept) is not None
                assert await saver.aget_tuple(config(kept)) is not None
            kept_running = history.get_run(old_running)
            assert kept_running is not None and kept_running.status is RunStatus.RUNNING

            # The kept waiting run still works end to end after the prune.
            approved = await runner.decide(APPROVAL, old_waiting.run_id, approved=True)
            assert approved.status is RunStatus.SUCCEEDED

            again = await history.prune(older_than=timedelta(days=30), checkpointer=saver)
            assert (again.runs, again.steps, again.checkpoints) == (0, 0, 0)

    asyncio.run(scenario())


def test_prune_without_checkpointer_and_cutoff_boundaries(db: str) -> None:
    result = execute(MIXED, {"who": "a"})
    now = datetime.now(UTC)
    set_created(result.run_id, now - timedelta(days=10))
    kept = asyncio.run(history.prune(older_than=timedelta(days=11), now=now))
    assert kept.runs == 0 and history.get_run(result.run_id) is not None
    pruned = asyncio.run(history.prune(older_than=timedelta(days=9), now=now))
    assert (pruned.runs, pruned.steps, pruned.checkpoints) == (1, 4, 0)
    assert pruned.cutoff == now - timedelta(days=9)
    assert history.get_run(result.run_id) is None
    with pytest.raises(ValueError):
        asyncio.run(history.prune(older_than=timedelta(days=-1)))


def test_history_is_unavailable_error_when_the_database_is_down(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = "postgresql+psycopg://postgres:pw@127.0.0.1:1/test"
    with pytest.raises(migrate.DatabaseUnavailableError):
        history.list_runs(url=url)


def test_importing_history_does_not_import_alembic() -> None:
    code = (
        "import sys, app.db.history; "
        "bad = [m for m in sys.modules if m.split('.')[0] == 'alembic']; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)

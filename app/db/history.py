"""Run history: what the CLI and API list, inspect, approve from, and prune.

The checkpointer holds a run's graph state; this module keeps the queryable record beside it: the
full spec (so a run can be resumed or approved from history alone), inputs, status, outputs and
one row per step. Every function migrates the database on first use (`ensure_schema`, once per
process) and takes an optional `url` (default: Settings). Functions are synchronous except
`prune`, which awaits the checkpointer and runs its database work in a thread.

Stored values are capped: each step output and each run output is kept up to
`values.MAX_STORED_JSON_BYTES` (1 MB) of JSON; beyond that a marker `{"$truncated": true,
"bytes": n, "preview": "..."}` is stored instead (the full value stays in the checkpoint).
"""

from __future__ import annotations

import asyncio
import hashlib
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import Select, delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import defer, selectinload

from app.db.base import utcnow
from app.db.models import RunRow, StepResultRow
from app.db.sessions import state_session as _session
from app.db.values import as_utc, capped_json, is_truncated, to_json_value
from app.engine.results import RunResult, RunStatus, StepError, StepResult, StepStatus
from app.errors import FlowwrightError
from app.workflow.spec import WorkflowSpec

MAX_LIST_LIMIT = 500
FINISHED_RUN = frozenset({RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.REJECTED})


class HistoryError(FlowwrightError):
    code = "HISTORY_ERROR"


class StoredStep(BaseModel):
    """A step's latest stored result (a `StepResult` plus position, timestamps, truncation)."""

    id: str
    tool: str
    position: int
    status: StepStatus
    attempts: int = 0
    started_at: datetime | None = None
    finished_at: datetime | None = None
    duration_ms: float | None = None
    error: StepError | None = None
    output: Any = None
    output_truncated: bool = False
    reason: str | None = None
    item_errors: list[StepError | None] | None = None

    def to_step_result(self) -> StepResult:
        return StepResult.model_validate(self.model_dump(include=set(StepResult.model_fields)))


class RunSummary(BaseModel):
    """One line of `runs list`: no spec, inputs or outputs."""

    id: str
    workflow: str
    status: RunStatus
    dry_run: bool
    batch_id: str | None = None
    owner_id: str | None = None
    waiting_for: str | None = None
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    duration_ms: float | None = None
    step_counts: dict[str, int] = Field(default_factory=dict)


class RunRecord(RunSummary):
    """Everything stored about a run: enough to show, resume or approve it from history alone."""

    spec: WorkflowSpec
    spec_hash: str
    trace_id: str | None = None
    inputs: dict[str, Any] = Field(default_factory=dict)
    outputs: dict[str, Any] = Field(default_factory=dict)
    error: StepError | None = None
    steps: list[StoredStep] = Field(default_factory=list)

    def to_result(self) -> RunResult:
        """The stored run as the engine reports runs (outputs may carry truncation markers)."""
        steps = [s.to_step_result() for s in self.steps]
        return RunResult(
            run_id=self.id,
            workflow=self.workflow,
            status=self.status,
            dry_run=self.dry_run,
            inputs=self.inputs,
            steps=steps,
            outputs=self.outputs,
            simulated_steps=[s.id for s in steps if s.status is StepStatus.SIMULATED],
            waiting_for=self.waiting_for,
            error=self.error,
            started_at=self.started_at,
            finished_at=self.finished_at,
        )


class PruneReport(BaseModel):
    cutoff: datetime
    runs: int = 0
    steps: int = 0
    checkpoints: int = 0  # threads passed to `adelete_thread`


def spec_hash(spec: WorkflowSpec) -> str:
    """The hash the runner also keys compiled graphs by (canonical compact JSON)."""
    return hashlib.sha256(spec.to_json(indent=None).encode()).hexdigest()


def _duration_ms(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return round((as_utc(end) - as_utc(start)).total_seconds() * 1000, 3)  # type: ignore[operator]


def record_started(
    run_id: str,
    spec: WorkflowSpec,
    inputs: dict[str, Any],
    *,
    dry_run: bool,
    batch_id: str | None = None,
    owner_id: str | None = None,
    trace_id: str | None = None,
    url: str | None = None,
) -> None:
    """Record a run before it starts, so a crash mid-run still leaves it listed (as running)."""
    now = utcnow()
    row = RunRow(
        id=run_id,
        workflow=spec.name,
        spec_json=spec.to_data(),
        spec_hash=spec_hash(spec),
        inputs_json=to_json_value(inputs),
        status=RunStatus.RUNNING.value,
        dry_run=dry_run,
        batch_id=batch_id,
        owner_id=owner_id,
        trace_id=trace_id,
        created_at=now,
        started_at=now,
    )
    try:
        with _session(url) as session:
            session.add(row)
            session.flush()
    except IntegrityError as exc:
        raise HistoryError(
            f"run {run_id} is already recorded",
            code="RUN_EXISTS",
            hint="Use a new run id, or record_result() to update an existing run.",
        ) from exc


def record_result(result: RunResult, *, url: str | None = None) -> None:
    """Upsert the run's status, outputs, error and step rows; safe to call after every resume."""
    with _session(url) as session:
        row = session.scalars(
            select(RunRow)
            .where(RunRow.id == result.run_id)
            .options(selectinload(RunRow.steps))
            .with_for_update()
        ).one_or_none()
        if row is None:
            raise HistoryError(
                f"run {result.run_id} was never recorded",
                code="RUN_NOT_FOUND",
                hint="Call record_started() before the run starts.",
            )
        row.status = result.status.value
        if result.inputs:
            row.inputs_json = to_json_value(result.inputs)
        row.outputs_json = {k: capped_json(v)[0] for k, v in result.outputs.items()} or None
        row.error_json = to_json_value(result.error) if result.error else None
        row.waiting_for = result.waiting_for
        row.trace_id = result.trace_id or row.trace_id
        row.started_at = row.started_at or as_utc(result.started_at)
        finished = result.status in FINISHED_RUN
        row.finished_at = (as_utc(result.finished_at) or utcnow()) if finished else None
        positions = {s.get("id"): i for i, s in enumerate(row.spec_json.get("steps", []))}
        existing = {s.step_id: s for s in row.steps}
        for index, step in enumerate(result.steps):
            target = existing.get(step.id)
            if target is None:
                target = StepResultRow(step_id=step.id)
                row.steps.append(target)
            _fill_step(target, step, positions.get(step.id, index))


def _fill_step(target: StepResultRow, step: StepResult, position: int) -> None:
    target.tool = step.tool
    target.position = position
    target.status = step.status.value
    target.attempts = step.attempts
    target.started_at = as_utc(step.started_at)
    target.finished_at = as_utc(step.finished_at)
    target.duration_ms = step.duration_ms
    target.error_json = to_json_value(step.error) if step.error else None
    target.item_errors_json = to_json_value(step.item_errors) if step.item_errors else None
    target.output_json = capped_json(step.output)[0]
    target.reason = step.reason


def _stored_step(row: StepResultRow) -> StoredStep:
    return StoredStep(
        id=row.step_id,
        tool=row.tool,
        position=row.position,
        status=StepStatus(row.status),
        attempts=row.attempts,
        started_at=as_utc(row.started_at),
        finished_at=as_utc(row.finished_at),
        duration_ms=row.duration_ms,
        error=row.error_json,
        output=row.output_json,
        output_truncated=is_truncated(row.output_json),
        reason=row.reason,
        item_errors=row.item_errors_json,
    )


def _summary_fields(row: RunRow) -> dict[str, Any]:
    started, finished = as_utc(row.started_at), as_utc(row.finished_at)
    return {
        "id": row.id,
        "workflow": row.workflow,
        "status": RunStatus(row.status),
        "dry_run": row.dry_run,
        "batch_id": row.batch_id,
        "owner_id": row.owner_id,
        "waiting_for": row.waiting_for,
        "created_at": as_utc(row.created_at),
        "started_at": started,
        "finished_at": finished,
        "duration_ms": _duration_ms(started, finished),
    }


def get_run(
    run_id: str, *, owner_id: str | None = None, url: str | None = None
) -> RunRecord | None:
    """The stored run, or None when unknown or (with `owner_id`) owned by someone else."""
    query = select(RunRow).where(RunRow.id == run_id).options(selectinload(RunRow.steps))
    if owner_id is not None:
        query = query.where(RunRow.owner_id == owner_id)
    with _session(url) as session:
        row = session.scalars(query).one_or_none()
        if row is None:
            return None
        steps = [_stored_step(s) for s in row.steps]
        counts: dict[str, int] = {}
        for step in steps:
            counts[step.status.value] = counts.get(step.status.value, 0) + 1
        return RunRecord(
            **_summary_fields(row),
            step_counts=counts,
            spec=WorkflowSpec.model_validate(row.spec_json),
            spec_hash=row.spec_hash,
            trace_id=row.trace_id,
            inputs=row.inputs_json or {},
            outputs=row.outputs_json or {},
            error=row.error_json,
            steps=steps,
        )


def _filtered(
    query: Select[Any],
    status: str | None,
    workflow: str | None,
    owner_id: str | None,
    batch_id: str | None,
) -> Select[Any]:
    if status is not None:
        query = query.where(RunRow.status == RunStatus(status).value)  # ValueError if unknown
    if workflow is not None:
        query = query.where(RunRow.workflow == workflow)
    if owner_id is not None:
        query = query.where(RunRow.owner_id == owner_id)
    if batch_id is not None:
        query = query.where(RunRow.batch_id == batch_id)
    return query


def list_runs(
    *,
    limit: int = 20,
    offset: int = 0,
    status: str | None = None,
    workflow: str | None = None,
    owner_id: str | None = None,
    batch_id: str | None = None,
    url: str | None = None,
) -> list[RunSummary]:
    """Runs newest first; `owner_id=None` means every owner (the CLI), the API always passes one."""
    if not 1 <= limit <= MAX_LIST_LIMIT:
        raise ValueError(f"limit must be between 1 and {MAX_LIST_LIMIT}")
    if offset < 0:
        raise ValueError("offset must not be negative")
    heavy = (RunRow.spec_json, RunRow.inputs_json, RunRow.outputs_json, RunRow.error_json)
    query = _filtered(select(RunRow), status, workflow, owner_id, batch_id)
    query = (
        query.options(*(defer(c) for c in heavy))
        .order_by(RunRow.created_at.desc(), RunRow.id.desc())
        .limit(limit)
        .offset(offset)
    )
    with _session(url) as session:
        rows = session.scalars(query).all()
        counts: dict[str, dict[str, int]] = {row.id: {} for row in rows}
        if rows:
            grouped = session.execute(
                select(StepResultRow.run_id, StepResultRow.status, func.count())
                .where(StepResultRow.run_id.in_(list(counts)))
                .group_by(StepResultRow.run_id, StepResultRow.status)
            )
            for run_id, step_status, n in grouped:
                counts[run_id][step_status] = n
        return [RunSummary(**_summary_fields(r), step_counts=counts[r.id]) for r in rows]


def count_runs(
    *,
    status: str | None = None,
    workflow: str | None = None,
    owner_id: str | None = None,
    batch_id: str | None = None,
    url: str | None = None,
) -> int:
    """How many runs match the `list_runs` filters (for pagination totals)."""
    query = select(func.count()).select_from(RunRow)
    query = _filtered(query, status, workflow, owner_id, batch_id)
    with _session(url) as session:
        return int(session.scalar(query) or 0)


def _prunable(cutoff: datetime) -> Any:
    return (RunRow.status.in_([s.value for s in FINISHED_RUN])) & (RunRow.created_at < cutoff)


def _prunable_ids(url: str | None, cutoff: datetime, batch: int) -> list[str]:
    with _session(url) as session:
        query = select(RunRow.id).where(_prunable(cutoff)).order_by(RunRow.created_at).limit(batch)
        return list(session.scalars(query))


def _delete_runs(url: str | None, ids: list[str], cutoff: datetime) -> tuple[int, int]:
    """Delete step rows, then runs (explicitly, not relying on SQLite honouring the cascade)."""
    with _session(url) as session:
        doomed = select(RunRow.id).where(RunRow.id.in_(ids), _prunable(cutoff))
        steps = session.execute(delete(StepResultRow).where(StepResultRow.run_id.in_(doomed)))
        runs = session.execute(delete(RunRow).where(RunRow.id.in_(ids), _prunable(cutoff)))
        return runs.rowcount, steps.rowcount  # type: ignore[attr-defined]


async def prune(
    *,
    older_than: timedelta,
    checkpointer: Any = None,
    now: datetime | None = None,
    batch_size: int = 500,
    url: str | None = None,
) -> PruneReport:
    """Delete finished runs created before `now - older_than`, their steps and checkpoints.

    Running and waiting_approval runs are never touched. Checkpoints go first, rows second, so a
    failure leaves rows behind for the next prune rather than orphaned checkpoints.
    """
    if older_than < timedelta(0):
        raise ValueError("older_than must not be negative")
    cutoff = (as_utc(now) or utcnow()) - older_than
    report = PruneReport(cutoff=cutoff)
    while ids := await asyncio.to_thread(_prunable_ids, url, cutoff, batch_size):
        if checkpointer is not None:
            for run_id in ids:
                await checkpointer.adelete_thread(run_id)
                report.checkpoints += 1
        runs, steps = await asyncio.to_thread(_delete_runs, url, ids, cutoff)
        report.runs += runs
        report.steps += steps
        if runs == 0:  # nothing matched any more: never spin
            break
    return report

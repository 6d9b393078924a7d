"""Generation jobs for the API: rows and events in the database, work in a background task.

A job row is written before its task starts and its progress events are appended as the agent
graph emits them, so any worker can list a job, stream its events (by polling `job_events`) and
serve its artifacts. The task itself lives in the process that accepted the request; approving
a waiting job continues it from the shared checkpoint, so that may happen on any worker.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from pydantic import BaseModel, Field
from sqlalchemy import func, select, update

from agents.service import GenerationResult, agenerate_workflow, aresume_job
from app.config import get_settings
from app.db.base import utcnow
from app.db.sessions import state_session as _session
from app.db.values import as_utc, to_json_value
from app.db.workflow_models import JobEventRow, JobRow
from app.errors import FlowwrightError
from app.tools.registry import Catalog
from app.workflow.diagnostics import Diagnostic

log = logging.getLogger("flowwright.api.jobs")
ACTIVE = frozenset({"queued", "running"})
_DONE = object()


class JobOptions(BaseModel):
    planner: str = "rules"
    execute: bool = False
    approve: bool = False
    inputs: dict[str, Any] = Field(default_factory=dict)
    run_tests: bool = True


class Job(BaseModel):
    """What the API reports about a job (the generator's result once it has one)."""

    id: str
    owner_id: str
    status: str = Field(
        description="queued | running | succeeded | failed | rejected | waiting_approval | "
        "interrupted"
    )
    request: str
    options: JobOptions
    spec: dict[str, Any] | None = None
    diagnostics: list[Diagnostic] = Field(default_factory=list)
    checks: list[dict[str, Any]] = Field(default_factory=list)
    artifacts: list[str] = Field(default_factory=list)
    run: dict[str, Any] | None = None
    approval: dict[str, Any] | None = None
    notes: list[str] = Field(default_factory=list)
    error: dict[str, Any] | None = None
    trace_id: str | None = None
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None


class JobEvent(BaseModel):
    id: int
    kind: str
    node: str | None = None
    data: dict[str, Any]


def _job(row: JobRow) -> Job:
    return Job(
        id=row.id,
        owner_id=row.owner_id,
        status=row.status,
        request=row.request,
        options=JobOptions.model_validate(row.options_json),
        spec=row.spec_json,
        diagnostics=row.diagnostics_json or [],
        checks=row.checks_json or [],
        artifacts=row.artifacts_json or [],
        run=row.run_json,
        approval=row.approval_json,
        notes=row.notes_json or [],
        error=row.error_json,
        trace_id=row.trace_id,
        created_at=as_utc(row.created_at),
        started_at=as_utc(row.started_at),
        finished_at=as_utc(row.finished_at),
    )


def create_job(url: str, *, owner_id: str, request: str, options: JobOptions) -> Job:
    row = JobRow(
        id=uuid.uuid4().hex,
        owner_id=owner_id,
        status="queued",
        request=request,
        options_json=options.model_dump(mode="json"),
        created_at=utcnow(),
    )
    with _session(url) as session:
        session.add(row)
    return _job(row)


def get_job(url: str, job_id: str) -> Job | None:
    """The job whoever owns it (callers check ownership so a foreign job looks missing)."""
    with _session(url) as session:
        row = session.get(JobRow, job_id)
        if row is None:
            return None
        job, lost = _job(row), _lost([row])
    return _recorded_lost(url, [job], lost)[0]


def _lost(rows: list[JobRow]) -> dict[str, datetime]:
    """Ids of queued or running jobs whose worker has died (stale heartbeat), with the cutoff."""
    cutoff = utcnow() - timedelta(seconds=get_settings().job_lost_after_s)
    lost = {}
    for row in rows:
        alive = as_utc(row.heartbeat_at or row.started_at or row.created_at)
        if row.status in ACTIVE and alive is not None and alive < cutoff:
            lost[row.id] = cutoff
    return lost


def _recorded_lost(url: str, jobs: list[Job], lost: dict[str, datetime]) -> list[Job]:
    """`jobs`, with the lost ones recorded as such and shown as they now are."""
    if not lost:
        return jobs
    for job_id, cutoff in lost.items():
        mark_lost(url, job_id, cutoff)
    with _session(url) as session:
        fresh = {r.id: _job(r) for r in session.scalars(select(JobRow).where(JobRow.id.in_(lost)))}
    return [fresh.get(j.id, j) for j in jobs]


def mark_lost(url: str, job_id: str, cutoff: datetime) -> bool:
    """Record that a job's worker died: `interrupted` when it had started (approving it
    continues it from its checkpoint), `failed` when it never did. A compare-and-set on the
    status and the stale heartbeat, so a live worker's job is never touched."""
    alive = func.coalesce(JobRow.heartbeat_at, JobRow.started_at, JobRow.created_at)
    stale = (JobRow.id == job_id, JobRow.status.in_(ACTIVE), alive < cutoff)
    message = "the server running this job stopped without finishing it"
    interrupted = {
        "code": "JOB_LOST", "message": message,
        "hint": f"POST /api/v1/jobs/{job_id}/approve continues it from its last step.",
    }  # fmt: skip
    never = {"code": "JOB_LOST", "message": message + " (it never started)",
             "hint": "Submit the request again with POST /api/v1/generate."}  # fmt: skip
    now = utcnow()
    with _session(url) as session:
        done = session.execute(
            update(JobRow)
            .where(*stale, JobRow.started_at.is_not(None))
            .values(status="interrupted", error_json=interrupted, finished_at=now)
        ).rowcount  # type: ignore[attr-defined]
        done += session.execute(
            update(JobRow)
            .where(*stale, JobRow.started_at.is_(None))
            .values(status="failed", error_json=never, finished_at=now)
        ).rowcount  # type: ignore[attr-defined]
    return bool(done)


def beat(url: str, job_id: str) -> None:
    """The running job's worker is alive (see `job_lost_after_s`)."""
    with _session(url) as session:
        session.execute(update(JobRow).where(JobRow.id == job_id).values(heartbeat_at=utcnow()))


def list_jobs(
    url: str, *, owner_id: str | None, status: str | None, limit: int, offset: int
) -> tuple[list[Job], int]:
    query = select(JobRow)
    if owner_id is not None:
        query = query.where(JobRow.owner_id == owner_id)
    if status is not None:
        query = query.where(JobRow.status == status)
    with _session(url) as session:
        total = session.scalar(select(func.count()).select_from(query.subquery()))
        rows = session.scalars(
            query.order_by(JobRow.created_at.desc(), JobRow.id.desc()).limit(limit).offset(offset)
        ).all()
        jobs, lost = [_job(r) for r in rows], _lost(list(rows))
    return _recorded_lost(url, jobs, lost), int(total or 0)


def events_after(url: str, job_id: str, after_id: int, limit: int = 500) -> list[JobEvent]:
    with _session(url) as session:
        rows = session.scalars(
            select(JobEventRow)
            .where(JobEventRow.job_id == job_id, JobEventRow.id > after_id)
            .order_by(JobEventRow.id)
            .limit(limit)
        ).all()
        return [JobEvent(id=r.id, kind=r.kind, node=r.node, data=r.data_json) for r in rows]


def add_event(url: str, job_id: str, event: dict[str, Any]) -> None:
    data = to_json_value(event)
    node = data.get("node") if isinstance(data.get("node"), str) else None
    with _session(url) as session:
        session.add(
            JobEventRow(
                job_id=job_id,
                kind=str(data.get("event") or "event")[:64],
                node=node[:64] if node else None,
                data_json=data,
                created_at=utcnow(),
            )
        )


def set_status(url: str, job_id: str, status: str, *, only_from: set[str] | None = None) -> bool:
    """Set the status (optionally only from given statuses: a compare-and-set); True if set."""
    values: dict[str, Any] = {"status": status}
    if status == "running":
        values["finished_at"] = None
        values["heartbeat_at"] = utcnow()  # whoever sets running runs it from now on
    query = update(JobRow).where(JobRow.id == job_id)
    if only_from is not None:
        query = query.where(JobRow.status.in_(only_from))
    with _session(url) as session:
        return bool(session.execute(query.values(**values)).rowcount)  # type: ignore[attr-defined]


def save_result(url: str, job_id: str, result: GenerationResult) -> None:
    with _session(url) as session:
        row = session.get(JobRow, job_id)
        if row is None:
            return
        row.status = result.status
        row.spec_json = result.spec.to_data() if result.spec is not None else None
        row.diagnostics_json = to_json_value(result.diagnostics)
        row.checks_json = to_json_value(result.checks)
        row.artifacts_json = list(result.artifacts)
        row.run_json = to_json_value(result.run) if result.run is not None else None
        row.approval_json = to_json_value(result.approval) if result.approval else None
        row.notes_json = list(result.notes)
        row.error_json = to_json_value(result.error) if result.error else None
        row.trace_id = result.trace_id or row.trace_id  # a resume keeps the first trace if none
        row.finished_at = None if result.status == "waiting_approval" else utcnow()


def save_failure(url: str, job_id: str, status: str, error: dict[str, Any]) -> None:
    with _session(url) as session:
        row = session.get(JobRow, job_id)
        if row is not None:
            row.status, row.error_json, row.finished_at = status, error, utcnow()


def job_dir(home: Path, job_id: str) -> Path:
    """Where a job's artifacts are written (and the only place they are served from)."""
    return (home / "jobs" / job_id).resolve()


class JobRunner:
    """Runs generation jobs as background coroutines with events persisted in order."""

    def __init__(self, url: str, home: Path, catalog: Catalog, checkpointer: BaseCheckpointSaver):
        self.url = url
        self.home = home
        self.catalog = catalog
        self.checkpointer = checkpointer

    async def generate(self, job: Job) -> None:
        """Run the job to its end (or its approval pause) and store the result."""
        await asyncio.to_thread(self._mark_running, job.id)
        opts = job.options
        await self._drive(
            job.id,
            lambda sink: agenerate_workflow(
                job.request,
                out_dir=job_dir(self.home, job.id),
                planner=opts.planner,  # type: ignore[arg-type]
                catalog=self.catalog,
                execute=opts.execute,
                approve=opts.approve,
                inputs=opts.inputs,
                job_id=job.id,
                on_event=sink,
                run_tests=opts.run_tests,
                checkpointer=self.checkpointer,
            ),
        )

    async def resume(self, job_id: str, approved: bool) -> None:
        """Answer a waiting job's approval and continue it from its checkpoint."""
        await self._drive(
            job_id,
            lambda sink: aresume_job(
                job_id,
                approved=approved,
                catalog=self.catalog,
                on_event=sink,
                checkpointer=self.checkpointer,
            ),
        )

    def _mark_running(self, job_id: str) -> None:
        with _session(self.url) as session:
            row = session.get(JobRow, job_id)
            if row is not None:
                row.status, row.started_at = "running", row.started_at or utcnow()
                row.heartbeat_at = utcnow()

    async def _drive(self, job_id: str, call: Any) -> None:
        queue: asyncio.Queue[Any] = asyncio.Queue()
        writer = asyncio.create_task(self._write_events(job_id, queue))
        heart = asyncio.create_task(self._heartbeat(job_id))
        try:
            result: GenerationResult = await call(queue.put_nowait)
        except asyncio.CancelledError:
            heart.cancel()
            await self._finish(queue, writer)
            await asyncio.to_thread(
                save_failure,
                self.url,
                job_id,
                "interrupted",
                {
                    "code": "JOB_CANCELLED",
                    "message": "the server stopped while the job ran",
                    "hint": f"POST /api/v1/jobs/{job_id}/approve resumes it from its last step.",
                },
            )
            raise
        except FlowwrightError as exc:
            heart.cancel()
            await self._finish(queue, writer)
            await asyncio.to_thread(save_failure, self.url, job_id, "failed", exc.to_dict())
            return
        except Exception as exc:  # never leave a job "running" because of a bug
            log.exception("generation job %s crashed", job_id)
            heart.cancel()
            await self._finish(queue, writer)
            await asyncio.to_thread(
                save_failure,
                self.url,
                job_id,
                "failed",
                {
                    "code": "INTERNAL_ERROR",
                    "message": f"the job crashed: {type(exc).__name__}",
                    "hint": "Report the job id if it persists.",
                },
            )
            return
        heart.cancel()
        await self._finish(queue, writer)
        await asyncio.to_thread(save_result, self.url, job_id, result)

    async def _heartbeat(self, job_id: str) -> None:
        """Tell other workers this job is alive, several times per `job_lost_after_s`."""
        every = get_settings().job_lost_after_s / 4
        while True:
            await asyncio.sleep(every)
            try:
                await asyncio.to_thread(beat, self.url, job_id)
            except Exception:  # a missed beat is retried; the job itself goes on
                log.warning("could not record the heartbeat of job %s", job_id, exc_info=True)

    @staticmethod
    async def _finish(queue: asyncio.Queue[Any], writer: asyncio.Task[None]) -> None:
        """Flush every queued event before the final status is stored (SSE relies on it)."""
        queue.put_nowait(_DONE)
        await asyncio.shield(writer)

    async def _write_events(self, job_id: str, queue: asyncio.Queue[Any]) -> None:
        while (event := await queue.get()) is not _DONE:
            try:
                await asyncio.to_thread(add_event, self.url, job_id, event)
            except Exception:
                log.exception("could not store an event of job %s", job_id)

"""Running workflows for users: durable checkpoints plus run history, one place for CLI and API.

A run is recorded before it starts (so a crash leaves a `running` row to resume), its result is
recorded after every start, resume or approval, and inputs are checked before anything is stored.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver

from app.db import history
from app.db.migrate import ensure_schema
from app.engine.checkpoints import open_checkpointer
from app.engine.inputs import prepare_inputs
from app.engine.results import RunResult, RunStatus
from app.engine.runner import EventSink, WorkflowRunner
from app.errors import FlowwrightError
from app.tools.registry import Catalog
from app.workflow.spec import WorkflowSpec

RESUMABLE = frozenset({RunStatus.RUNNING})


class RunStateError(FlowwrightError):
    """The run exists but is not in a state that allows the request."""

    code = "RUN_STATE"


class RunService:
    """Start, resume, approve and inspect runs over one catalog and one checkpointer."""

    def __init__(self, catalog: Catalog, checkpointer: BaseCheckpointSaver):
        self.runner = WorkflowRunner(catalog, checkpointer)
        self.checkpointer = checkpointer

    async def start(
        self,
        spec: WorkflowSpec,
        inputs: dict[str, Any],
        *,
        dry_run: bool = False,
        owner_id: str | None = None,
        batch_id: str | None = None,
        run_id: str | None = None,
        on_event: EventSink | None = None,
    ) -> RunResult:
        """Check inputs, record the run, run it, record the result (InputError before any write)."""
        prepared = prepare_inputs(spec, inputs)
        run_id = run_id or uuid.uuid4().hex
        history.record_started(
            run_id, spec, prepared, dry_run=dry_run, batch_id=batch_id, owner_id=owner_id
        )
        result = await self.runner.run(
            spec, prepared, run_id=run_id, dry_run=dry_run, on_event=on_event
        )
        history.record_result(result)
        return result

    async def resume(
        self, run_id: str, *, owner_id: str | None = None, on_event: EventSink | None = None
    ) -> RunResult:
        """Continue a run that stopped mid-way; finished steps are not executed again."""
        record = self._require(run_id, owner_id)
        if record.status not in RESUMABLE:
            raise RunStateError(
                f"run {run_id} is {record.status.value}; only running (interrupted) runs resume",
                hint="Waiting runs continue with `runs approve` or `runs reject`.",
            )
        result = await self.runner.resume(record.spec, run_id, on_event=on_event)
        history.record_result(result)
        return result

    async def decide(
        self,
        run_id: str,
        *,
        approved: bool,
        reason: str | None = None,
        owner_id: str | None = None,
        on_event: EventSink | None = None,
    ) -> RunResult:
        """Approve or reject the step a run waits for, then continue the run."""
        record = self._require(run_id, owner_id)
        if record.status is not RunStatus.WAITING_APPROVAL:
            raise RunStateError(
                f"run {run_id} is {record.status.value}, not waiting for approval",
                hint="Only runs with status waiting_approval can be approved or rejected.",
            )
        result = await self.runner.decide(
            record.spec, run_id, approved=approved, reason=reason, on_event=on_event
        )
        history.record_result(result)
        return result

    async def prune(self, *, older_than: timedelta) -> history.PruneReport:
        """Delete finished runs older than `older_than` with their checkpoints."""
        return await history.prune(older_than=older_than, checkpointer=self.checkpointer)

    def _require(self, run_id: str, owner_id: str | None) -> history.RunRecord:
        record = history.get_run(run_id, owner_id=owner_id)
        if record is None:
            raise run_not_found(run_id)
        return record


def run_not_found(run_id: str) -> FlowwrightError:
    return FlowwrightError(
        f"no run {run_id!r}", code="RUN_NOT_FOUND", hint="List runs with `flowwright runs list`."
    )


@asynccontextmanager
async def run_service(catalog: Catalog) -> AsyncIterator[RunService]:
    """A RunService with the schema migrated and the checkpointer opened for the block."""
    ensure_schema()
    async with open_checkpointer() as checkpointer:
        yield RunService(catalog, checkpointer)

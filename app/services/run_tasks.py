"""Workflow runs started by the API: `RunService` calls as background tasks, plus cancellation.

`RunService` records a run before it starts and its result after, so the run history is the
source of truth every worker reads; this module only adds what a request/response API needs on
top: starting without waiting, and cancelling.

The engine's `RunStatus` has no `cancelled`, so a cancelled run is recorded as `failed` with
error code `RUN_CANCELLED` (its finished steps are kept).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from app.db import history
from app.engine.results import RunResult, RunStatus
from app.services.runs import RunService
from app.services.tasks import TaskRegistry
from app.workflow.spec import WorkflowSpec

log = logging.getLogger("flowwright.api.runs")
CANCELLED_CODE = "RUN_CANCELLED"


class RunTasks:
    """Start, decide and cancel runs in the background of this API process."""

    def __init__(self, service: RunService, url: str, registry: TaskRegistry):
        self.service = service
        self.url = url
        self.registry = registry
        # Step events of runs executing in this process, for live SSE; history has the rest.
        self.live: dict[str, list[dict[str, Any]]] = {}

    async def start(
        self,
        run_id: str,
        spec: WorkflowSpec,
        inputs: dict[str, Any],
        *,
        dry_run: bool,
        owner_id: str,
    ) -> None:
        """Run to the end or the first approval; a cancelled run is recorded as cancelled."""
        events = self.live.setdefault(run_id, [])
        try:
            await self.service.start(
                spec,
                inputs,
                dry_run=dry_run,
                owner_id=owner_id,
                run_id=run_id,
                on_event=events.append,
            )
        except asyncio.CancelledError:
            await asyncio.to_thread(self.mark_cancelled, run_id, "the run was cancelled")
            raise
        finally:
            self.live.pop(run_id, None)

    async def decide(self, run_id: str, *, approved: bool, reason: str | None) -> None:
        """Answer the approval a run waits for and continue it."""
        events = self.live.setdefault(run_id, [])
        try:
            await self.service.decide(
                run_id, approved=approved, reason=reason, on_event=events.append
            )
        except asyncio.CancelledError:
            await asyncio.to_thread(self.mark_cancelled, run_id, "the run was cancelled")
            raise
        finally:
            self.live.pop(run_id, None)

    def mark_cancelled(self, run_id: str, message: str) -> None:
        """Record the run as finished by cancellation (engine statuses have no `cancelled`)."""
        record = history.get_run(run_id, url=self.url)
        if record is None or record.status in history.FINISHED_RUN:
            return
        history.record_result(
            RunResult(
                run_id=run_id,
                workflow=record.workflow,
                status=RunStatus.FAILED,
                dry_run=record.dry_run,
                error={
                    "code": CANCELLED_CODE,
                    "message": message,
                    "hint": "Start a new run; finished steps of this one are kept in history.",
                },
            ),
            url=self.url,
        )

    def cancel(self, run_id: str) -> bool:
        """Cancel the run's task if it runs here (the task records the cancellation itself),
        else record it as cancelled directly; True when a local task was cancelled."""
        if self.registry.cancel(run_id):
            return True
        self.mark_cancelled(run_id, "the run was cancelled")
        return False


def is_cancelled(record: history.RunRecord) -> bool:
    return record.status is RunStatus.FAILED and (record.error or {}).get("code") == CANCELLED_CODE

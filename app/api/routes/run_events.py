"""The event stream of a run: `status` changes and one `step` event per new step state.

Two sources, deduplicated by (step, status, attempts): live step events of a run executing in this
process (they arrive as each step finishes) and the run history, polled every 200 ms, which has
every step once the run stops or pauses and works for runs on any worker. The stream ends with
`end` when the run has finished or waits for approval.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from app.api.routes.common import KEEPALIVE, KEEPALIVE_S, MAX_STREAM_S, POLL_S, sse
from app.db import history
from app.engine.results import RunStatus
from app.services.run_tasks import RunTasks

STOP = history.FINISHED_RUN | {RunStatus.WAITING_APPROVAL}
_STEP_FIELDS = ("status", "attempts", "error", "reason", "output", "duration_ms", "tool")


def _step(run_id: str, step_id: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"run_id": run_id, "step": step_id, **{k: data.get(k) for k in _STEP_FIELDS}}


async def follow_run(url: str, run_id: str, tasks: RunTasks) -> AsyncIterator[str]:
    seen: set[tuple[str, str, int]] = set()
    live_index, last_status, seq = 0, None, 0
    last_sent = time.monotonic()
    deadline = last_sent + MAX_STREAM_S

    def frame(kind: str, data: dict[str, Any]) -> str:
        nonlocal seq, last_sent
        seq += 1
        last_sent = time.monotonic()
        return sse(kind, data, seq)

    while time.monotonic() < deadline:
        record = await asyncio.to_thread(history.get_run, run_id, url=url)
        if record is None:
            yield frame("end", {"run_id": run_id, "status": "deleted"})
            return
        if record.status != last_status:
            last_status = record.status
            yield frame("status", {"run_id": run_id, "status": record.status.value})
        live = tasks.live.get(run_id) or []
        for event in live[live_index:]:
            if event.get("event") == "step_finished" and event.get("step"):
                key = (event["step"], str(event.get("status")), int(event.get("attempts") or 0))
                if key not in seen:
                    seen.add(key)
                    yield frame("step", _step(run_id, event["step"], event))
        live_index = len(live)
        for step in record.steps:
            key = (step.id, step.status.value, step.attempts)
            if key not in seen:
                seen.add(key)
                yield frame("step", _step(run_id, step.id, step.model_dump(mode="json")))
        if record.status in STOP:
            yield frame(
                "end",
                {
                    "run_id": run_id,
                    "status": record.status.value,
                    "waiting_for": record.waiting_for,
                    "outputs": record.outputs,
                    "error": record.error,
                },
            )
            return
        if time.monotonic() - last_sent > KEEPALIVE_S:
            last_sent = time.monotonic()
            yield KEEPALIVE
        await asyncio.sleep(POLL_S)

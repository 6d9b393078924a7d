"""Drive compiled workflows: start, resume after a crash, and answer approvals.

The run id is the LangGraph thread id, so the checkpointer holds everything needed to continue a
run: finished steps are never executed again on resume.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from langchain_core.runnables.config import var_child_runnable_config
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command

from app.engine.compiler import OUTPUTS_NODE, build_graph
from app.engine.inputs import prepare_inputs
from app.engine.results import RunResult, RunStatus, StepRecord, StepResult, StepStatus
from app.errors import FlowwrightError
from app.observability.metrics import observe_run, observe_step
from app.observability.run_trace import RunTrace, current_trace
from app.tools.registry import Catalog
from app.workflow.spec import WorkflowSpec

EventSink = Callable[[dict[str, Any]], None]


class RunNotFoundError(FlowwrightError):
    code = "RUN_NOT_FOUND"


class WorkflowRunner:
    """Runs workflows over one catalog and one checkpointer (shared, pooled, per process)."""

    def __init__(
        self,
        catalog: Catalog,
        checkpointer: BaseCheckpointSaver | None = None,
        *,
        tracing: bool | None = None,
    ):
        """`tracing` (default: the `trace_local` setting or LangSmith tracing) records each run's
        graph, step and tool calls as a trace; without it steps take the engine's fast path."""
        self.catalog = catalog
        self.checkpointer = checkpointer or InMemorySaver()
        self.tracing = tracing_enabled() if tracing is None else tracing
        self._graphs: dict[str, Any] = {}

    def compiled(self, spec: WorkflowSpec) -> Any:
        """The compiled graph of a spec, built once per distinct spec."""
        key = hashlib.sha256(spec.to_json(indent=None).encode()).hexdigest()
        if key not in self._graphs:
            graph = build_graph(spec, self.catalog)
            self._graphs[key] = graph.compile(checkpointer=self.checkpointer)
        return self._graphs[key]

    async def run(
        self,
        spec: WorkflowSpec,
        inputs: dict[str, Any],
        *,
        run_id: str | None = None,
        dry_run: bool = False,
        on_event: EventSink | None = None,
    ) -> RunResult:
        """Start a run; inputs are checked and coerced first (InputError when they do not fit)."""
        prepared = prepare_inputs(spec, inputs)
        run_id = run_id or uuid.uuid4().hex
        payload = {"inputs": prepared, "dry_run": dry_run, "results": {}, "halted": None}
        return await self._drive(spec, run_id, payload, on_event)

    async def resume(
        self, spec: WorkflowSpec, run_id: str, *, on_event: EventSink | None = None
    ) -> RunResult:
        """Continue a run that stopped mid-way (crash, kill -9) from its last checkpoint."""
        await self._require_thread(spec, run_id)
        return await self._drive(spec, run_id, None, on_event)

    async def decide(
        self,
        spec: WorkflowSpec,
        run_id: str,
        *,
        approved: bool,
        reason: str | None = None,
        on_event: EventSink | None = None,
    ) -> RunResult:
        """Answer the approval a run is waiting for and continue it."""
        current = await self.result(spec, run_id)
        if current.status is not RunStatus.WAITING_APPROVAL:
            raise FlowwrightError(
                f"run {run_id} is {current.status.value}, not waiting for approval",
                code="RUN_NOT_WAITING",
                hint="Only runs with status waiting_approval can be approved or rejected.",
            )
        command = Command(resume={"approved": approved, "reason": reason})
        return await self._drive(spec, run_id, command, on_event)

    async def result(self, spec: WorkflowSpec, run_id: str) -> RunResult:
        """The run's current result, read from its checkpoint."""
        snapshot = await self._require_thread(spec, run_id)
        return build_result(spec, run_id, snapshot)

    async def _require_thread(self, spec: WorkflowSpec, run_id: str) -> Any:
        snapshot = await self.compiled(spec).aget_state(_config(run_id))
        if not snapshot.values:
            raise RunNotFoundError(
                f"no checkpoint for run {run_id}", hint="Check the id with `flowwright runs list`."
            )
        return snapshot

    async def _drive(
        self, spec: WorkflowSpec, run_id: str, payload: Any, on_event: EventSink | None
    ) -> RunResult:
        graph = self.compiled(spec)
        config = _config(run_id)
        traced, recorder = _tracing(spec, run_id) if self.tracing else ({}, None)
        tools = {step.id: step.tool for step in spec.steps}
        token = current_trace.set(recorder)
        # A nested run the engine records runs as a graph of its own: the enclosing run's
        # callbacks (which LangGraph would merge in) do not see its nodes.
        detached = var_child_runnable_config.set(None) if recorder and recorder.parent else None
        try:
            async for chunk in graph.astream(
                payload, {**traced, **config}, stream_mode="updates", durability="sync"
            ):
                for event in _events(chunk):
                    if event["event"] == "step_finished":
                        tool = tools.get(event["step"], "?")
                        _observe_step(tool, event)
                        if recorder is not None:
                            recorder.step_finished(event["step"], tool, event)
                    if on_event is not None:
                        on_event({"run_id": run_id, **event})
        finally:
            current_trace.reset(token)
            if detached is not None:
                var_child_runnable_config.reset(detached)
        result = build_result(spec, run_id, await graph.aget_state(config))
        result.trace_id = _store(recorder, result) if recorder is not None else _trace_id(traced)
        if result.status not in (RunStatus.RUNNING, RunStatus.WAITING_APPROVAL):
            observe_run(result.status.value)
        return result


def tracing_enabled() -> bool:
    """Trace runs when the local trace store is on or LangSmith tracing is configured."""
    import os

    from app.config import get_settings

    langsmith = os.environ.get("LANGSMITH_TRACING", "").lower() in {"1", "true", "yes"}
    return get_settings().trace_local or langsmith


def _tracing(spec: WorkflowSpec, run_id: str) -> tuple[dict[str, Any], RunTrace | None]:
    """(LangChain tracing config, engine recorder): the engine records the run itself unless
    LangSmith is on or the run is nested in a run whose other callbacks must see it. A run
    nested in a locally traced one (a generation's dry run) is recorded as part of that trace.
    """
    from app.observability.run_trace import enclosing_position
    from app.observability.tracing import inherited_handlers, langsmith_enabled, tracing_config

    name = f"workflow:{spec.name}"
    handlers = inherited_handlers()
    parent = enclosing_position(handlers) if handlers else None
    if langsmith_enabled() or (handlers and parent is None):
        return tracing_config(run_id=run_id, kind="workflow", name=name), None
    from app import __version__

    metadata = {"flowwright_kind": "workflow", "flowwright_version": __version__, "run_id": run_id}
    return {}, RunTrace(run_id, name, metadata, parent=parent)


def _store(recorder: RunTrace, result: RunResult) -> str | None:
    """Hand this segment's trace to the trace writer; the id it will be stored under (None
    when the trace store cannot be reached)."""
    from app.db.migrate import resolve_url
    from app.observability.run_trace import store_snapshot
    from app.observability.trace_writer import schema_ready, submit_trace_write
    from app.observability.tracing import trace_redaction_enabled

    status = {RunStatus.SUCCEEDED: "success", RunStatus.WAITING_APPROVAL: "interrupted",
              RunStatus.RUNNING: "pending"}.get(result.status, "error")  # fmt: skip
    error = (result.error or {}).get("message") if status == "error" else None
    snapshot = recorder.snapshot(
        inputs=result.inputs, status=status, error=error,
        outputs={"status": result.status.value, "outputs": result.outputs},
    )  # fmt: skip
    if recorder.parent is not None:  # stored with the enclosing trace, when that ends
        recorder.parent.store.add_nested(recorder.trace_id, snapshot)
        return recorder.trace_id
    redact, url = trace_redaction_enabled(), resolve_url(None)
    if not schema_ready(url):
        return None
    submit_trace_write(lambda: store_snapshot(snapshot, redact=redact, url=url))
    return recorder.trace_id


def _trace_id(traced: dict[str, Any]) -> str | None:
    for handler in traced.get("callbacks") or ():
        ids = getattr(handler, "trace_ids", None)
        if ids:
            return str(ids[-1])
    return None


def _observe_step(tool: str, event: dict[str, Any]) -> None:
    started, finished = event.get("started_at"), event.get("finished_at")
    seconds = finished - started if started is not None and finished is not None else 0.0
    retries = max((event.get("attempts") or 0) - 1, 0)
    observe_step(tool, str(event.get("status")), seconds, retries)


def _config(run_id: str) -> dict[str, Any]:
    return {"configurable": {"thread_id": run_id}, "recursion_limit": 10_000}


def _events(chunk: dict[str, Any]) -> list[dict[str, Any]]:
    events = []
    for node, update in chunk.items():
        if node == "__interrupt__":
            for item in update:
                events.append({"event": "approval_requested", **(item.value or {})})
        elif node != OUTPUTS_NODE and isinstance(update, dict):
            for step_id, record in (update.get("results") or {}).items():
                events.append({"event": "step_finished", "step": step_id, **record})
    return events


def _when(epoch: float | None) -> datetime | None:
    return datetime.fromtimestamp(epoch, UTC) if epoch is not None else None


def _duration_ms(record: StepRecord) -> float | None:
    if "started_at" in record and "finished_at" in record:
        return round((record["finished_at"] - record["started_at"]) * 1000, 3)
    return None


def build_result(spec: WorkflowSpec, run_id: str, snapshot: Any) -> RunResult:
    """Assemble a `RunResult` from a graph state snapshot."""
    values = snapshot.values or {}
    records: dict[str, StepRecord] = values.get("results") or {}
    steps = [
        StepResult(
            id=step.id,
            tool=step.tool,
            status=StepStatus(records[step.id]["status"]),
            output=records[step.id].get("output"),
            error=records[step.id].get("error"),
            attempts=records[step.id].get("attempts", 0),
            started_at=_when(records[step.id].get("started_at")),
            finished_at=_when(records[step.id].get("finished_at")),
            duration_ms=_duration_ms(records[step.id]),
            reason=records[step.id].get("reason"),
            item_errors=records[step.id].get("item_errors"),
        )
        for step in spec.steps
        if step.id in records
    ]
    interrupts = [i for task in snapshot.tasks for i in task.interrupts]
    halted = values.get("halted")
    error = None
    if interrupts:
        status = RunStatus.WAITING_APPROVAL
    elif halted:
        status = RunStatus.REJECTED if halted["status"] == StepStatus.REJECTED else RunStatus.FAILED
        failed = records.get(halted["step"], {})
        error = failed.get("error") or {
            "code": "APPROVAL_REJECTED",
            "message": f"step {halted['step']!r} was rejected",
            "hint": None,
        }
    elif values.get("outputs_error"):
        status, error = RunStatus.FAILED, values["outputs_error"]
    elif snapshot.next:
        status = RunStatus.RUNNING
    else:
        status = RunStatus.SUCCEEDED
    times = [r["started_at"] for r in records.values() if "started_at" in r]
    ends = [r["finished_at"] for r in records.values() if "finished_at" in r]
    return RunResult(
        run_id=run_id,
        workflow=spec.name,
        status=status,
        dry_run=bool(values.get("dry_run")),
        inputs=values.get("inputs") or {},
        steps=steps,
        outputs=values.get("outputs") or {},
        simulated_steps=[s.id for s in steps if s.status is StepStatus.SIMULATED],
        waiting_for=(interrupts[0].value or {}).get("step") if interrupts else None,
        error=error,
        started_at=datetime.fromtimestamp(min(times), UTC) if times else None,
        finished_at=datetime.fromtimestamp(max(ends), UTC) if ends and not snapshot.next else None,
    )

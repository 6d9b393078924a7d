"""Generation as a service: the one entry point the CLI, the API and verify_system call.

`generate_workflow` runs the agent graph for a request under a job id (= the LangGraph thread id)
with the durable checkpointer, so a job that pauses for approval, or dies mid-way, continues with
`resume_job(job_id)` from its last finished node. Progress events reach `on_event` as they happen.

Every invocation (a start or a resume) is one trace: `tracing_config` adds the local trace store,
LLM metrics and LangSmith identity (job id in the metadata), the root run id is chosen here so
it can be returned as `GenerationResult.trace_id`, and the job id is bound into the log context.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.types import Command
from pydantic import BaseModel, ConfigDict, Field

from agents.artifacts import CheckResult
from agents.planner.result import check_present_and_short
from agents.state import (
    DEFAULT_MAX_ATTEMPTS,
    DEFAULT_TEST_TIMEOUT_S,
    GenContext,
    GenOptions,
    GenState,
    PlannerName,
)
from app.engine.results import RunResult
from app.errors import FlowwrightError, NotConfiguredError
from app.tools.registry import Catalog, load_catalog
from app.workflow.diagnostics import Diagnostic
from app.workflow.spec import WorkflowSpec

EventSink = Callable[[dict[str, Any]], None]


class RequestError(FlowwrightError):
    """The request cannot be planned at all (empty, too long, not text): exit code 2."""

    code = "REQUEST_INVALID"


class JobError(FlowwrightError):
    code = "JOB_ERROR"


class GenerationResult(BaseModel):
    """What a generation job produced (or how far it got, and why it stopped)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)
    job_id: str
    status: str  # succeeded | failed | rejected | waiting_approval | interrupted
    spec: WorkflowSpec | None = None
    diagnostics: list[Diagnostic] = Field(default_factory=list)
    run: RunResult | None = None
    artifacts: list[str] = Field(default_factory=list)  # relative to out_dir
    checks: list[CheckResult] = Field(default_factory=list)
    out_dir: str | None = None
    error: dict[str, Any] | None = None
    notes: list[str] = Field(default_factory=list)
    attempts: int = 0
    approval: dict[str, Any] | None = None  # what a waiting job asks a human to approve
    trace_id: str | None = None  # this invocation's trace (`flowwright traces show ID`)

    @property
    def ok(self) -> bool:
        return self.status == "succeeded"


def check_request(request: Any) -> str:
    """Refuse requests no planner should see; the planners add their own, finer checks."""
    return check_present_and_short(request, RequestError).strip()


def resolve_catalog(catalog: Catalog | str | Path | None) -> tuple[Catalog, str]:
    """(catalog, source): built-in tools, a TaskBench file (kept by path for resume), or given."""
    if catalog is None:
        return load_catalog(), "builtin"
    if isinstance(catalog, Catalog):
        return catalog, "custom"
    path = Path(catalog).resolve()
    if not path.is_file():
        raise RequestError(f"catalog file not found: {catalog}", hint="Check the --catalog path.")
    return load_catalog(taskbench=path), str(path)


@asynccontextmanager
async def _saver(checkpointer: BaseCheckpointSaver | None) -> AsyncIterator[BaseCheckpointSaver]:
    if checkpointer is not None:
        yield checkpointer
        return
    from app.engine.checkpoints import open_checkpointer

    async with open_checkpointer() as saver:
        yield saver


def _config(job_id: str, planner: str) -> dict[str, Any]:
    """Thread = job; tags and metadata let LangSmith/LangChain tracers group a job's runs."""
    from app.observability.tracing import tracing_config

    return {
        **tracing_config(
            job_id=job_id, kind="generate", tags=[f"planner:{planner}"],
            metadata={"planner": planner, "target": "workflow"},
        ),
        "configurable": {"thread_id": job_id},
        "recursion_limit": 64,
    }  # fmt: skip


def _traced(config: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """`config` with a fresh root run id, and that id when something records the trace.

    Choosing the root run id up front (LangChain's ``run_id`` config key) names the trace
    before it exists, so the caller gets it even when the job crashes or pauses; it is None
    when neither the local store nor LangSmith is recording.
    """
    from app.observability.trace_store import LocalTraceStore
    from app.observability.tracing import langsmith_enabled

    root = uuid.uuid4()
    recorded = langsmith_enabled() or any(
        isinstance(h, LocalTraceStore) for h in config.get("callbacks") or []
    )
    return {**config, "run_id": root}, str(root) if recorded else None


async def _drive(
    graph: Any, payload: Any, config: dict[str, Any], context: GenContext, job_id: str,
    on_event: EventSink | None,
) -> str | None:  # fmt: skip
    """Stream the graph; forward custom events; return a crash message instead of raising."""
    from app.observability.logging import bind_context

    with bind_context(job_id=job_id):
        return await _stream(graph, payload, config, context, job_id, on_event)


async def _stream(
    graph: Any, payload: Any, config: dict[str, Any], context: GenContext, job_id: str,
    on_event: EventSink | None,
) -> str | None:  # fmt: skip
    try:
        async for mode, chunk in graph.astream(
            payload, config, context=context, stream_mode=["custom", "updates"],
            durability="sync",
        ):  # fmt: skip
            if on_event is None:
                continue
            if mode == "custom":
                on_event(chunk)
            elif isinstance(chunk, dict) and "__interrupt__" in chunk:
                for item in chunk["__interrupt__"]:
                    on_event(
                        {"event": "approval_requested", "job_id": job_id, "detail": item.value}
                    )
    except Exception as exc:  # a crashed node: the checkpoint keeps everything finished before it
        return f"{type(exc).__name__}: {exc}"
    return None


async def _result(
    graph: Any, config: dict[str, Any], job_id: str, crash: str | None,
    trace_id: str | None = None,
) -> GenerationResult:  # fmt: skip
    snapshot = await graph.aget_state(config)
    values: GenState = snapshot.values or {}
    interrupts = [i for task in snapshot.tasks for i in task.interrupts]
    status = values.get("status") or "failed"
    error = values.get("error")
    if interrupts:
        status = "waiting_approval"
    elif crash or snapshot.next:
        status = "interrupted"
        error = {
            "code": "GENERATION_INTERRUPTED",
            "message": f"the job stopped before it finished: {crash or 'not run to the end'}",
            "hint": f"Resume it with `resume_job({job_id!r})`.",
        }
    elif status not in ("succeeded", "rejected"):
        status = "failed"
    plan = values.get("plan")
    spec = None
    if plan is not None:
        try:
            spec = WorkflowSpec.model_validate(plan)
        except ValueError:
            spec = None  # an invalid LLM answer: its diagnostics say why
    return GenerationResult(
        job_id=job_id, status=status, spec=spec,
        diagnostics=[Diagnostic.model_validate(d) for d in values.get("diagnostics") or []],
        run=RunResult.model_validate(values["run"]) if values.get("run") else None,
        artifacts=values.get("artifacts") or [],
        checks=[CheckResult.model_validate(c) for c in values.get("checks") or []],
        out_dir=(values.get("options") or {}).get("out_dir"), error=error,
        notes=values.get("notes") or [], attempts=values.get("attempts") or 0,
        approval=interrupts[0].value if interrupts else None, trace_id=trace_id,
    )  # fmt: skip


async def agenerate_workflow(
    request: str,
    *,
    out_dir: str | Path | None = None,
    planner: PlannerName = "rules",
    catalog: Catalog | str | Path | None = None,
    execute: bool = False,
    approve: bool = False,
    inputs: dict[str, Any] | None = None,
    job_id: str | None = None,
    on_event: EventSink | None = None,
    run_tests: bool = True,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    test_timeout_s: float = DEFAULT_TEST_TIMEOUT_S,
    checkpointer: BaseCheckpointSaver | None = None,
) -> GenerationResult:
    """Plan, validate, try and generate a workflow for `request` (see the module docstring)."""
    from agents.graph import compile_graph

    text = check_request(request)
    if planner not in ("rules", "llm"):
        raise RequestError(f"unknown planner {planner!r}", hint="Use rules or llm.")
    if planner == "llm":
        from app.tools.llm import LLM_HINT, llm_configured

        if not llm_configured():
            raise NotConfiguredError("the llm planner needs FLOWWRIGHT_LLM_MODEL", hint=LLM_HINT)
    cat, source = resolve_catalog(catalog)
    job_id = job_id or uuid.uuid4().hex
    options: GenOptions = {
        "planner": planner, "execute": execute, "approve": approve, "inputs": dict(inputs or {}),
        "max_attempts": max_attempts, "run_tests": run_tests, "test_timeout_s": test_timeout_s,
        "out_dir": str(Path(out_dir).resolve()) if out_dir else None,
        "out_root": str(Path("generated").resolve()),
    }  # fmt: skip
    payload: GenState = {
        "job_id": job_id, "request": text, "target": "workflow", "options": options,
        "catalog": {"source": source, "tools": len(cat)}, "plan": None, "diagnostics": [],
        "attempts": 0, "phase": "plan", "status": "planning", "error": None, "artifacts": [],
        "checks": [], "run": None, "notes": [], "last_answer": None,
    }  # fmt: skip
    config = _config(job_id, planner)
    async with _saver(checkpointer) as saver:
        graph = compile_graph(saver)
        existing = await graph.aget_state(config)
        if existing.next:
            raise JobError(
                f"job {job_id} exists and has not finished",
                hint=f"Resume it with resume_job({job_id!r}) or pick another job id.",
            )
        traced, trace_id = _traced(config)
        crash = await _drive(graph, payload, traced, GenContext(cat), job_id, on_event)
        return await _result(graph, config, job_id, crash, trace_id)


async def aresume_job(
    job_id: str,
    *,
    approved: bool | None = None,
    catalog: Catalog | None = None,
    on_event: EventSink | None = None,
    checkpointer: BaseCheckpointSaver | None = None,
) -> GenerationResult:
    """Continue a job from its checkpoint: answer its approval, or re-run its unfinished node."""
    from agents.graph import compile_graph

    async with _saver(checkpointer) as saver:
        graph = compile_graph(saver)
        snapshot = await graph.aget_state({"configurable": {"thread_id": job_id}})
        values: GenState = snapshot.values or {}
        if not values:
            raise JobError(
                f"no generation job {job_id}", hint="Check the job id.", code="JOB_NOT_FOUND"
            )
        config = _config(job_id, (values.get("options") or {}).get("planner", "rules"))
        if not snapshot.next:
            return await _result(graph, config, job_id, None)  # already finished
        source = (values.get("catalog") or {}).get("source", "builtin")
        if catalog is None:
            catalog = resolve_catalog(None if source in ("builtin", "custom") else source)[0]
        waiting = any(task.interrupts for task in snapshot.tasks)
        if waiting and approved is None:
            raise JobError(
                f"job {job_id} is waiting for approval",
                hint="Resume it with approved=True (run it) or approved=False (reject it).",
                code="JOB_WAITING_APPROVAL",
            )
        payload = Command(resume={"approved": bool(approved)}) if waiting else None
        traced, trace_id = _traced(config)
        crash = await _drive(graph, payload, traced, GenContext(catalog), job_id, on_event)
        return await _result(graph, config, job_id, crash, trace_id)


def generate_workflow(request: str, **kwargs: Any) -> GenerationResult:
    """Synchronous `agenerate_workflow` (for the CLI and scripts; the API awaits the async one)."""
    return asyncio.run(agenerate_workflow(request, **kwargs))


def resume_job(job_id: str, **kwargs: Any) -> GenerationResult:
    """Synchronous `aresume_job`."""
    return asyncio.run(aresume_job(job_id, **kwargs))


def smoke_generate(tmp_dir: str | Path) -> GenerationResult:
    """One real offline generation (rules planner, every check but the generated test run)."""
    return generate_workflow(
        "Validate the email address ada@example.com.",
        out_dir=Path(tmp_dir) / "workflow",
        run_tests=False,
    )

"""Compile a workflow spec into a LangGraph `StateGraph`: one node per step, edges from DESIGN §2.

A step with dependencies waits on all of them at once (`add_edge([deps], step)`), so independent
steps run in the same super-step, concurrently. Every step node always writes a record (even when
skipped or cancelled), which keeps joins firing and makes every step visible in the result.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.types import interrupt

from app.engine.results import StepRecord, StepStatus
from app.engine.step import StepPlan, execute
from app.tools.registry import Catalog
from app.workflow import expressions
from app.workflow.analysis import step_dependencies
from app.workflow.spec import WorkflowSpec

OUTPUTS_NODE = "__outputs__"

Node = Callable[[Any], Awaitable[dict[str, Any]]]


def _merge(left: dict[str, Any] | None, right: dict[str, Any] | None) -> dict[str, Any]:
    return {**(left or {}), **(right or {})}


def _first(left: dict[str, Any] | None, right: dict[str, Any] | None) -> dict[str, Any] | None:
    return left or right


class RunState(TypedDict, total=False):
    """Graph state: inputs in, one record per step, the first fatal stop, outputs out."""

    inputs: dict[str, Any]
    dry_run: bool
    results: Annotated[dict[str, StepRecord], _merge]
    halted: Annotated[dict[str, Any] | None, _first]
    outputs: dict[str, Any]
    outputs_error: dict[str, Any] | None


def plan_steps(spec: WorkflowSpec, catalog: Catalog) -> list[StepPlan]:
    deps = step_dependencies(spec)
    return [
        StepPlan(
            step=step,
            tool=catalog.get(step.tool),
            info=catalog.info(step.tool),
            deps=frozenset(deps[step.id]),
        )
        for step in spec.steps
    ]


def _ask_approval(payload: dict[str, Any]) -> bool:
    """Pause the run (LangGraph interrupt) until `runs approve` or `runs reject` resumes it."""
    decision = interrupt(payload)
    return bool(decision.get("approved")) if isinstance(decision, dict) else bool(decision)


def _step_node(plan: StepPlan) -> Any:
    step_id = plan.step.id

    async def node(state: RunState) -> dict[str, Any]:
        halted = state.get("halted")
        if halted:
            record: StepRecord = {
                "status": StepStatus.CANCELLED.value,
                "reason": f"step {halted['step']!r} {halted['status']}",
                "attempts": 0,
            }
            return {"results": {step_id: record}}
        record = await execute(
            plan,
            state.get("inputs", {}),
            state.get("results", {}),
            dry_run=bool(state.get("dry_run")),
            approve=_ask_approval,
        )
        # A plain string, not the enum: checkpoints serialize it natively (an enum costs a
        # msgpack extension per record per checkpoint, and LangGraph warns it will refuse it).
        record["status"] = StepStatus(record["status"]).value
        update: dict[str, Any] = {"results": {step_id: record}}
        status = record.get("status")
        if status == StepStatus.REJECTED or (
            status == StepStatus.FAILED and plan.step.on_error == "fail"
        ):
            update["halted"] = {"step": step_id, "status": status}
        return update

    node.__name__ = f"step_{step_id}"
    return node


def _outputs_node(spec: WorkflowSpec) -> Any:
    from app.engine.step import error_of, expression_context

    async def node(state: RunState) -> dict[str, Any]:
        if state.get("halted") or not spec.outputs:
            return {"outputs": {}}
        context = expression_context(state.get("inputs", {}), state.get("results", {}))
        try:
            return {"outputs": expressions.evaluate(spec.outputs, context)}
        except expressions.ExpressionError as exc:
            return {"outputs": {}, "outputs_error": dict(error_of(exc))}

    return node


def build_graph(
    spec: WorkflowSpec,
    catalog: Catalog,
    *,
    state_schema: type = RunState,
    wrap_node: Callable[[Node], Node] | None = None,
) -> StateGraph:
    """The uncompiled graph; `compile(checkpointer=...)` it to run.

    `state_schema` and `wrap_node` let batch runs reuse the same nodes and edges over a state
    holding many runs (one LangGraph invocation for a chunk of rows); by default a node's state
    is one run's `RunState`.
    """
    plans = plan_steps(spec, catalog)
    wrap = wrap_node or (lambda node: node)
    graph = StateGraph(state_schema)
    dependents: set[str] = set()
    for plan in plans:
        graph.add_node(plan.step.id, wrap(_step_node(plan)))
        dependents.update(plan.deps)
    graph.add_node(OUTPUTS_NODE, wrap(_outputs_node(spec)))
    for plan in plans:
        if plan.deps:
            ordered = [p.step.id for p in plans if p.step.id in plan.deps]
            graph.add_edge(ordered if len(ordered) > 1 else ordered[0], plan.step.id)
        else:
            graph.add_edge(START, plan.step.id)
    sinks = [p.step.id for p in plans if p.step.id not in dependents]
    graph.add_edge(sinks if len(sinks) > 1 else sinks[0], OUTPUTS_NODE)
    graph.add_edge(OUTPUTS_NODE, END)
    return graph

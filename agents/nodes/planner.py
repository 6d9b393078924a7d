"""The planner agent: a request (plus, when repairing, the validator's diagnostics) → a plan.

Two backends share the node: `rules` (deterministic, offline; it validates its own plan, so a
repair round cannot change its answer) and `llm` (any chat model, repaired from diagnostics).
"""

from __future__ import annotations

from typing import Any

from langchain_core.runnables import RunnableConfig

from agents.nodes.common import agent_node
from agents.state import GenContext, GenState, error_dict
from app.errors import FlowwrightError
from app.workflow.diagnostics import Diagnostic


def _describe(update: dict[str, Any]) -> str:
    if update.get("error"):
        return f"failed: {update['error']['message']}"
    plan = update.get("plan")
    if plan is None:
        return f"attempt {update.get('attempts')}: no usable plan"
    return f"attempt {update.get('attempts')}: {len(plan.get('steps', []))} step(s)"


async def _rules(state: GenState, context: GenContext) -> dict[str, Any]:
    from agents.planner import plan

    result = plan(state["request"], context.catalog)
    diagnostics = [d.model_dump(mode="json") for d in result.diagnostics]
    if result.spec is None:
        error = result.error
        err = (
            error_dict(error.code, error.message, error.hint)
            | {"closest_tools": error.closest_tools}
            if error
            else error_dict("PLANNING_FAILED", "the rules planner produced no plan")
        )
        return {"plan": None, "error": err, "diagnostics": diagnostics, "notes": result.notes}
    return {"plan": result.spec.to_data(), "diagnostics": diagnostics, "notes": result.notes}


async def _llm(state: GenState, context: GenContext, config: RunnableConfig) -> dict[str, Any]:
    from agents.llm_planner import llm_plan

    previous = [Diagnostic.model_validate(d) for d in state.get("diagnostics") or []]
    repairing = bool(state.get("attempts")) and any(d.is_error for d in previous)
    try:
        answer = await llm_plan(
            state["request"],
            context.catalog,
            previous_answer=state.get("last_answer") if repairing else None,
            diagnostics=previous if repairing else None,
            config=config,
        )
    except FlowwrightError as exc:
        return {"plan": None, "error": error_dict(exc.code, exc.message, exc.hint)}
    except Exception as exc:  # provider SDK errors: report them, do not crash the job
        message = f"the LLM call failed: {type(exc).__name__}: {exc}"
        hint = "Check FLOWWRIGHT_LLM_MODEL, the provider's API key and network access."
        return {"plan": None, "error": error_dict("LLM_FAILED", message, hint)}
    return {
        "plan": answer.data,
        "last_answer": answer.text,
        "diagnostics": [d.model_dump(mode="json") for d in answer.diagnostics],
        "notes": [],
    }


@agent_node("planner", _describe)
async def planner_node(
    state: GenState, context: GenContext, config: RunnableConfig
) -> dict[str, Any]:
    """Plan (or re-plan) the request with the configured backend."""
    attempts = (state.get("attempts") or 0) + 1
    backend = (state.get("options") or {}).get("planner", "rules")
    if backend == "llm":
        update = await _llm(state, context, config)
    else:
        update = await _rules(state, context)
    status = "failed" if update.get("error") else "planned"
    return {**update, "attempts": attempts, "status": status, "phase": "plan"}

"""The validator agent, used twice: it checks the plan, and later the generated artifacts.

Plan phase: the planner's data goes through the same loader and validator as `flowwright
validate` (schema, tools, params, references, types...). Errors send the job back to the planner
with the diagnostics while attempts are left (the repair loop), or end it as `failed` with the
diagnostics kept. Artifact phase: compile, ruff, import and the generated tests (see artifacts).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from langchain_core.runnables import RunnableConfig

from agents.nodes.common import agent_node, last_duration_s
from agents.state import DEFAULT_MAX_ATTEMPTS, DEFAULT_TEST_TIMEOUT_S, GenContext, GenState
from agents.state import error_dict as _error
from app.observability.metrics import observe_plan, observe_repair
from app.workflow.diagnostics import Severity

# Planning-only catalogs (TaskBench files) can still be planned, generated and dry-run.
_DOWNGRADED = {"TOOL_PLANNING_ONLY"}


def max_attempts(state: GenState) -> int:
    """Attempts the repair loop may use; the rules planner is deterministic, so it gets one."""
    options = state.get("options") or {}
    if options.get("planner", "rules") == "rules":
        return 1
    return max(1, int(options.get("max_attempts") or DEFAULT_MAX_ATTEMPTS))


def _describe(update: dict[str, Any]) -> str:
    if update.get("phase") == "artifacts" or update.get("checks") is not None:
        checks = update.get("checks") or []
        ok = sum(1 for c in checks if c["ok"])
        return f"artifact checks: {ok}/{len(checks)} passed"
    if update.get("status") == "failed" and "diagnostics" not in update:
        return "nothing to validate: planning failed"
    errors = [d for d in update.get("diagnostics", []) if d.get("severity") == "error"]
    return f"plan: {len(errors)} error(s)" if errors else "plan is valid"


def _check_plan(state: GenState, context: GenContext) -> dict[str, Any]:
    from app.workflow.validator import validate_text

    if state.get("error"):
        return {"status": "failed"}
    diagnostics = list(state.get("diagnostics") or [])
    plan = state.get("plan")
    if plan is not None:
        report = validate_text(json.dumps(plan), context.catalog, fmt="json", source="plan")
        diagnostics = []
        for diag in report.diagnostics:
            if diag.code in _DOWNGRADED:
                diag = diag.model_copy(update={"severity": Severity.WARNING})
            diagnostics.append(diag.model_dump(mode="json"))
        if report.spec is not None:
            plan = report.spec.to_data()
    errors = [d for d in diagnostics if d["severity"] == "error"]
    if not errors and plan is not None:
        return {"plan": plan, "diagnostics": diagnostics, "status": "validated"}
    attempts = state.get("attempts") or 0
    if attempts < max_attempts(state):
        return {"diagnostics": diagnostics, "status": "repairing"}
    first = errors[0]["message"] if errors else "no plan"
    message = f"no valid plan after {attempts} attempt(s): {len(errors)} error(s), first: {first}"
    hint = "See the diagnostics; rephrase the request or name the tools and values explicitly."
    return {
        "diagnostics": diagnostics,
        "status": "failed",
        "error": _error("PLAN_INVALID", message, hint),
    }


async def _check_artifacts(state: GenState) -> dict[str, Any]:
    from agents.artifacts import run_checks

    options = state.get("options") or {}
    checks = await asyncio.to_thread(
        run_checks,
        options["out_dir"],
        run_tests=options.get("run_tests", True),
        timeout_s=options.get("test_timeout_s") or DEFAULT_TEST_TIMEOUT_S,
    )
    data = [c.model_dump(mode="json") for c in checks]
    failed = [c for c in checks if not c.ok]
    if not failed:
        return {"checks": data, "status": "succeeded"}
    names = ", ".join(c.name for c in failed)
    error = _error(
        "ARTIFACT_CHECKS_FAILED",
        f"artifact check(s) failed: {names}: {failed[0].detail[:300]}",
        "The artifacts are kept in the output directory for inspection.",
    )
    return {"checks": data, "status": "failed", "error": error}


@agent_node("validator", _describe)
async def validator_node(
    state: GenState, context: GenContext, config: RunnableConfig
) -> dict[str, Any]:
    """Validate the plan (phase `plan`) or the written artifacts (phase `artifacts`)."""
    if state.get("phase") == "artifacts":
        return {**await _check_artifacts(state), "phase": "artifacts"}
    update = _check_plan(state, context)
    _observe_plan_outcome(state, update)
    return update


def _observe_plan_outcome(state: GenState, update: dict[str, Any]) -> None:
    """Plan metrics are recorded here, not in the planner, because only the validator knows
    whether the plan is valid (the LLM planner's own diagnostics cover parsing only). A
    planner attempt that produced no plan counts as an invalid plan; a `repairing` verdict is
    the repair edge back to the planner."""
    planner = (state.get("options") or {}).get("planner", "rules")
    seconds = last_duration_s(state, "planner") or 0.0
    observe_plan(seconds, update.get("status") == "validated", planner=planner)
    if update.get("status") == "repairing":
        observe_repair()


def route_after_validator(state: GenState) -> str:
    """planner (repair) | tool_runner (valid plan) | end (failed, or artifacts checked)."""
    status = state.get("status")
    if state.get("phase") == "artifacts" or status == "failed":
        return "end"
    if status == "repairing":
        return "planner"
    return "tool_runner"

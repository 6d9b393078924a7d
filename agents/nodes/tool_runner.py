"""The tool-runner agent: prove the plan runs, on Flowwright's own engine, before generating code.

By default it is a dry run with example inputs (pure and read-only tools execute, the rest are
simulated from their output schemas). With `execute` it is a real run; with `approve` as well, a
run whose steps have side effects (`network`, `writes`) first pauses the job with a LangGraph
interrupt until a human answers (`resume_job(job_id, approved=...)`). A failed *dry* run only
warns (the user's workspace may not hold the files yet); a failed real run fails the job.
"""

from __future__ import annotations

from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.types import interrupt

from agents.nodes.common import agent_node
from agents.nodes.examples import example_inputs, read_paths, with_examples
from agents.state import GenContext, GenState, error_dict
from app.engine.inputs import InputError
from app.engine.results import RunResult, RunStatus, StepStatus
from app.engine.runner import WorkflowRunner
from app.workflow.diagnostics import Diagnostic, Severity
from app.workflow.spec import WorkflowSpec

SIDE_EFFECTS = ("network", "writes")


def _describe(update: dict[str, Any]) -> str:
    if update.get("error"):
        return f"failed: {update['error']['message']}"
    run = update.get("run") or {}
    kind = "dry run" if run.get("dry_run") else "run"
    return f"{kind} {run.get('status')} ({len(run.get('simulated_steps') or [])} simulated)"


def side_effect_steps(spec: WorkflowSpec, context: GenContext) -> list[dict[str, str]]:
    catalog = context.catalog
    return [
        {"step": s.id, "tool": s.tool, "side_effect": str(catalog.info(s.tool).side_effect)}
        for s in spec.steps
        if s.tool in catalog and catalog.info(s.tool).side_effect in SIDE_EFFECTS
    ]


def _ask(state: GenState, steps: list[dict[str, str]]) -> bool:
    """Pause the job until a human approves or rejects the real run."""
    decision = interrupt(
        {
            "kind": "approval",
            "job_id": state.get("job_id"),
            "message": f"the run has {len(steps)} step(s) with side effects",
            "steps": steps,
        }
    )
    return bool(decision.get("approved")) if isinstance(decision, dict) else bool(decision)


async def _run(
    runner: WorkflowRunner, spec: WorkflowSpec, inputs: dict[str, Any], run_id: str, *,
    execute: bool, approved: bool,
) -> RunResult:  # fmt: skip
    result = await runner.run(spec, inputs, dry_run=not execute, run_id=run_id)
    while result.status is RunStatus.WAITING_APPROVAL and approved:
        # The job-level approval covers the steps marked `approval: true` as well.
        result = await runner.decide(spec, run_id, approved=True, reason="approved for the job")
    return result


def _environment_only(result: RunResult, spec: WorkflowSpec, context: GenContext) -> bool:
    """True when the dry run failed only for want of the user's files or configuration.

    Those plans are fine (the generated tests bring sample files); any other failure means
    the plan itself is broken, and generating code for it would only produce failing tests.
    """
    known = read_paths(spec, context.catalog)
    failed = [s for s in result.steps if s.status is StepStatus.FAILED]
    return bool(failed) and all(
        (s.error or {}).get("code") == "NOT_CONFIGURED"
        or (s.id in known and (s.error or {}).get("code") == "TOOL_INPUT")
        for s in failed
    )


@agent_node("tool_runner", _describe)
async def tool_runner_node(
    state: GenState, context: GenContext, config: RunnableConfig
) -> dict[str, Any]:
    """Dry-run (or run) the validated plan and record the result."""
    options = state.get("options") or {}
    spec = with_examples(WorkflowSpec.model_validate(state["plan"]))
    execute = bool(options.get("execute"))
    approved = False
    if execute and options.get("approve"):
        steps = side_effect_steps(spec, context)
        if steps:
            approved = _ask(state, steps)
            if not approved:
                error = error_dict("APPROVAL_REJECTED", "the run was rejected by a human")
                return {"status": "rejected", "error": error}
    inputs = {**example_inputs(spec), **(options.get("inputs") or {})}
    run_id = f"{state.get('job_id')}-run"
    try:
        result = await _run(
            WorkflowRunner(context.catalog),
            spec,
            inputs,
            run_id,
            execute=execute,
            approved=approved,
        )
    except InputError as exc:
        return {"status": "failed", "error": error_dict(exc.code, exc.message, exc.hint)}
    update: dict[str, Any] = {"run": result.model_dump(mode="json"), "plan": spec.to_data()}
    if result.status is RunStatus.SUCCEEDED:
        return {**update, "status": "ran"}
    reason = (result.error or {}).get("message") or result.status.value
    if result.status is RunStatus.WAITING_APPROVAL:
        reason = f"step {result.waiting_for!r} waits for approval"
        hint = "Generate with --approve to approve the run, or run without --execute."
    else:
        hint = (result.error or {}).get("hint")
    if execute:
        return {**update, "status": "failed", "error": error_dict("RUN_FAILED", reason, hint)}
    if not _environment_only(result, spec, context):
        error = error_dict(
            "DRY_RUN_FAILED",
            f"the plan does not run, even as a dry run with example inputs: {reason}",
            "A step gets data it cannot use; rephrase the request, or edit workflow.yaml.",
        )
        return {**update, "status": "failed", "error": error}
    warning = Diagnostic(
        code="DRY_RUN_FAILED",
        severity=Severity.WARNING,
        message=f"the dry run with example inputs failed: {reason}",
        hint=hint,
    ).model_dump(mode="json")
    return {**update, "status": "ran", "diagnostics": [*(state.get("diagnostics") or []), warning]}


def route_after_tool_runner(state: GenState) -> str:
    return "end" if state.get("status") in ("failed", "rejected") else "generator"

"""Running one step: skip rules, `when`, `for_each`, approval, dry-run simulation, retry, timeout.

A step node returns a `StepRecord` and never raises for a tool failure: failures are data, so the
run can report every step, honour `on_error: continue`, and resume from checkpoints.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from langchain_core.tools import BaseTool
from pydantic import ValidationError

from app.engine.caller import ToolCaller
from app.engine.results import DONE_OK, StepError, StepRecord, StepStatus
from app.engine.retry import backoff_delay, is_transient
from app.engine.simulate import sample
from app.errors import FlowwrightError
from app.observability.run_trace import ToolAttempt, current_trace
from app.tools.base import ToolInfo
from app.workflow import expressions
from app.workflow.spec import RetryPolicy, StepSpec

DEFAULT_FOR_EACH_CONCURRENCY = 8
MAX_FOR_EACH_ITEMS = 10_000
NO_RETRY = RetryPolicy(max_attempts=1)


@dataclass(frozen=True)
class StepPlan:
    """A step bound to its tool, compiled once per workflow."""

    step: StepSpec
    tool: BaseTool
    info: ToolInfo
    deps: frozenset[str]

    @property
    def has_side_effects(self) -> bool:
        return self.info.side_effect in ("network", "writes")

    @cached_property
    def caller(self) -> ToolCaller:
        """Calls the tool like `ainvoke` does, without its per-call set-up when nothing listens."""
        return ToolCaller(self.tool, inline_ok=self.info.side_effect == "pure")


class StepFailure(Exception):
    """A step attempt failed; carries the user-facing error."""

    def __init__(self, error: StepError, *, transient: bool, cause: BaseException | None = None):
        super().__init__(error["message"])
        self.error = error
        self.transient = transient
        self.cause = cause
        self.attempts = 1


def error_of(exc: BaseException) -> StepError:
    """A user-facing error (code, message, hint) for any exception a step can raise."""
    if isinstance(exc, StepFailure):
        return exc.error
    if isinstance(exc, FlowwrightError):
        return {"code": exc.code, "message": exc.message, "hint": exc.hint}
    if isinstance(exc, ValidationError):
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'params'}: {e['msg']}" for e in exc.errors()
        )
        return {"code": "TOOL_INPUT", "message": problems, "hint": "Check the step's params."}
    if isinstance(exc, TimeoutError):
        return {"code": "TIMEOUT", "message": "the step timed out", "hint": "Raise timeout_s."}
    return {"code": "TOOL_CRASHED", "message": f"{type(exc).__name__}: {exc}", "hint": None}


def expression_context(
    inputs: Mapping[str, Any], results: Mapping[str, StepRecord]
) -> dict[str, Any]:
    """The variables expressions see: `inputs` and `steps.<id>.{output,status,error}`."""
    steps = {
        step_id: {
            "output": rec.get("output"),
            "status": rec.get("status"),
            "error": rec.get("error"),
        }
        for step_id, rec in results.items()
    }
    return {"inputs": inputs, "steps": steps}


def skip_reason(plan: StepPlan, results: Mapping[str, StepRecord]) -> str | None:
    """Steps whose every dependency was skipped are skipped too."""
    if plan.deps and all(results.get(d, {}).get("status") == StepStatus.SKIPPED for d in plan.deps):
        return "all of its dependencies were skipped"
    return None


async def call_tool(plan: StepPlan, params: dict[str, Any]) -> Any:
    """One attempt, recorded in the run's trace when the engine traces this run."""
    trace = current_trace.get()
    if trace is None:
        return await _call_tool(plan, params)
    started = time.time()
    try:
        output = await _call_tool(plan, params)
    except Exception as exc:
        trace.attempt(ToolAttempt(plan.step.id, plan.step.tool, started, time.time(), params,
                                  error=error_of(exc)["message"]))  # fmt: skip
        raise
    trace.attempt(ToolAttempt(plan.step.id, plan.step.tool, started, time.time(), params, output))
    return output


async def _call_tool(plan: StepPlan, params: dict[str, Any]) -> Any:
    """One attempt, bounded by the step's timeout."""
    timeout = plan.step.timeout_s
    try:
        if timeout is None:
            return await plan.caller(params, inline=True)
        # Never inline: only a call running in a thread can be abandoned when it times out.
        return await asyncio.wait_for(plan.caller(params, inline=False), timeout)
    except TimeoutError as exc:
        raise StepFailure(
            {
                "code": "TIMEOUT",
                "message": f"step timed out after {timeout:g}s",
                "hint": "Raise timeout_s or add a retry policy.",
            },
            transient=True,
            cause=exc,
        ) from exc


async def call_with_retry(plan: StepPlan, params: dict[str, Any]) -> tuple[Any, int]:
    """Call the tool, retrying transient failures per the step's policy; returns (output, tries)."""
    policy = plan.step.retry or NO_RETRY
    attempt = 0
    while True:
        attempt += 1
        try:
            return await call_tool(plan, params), attempt
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            transient = exc.transient if isinstance(exc, StepFailure) else is_transient(exc)
            if not transient or attempt >= policy.max_attempts:
                failure = StepFailure(error_of(exc), transient=transient, cause=exc)
                failure.attempts = attempt
                raise failure from exc
            await asyncio.sleep(backoff_delay(policy, attempt, getattr(exc, "cause", exc) or exc))


def render_params(plan: StepPlan, context: dict[str, Any]) -> dict[str, Any]:
    try:
        return expressions.evaluate(plan.step.params, context)
    except expressions.ExpressionError as exc:
        raise StepFailure(error_of(exc), transient=False, cause=exc) from exc


def evaluate_items(plan: StepPlan, context: dict[str, Any]) -> list[Any] | None:
    """The `for_each` list, or None for a plain step."""
    spec = plan.step.for_each
    if spec is None:
        return None
    try:
        items = expressions.evaluate(spec, context)
    except expressions.ExpressionError as exc:
        raise StepFailure(error_of(exc), transient=False, cause=exc) from exc
    if isinstance(items, dict):
        items = [{"key": k, "value": v} for k, v in items.items()]
    if not isinstance(items, list | tuple):
        raise StepFailure(
            {
                "code": "FOR_EACH_NOT_LIST",
                "message": f"for_each gave {type(items).__name__}, not a list",
                "hint": "Point for_each at a list, e.g. `{{ steps.read.output }}`.",
            },
            transient=False,
        )
    if len(items) > MAX_FOR_EACH_ITEMS:
        raise StepFailure(
            {
                "code": "FOR_EACH_TOO_MANY",
                "message": f"for_each gave {len(items)} items (limit {MAX_FOR_EACH_ITEMS})",
                "hint": "Use a batch run for large inputs.",
            },
            transient=False,
        )
    return list(items)


def evaluate_when(plan: StepPlan, context: dict[str, Any]) -> bool:
    when = plan.step.when
    if when is None:
        return True
    try:
        return bool(expressions.evaluate(when, context))
    except expressions.ExpressionError as exc:
        raise StepFailure(error_of(exc), transient=False, cause=exc) from exc


async def run_items(
    plan: StepPlan, context: dict[str, Any], items: list[Any]
) -> tuple[list[Any], list[StepError | None], int]:
    """Fan out over items with a concurrency limit; results keep the items' order."""
    limit = asyncio.Semaphore(plan.step.concurrency or DEFAULT_FOR_EACH_CONCURRENCY)
    outputs: list[Any] = [None] * len(items)
    errors: list[StepError | None] = [None] * len(items)
    attempts = 0

    async def one(index: int, item: Any) -> None:
        nonlocal attempts
        async with limit:
            try:
                params = render_params(plan, {**context, "item": item})
                outputs[index], tries = await call_with_retry(plan, params)
                attempts += tries
            except StepFailure as failure:
                errors[index] = failure.error
                attempts += failure.attempts

    await asyncio.gather(*(one(i, item) for i, item in enumerate(items)))
    return outputs, errors, attempts


def simulated_output(plan: StepPlan, items: list[Any] | None) -> Any:
    one = sample(plan.info.output_schema)
    return [one for _ in items] if items is not None else one


async def execute(
    plan: StepPlan,
    inputs: Mapping[str, Any],
    results: Mapping[str, StepRecord],
    *,
    dry_run: bool,
    approve: Any = None,
) -> StepRecord:
    """Run one step and describe what happened. `approve(payload) -> bool` asks a human."""
    started = time.time()
    record: StepRecord = {"started_at": started, "attempts": 0}
    reason = skip_reason(plan, results)
    if reason:
        return record | {"status": StepStatus.SKIPPED, "reason": reason, "finished_at": started}
    context = expression_context(inputs, results)
    try:
        if not evaluate_when(plan, context):
            return record | {
                "status": StepStatus.SKIPPED,
                "reason": "its `when` condition was false",
                "finished_at": time.time(),
            }
        items = evaluate_items(plan, context)
        if plan.step.approval and not dry_run and approve is not None:
            preview = render_params(plan, context) if items is None else plan.step.params
            if not approve({"step": plan.step.id, "tool": plan.step.tool, "params": preview}):
                return record | {
                    "status": StepStatus.REJECTED,
                    "reason": "approval was rejected",
                    "finished_at": time.time(),
                }
        if dry_run and plan.has_side_effects:
            if items is None:
                render_params(plan, context)  # still prove the params evaluate
            return record | {
                "status": StepStatus.SIMULATED,
                "output": simulated_output(plan, items),
                "reason": f"dry run: `{plan.info.side_effect}` tool not executed",
                "finished_at": time.time(),
            }
        if items is None:
            output, attempts = await call_with_retry(plan, render_params(plan, context))
            return record | {
                "status": StepStatus.SUCCEEDED,
                "output": output,
                "attempts": attempts,
                "finished_at": time.time(),
            }
        outputs, errors, attempts = await run_items(plan, context, items)
        failed = [e for e in errors if e is not None]
        record |= {"output": outputs, "attempts": attempts, "finished_at": time.time()}
        if not failed:
            return record | {"status": StepStatus.SUCCEEDED}
        return record | {
            "status": StepStatus.FAILED,
            "item_errors": errors,
            "error": {
                "code": failed[0]["code"],
                "message": f"{len(failed)} of {len(items)} items failed; first: "
                f"{failed[0]['message']}",
                "hint": failed[0]["hint"],
            },
        }
    except StepFailure as failure:
        return record | {
            "status": StepStatus.FAILED,
            "error": failure.error,
            "attempts": failure.attempts,
            "finished_at": time.time(),
        }


def succeeded(record: StepRecord) -> bool:
    return record.get("status") in DONE_OK

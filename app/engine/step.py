"""Running one step: skip rules, `when`, `for_each`, approval, dry-run simulation, retry, timeout.

A step node returns a `StepRecord` and never raises for a tool failure: failures are data, so the
run can report every step, honour `on_error: continue`, and resume from checkpoints.
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import time
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from langchain_core.callbacks import BaseCallbackManager
from langchain_core.globals import get_debug
from langchain_core.runnables.config import var_child_runnable_config
from langchain_core.tools import BaseTool, InjectedToolCallId, StructuredTool
from langchain_core.tools.base import _is_injected_arg_type, get_all_basemodel_annotations
from langchain_core.tracers.context import tracing_v2_callback_var
from langsmith.utils import tracing_is_enabled
from pydantic import BaseModel, ValidationError

from app.engine.results import DONE_OK, StepError, StepRecord, StepStatus
from app.engine.retry import backoff_delay, is_transient
from app.engine.simulate import sample
from app.errors import FlowwrightError
from app.observability.run_trace import ToolAttempt, current_trace
from app.tools.base import ToolInfo
from app.workflow import expressions
from app.workflow.spec import RetryPolicy, StepSpec

DEFAULT_FOR_EACH_CONCURRENCY = 8
INLINE_MAX_S = 0.002  # a pure sync tool this fast runs on the event loop, not in a thread,
INLINE_AFTER_FAST_CALLS = 3  # once this many calls in a row were that fast
MAX_FOR_EACH_ITEMS = 10_000
NO_RETRY = RetryPolicy(max_attempts=1)


def _listening() -> bool:
    """True when a tool call would be seen: callbacks in the run config, tracing or debug on."""
    config = var_child_runnable_config.get()
    callbacks = config.get("callbacks") if config else None
    if callbacks:
        if not isinstance(callbacks, BaseCallbackManager):
            return True
        if callbacks.handlers or callbacks.inheritable_handlers:
            return True
    return bool(tracing_v2_callback_var.get() is not None or tracing_is_enabled() or get_debug())


def _direct_ok(tool: BaseTool) -> bool:
    """Whether calling the wrapped function is exactly what `tool.ainvoke(params)` would do.

    Only plain `StructuredTool`s with a Pydantic args schema qualify: no callbacks, error
    handlers, artifacts, injected arguments, or functions that want a config or callbacks.
    """
    if type(tool) is not StructuredTool or tool.callbacks or tool.verbose:
        return False
    schema = tool.args_schema
    if not (isinstance(schema, type) and issubclass(schema, BaseModel)):
        return False
    if tool.handle_tool_error or tool.handle_validation_error:
        return False
    if tool.response_format != "content" or tool._injected_args_keys:
        return False
    func = tool.coroutine or tool.func
    if func is None:
        return False
    try:
        names = set(inspect.signature(func).parameters)
    except (TypeError, ValueError):
        return False
    return not names & {"callbacks", "run_manager", "config"}


class ToolCaller:
    """Calls a tool as `tool.ainvoke(params)` would, skipping LangChain's per-call set-up.

    `ainvoke` configures a callback manager and, for a sync function, hops to a thread on every
    call (hundreds of µs). When nothing listens (no callbacks, tracing or debug) this validates
    the params with the tool's own parser and calls the function itself. A sync `pure` function
    runs on the event loop while its recent calls have been short (and the step has no
    timeout); one slow call sends it back to a thread, so slow tools keep running concurrently.
    """

    def __init__(self, tool: BaseTool, *, inline_ok: bool):
        self.tool = tool
        self.direct = _direct_ok(tool)
        self.inline_ok = inline_ok and self.direct and getattr(tool, "coroutine", None) is None
        self.fast_streak = 0  # consecutive calls that took under INLINE_MAX_S
        self.fields: tuple[str, ...] | None = None  # set when `_kwargs` can replace the parser
        self.defaulted: frozenset[str] = frozenset()
        if self.direct:
            self._plan_parsing()

    def _plan_parsing(self) -> None:
        """Precompute what `BaseTool._parse_input` re-derives on every call for a plain schema."""
        schema: Any = self.tool.args_schema
        if schema.model_config.get("extra") == "allow" or not schema.model_fields:
            return
        try:
            annotations = get_all_basemodel_annotations(schema)
        except Exception:
            return
        if any(_is_injected_arg_type(t, InjectedToolCallId) for t in annotations.values()):
            return
        fields = schema.model_fields
        self.fields = tuple(k for k in fields if k not in ("args", "kwargs"))
        self.defaulted = frozenset(k for k in self.fields if not fields[k].is_required())

    def _kwargs(self, params: dict[str, Any]) -> dict[str, Any]:
        """The validated keyword arguments, exactly as `tool._to_args_and_kwargs` builds them:
        fields that were given (or set through an alias) and fields with defaults."""
        if self.fields is None:
            return self.tool._to_args_and_kwargs(params, None)[1]  # type: ignore[attr-defined]
        result = self.tool.args_schema.model_validate(params)  # type: ignore[union-attr]
        given = result.model_fields_set
        return {
            k: getattr(result, k)
            for k in self.fields
            if k in params or k in given or k in self.defaulted
        }

    async def __call__(self, params: dict[str, Any], *, inline: bool) -> Any:
        if not self.direct or _listening():
            return await self.tool.ainvoke(params)
        tool: Any = self.tool
        kwargs = self._kwargs(params)
        if tool.coroutine is not None:
            return await tool.coroutine(**kwargs)
        if inline and self.inline_ok and self.fast_streak >= INLINE_AFTER_FAST_CALLS:
            return self._timed(tool.func, kwargs)
        context = contextvars.copy_context()
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, lambda: context.run(self._timed, tool.func, kwargs))

    def _timed(self, func: Any, kwargs: dict[str, Any]) -> Any:
        start = time.perf_counter()
        try:
            return func(**kwargs)
        finally:
            fast = time.perf_counter() - start < INLINE_MAX_S
            self.fast_streak = self.fast_streak + 1 if fast else 0


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

"""Calling a step's tool exactly as `tool.ainvoke(params)` would, minus its per-call set-up.

`ainvoke` configures a callback manager and, for a sync function, hops to a thread on every
call: hundreds of microseconds, more than many tools take. When nothing listens (no callbacks,
LangSmith tracing or debug) the engine calls the function itself; the engine's own run traces
(`app.observability.run_trace`) need no callbacks, so they keep this path.
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import time
from typing import Any

from langchain_core.callbacks import BaseCallbackManager
from langchain_core.globals import get_debug
from langchain_core.runnables.config import var_child_runnable_config
from langchain_core.tools import BaseTool, InjectedToolCallId, StructuredTool
from langchain_core.tools.base import _is_injected_arg_type, get_all_basemodel_annotations
from langchain_core.tracers.context import tracing_v2_callback_var
from langsmith.utils import tracing_is_enabled
from pydantic import BaseModel

INLINE_MAX_S = 0.002  # a pure sync tool this fast runs on the event loop, not in a thread,
INLINE_AFTER_FAST_CALLS = 3  # once this many calls in a row were that fast


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

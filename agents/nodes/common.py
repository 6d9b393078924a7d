"""What every agent node shares: progress events, metrics and the tracing identity of the job.

Each node is wrapped so it announces `node_started` / `node_finished` through LangGraph's custom
stream (the CLI shows them live, the API can forward them as SSE) and records the same events in
state, so a finished or resumed job still tells what happened. The wrapper also records the
node's execution count, duration and errors in Prometheus (`observe_node`), so no node can be
added without being measured.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.config import get_stream_writer
from langgraph.errors import GraphBubbleUp
from langgraph.runtime import Runtime

from agents.state import GenContext, GenState
from app.observability.metrics import observe_node

NodeBody = Callable[[GenState, GenContext, RunnableConfig], Awaitable[dict[str, Any]]]


def event(kind: str, node: str, job_id: str | None, detail: Any = None) -> dict[str, Any]:
    return {"event": kind, "node": node, "job_id": job_id, "detail": detail, "ts": time.time()}


def _writer() -> Callable[[Any], None]:
    try:
        return get_stream_writer()
    except RuntimeError:  # called outside a graph run (unit tests of a node)
        return lambda _chunk: None


def last_duration_s(state: GenState, node: str) -> float | None:
    """Seconds the latest finished execution of `node` took, from the events kept in state.

    Lets a later node (the validator) attribute a time to an earlier one (the planner) without
    adding state keys: the events are checkpointed, so this holds across resumed jobs too.
    """
    for item in reversed(state.get("events") or []):
        if item.get("event") == "node_finished" and item.get("node") == node:
            ms = item.get("duration_ms")
            return ms / 1000 if isinstance(ms, int | float) else None
    return None


def agent_node(name: str, describe: Callable[[dict[str, Any]], Any] | None = None) -> Any:
    """Wrap a node body: emit start/finish events, pass the runtime context, keep the events.

    `describe(update)` turns the node's update into the `detail` of its `node_finished` event.
    A body that raises is counted as an error before the exception propagates; a LangGraph
    interrupt (an approval pause) is not an execution at all, since the node runs again from
    the start on resume, and is left uncounted.
    """

    def decorate(body: NodeBody) -> Any:
        async def node(
            state: GenState, config: RunnableConfig, runtime: Runtime[GenContext]
        ) -> dict[str, Any]:
            write = _writer()
            job_id = state.get("job_id")
            started = event("node_started", name, job_id)
            write(started)
            begin = time.perf_counter()
            try:
                update = await body(state, runtime.context, config)
            except GraphBubbleUp:  # interrupt(): paused, not finished and not failed
                raise
            except BaseException:
                observe_node(name, time.perf_counter() - begin, error=True)
                raise
            observe_node(name, time.perf_counter() - begin)
            detail = describe(update) if describe else None
            finished = event("node_finished", name, job_id, detail)
            finished["duration_ms"] = round((time.perf_counter() - begin) * 1000, 1)
            write(finished)
            return {**update, "events": [started, finished]}

        node.__name__ = name  # not functools.wraps: LangGraph reads the real signature
        node.__doc__ = body.__doc__
        return node

    return decorate

"""What every agent node shares: progress events and the tracing identity of the job.

Each node is wrapped so it announces `node_started` / `node_finished` through LangGraph's custom
stream (the CLI shows them live, the API can forward them as SSE) and records the same events in
state, so a finished or resumed job still tells what happened.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.config import get_stream_writer
from langgraph.runtime import Runtime

from agents.state import GenContext, GenState

NodeBody = Callable[[GenState, GenContext, RunnableConfig], Awaitable[dict[str, Any]]]


def event(kind: str, node: str, job_id: str | None, detail: Any = None) -> dict[str, Any]:
    return {"event": kind, "node": node, "job_id": job_id, "detail": detail, "ts": time.time()}


def _writer() -> Callable[[Any], None]:
    try:
        return get_stream_writer()
    except RuntimeError:  # called outside a graph run (unit tests of a node)
        return lambda _chunk: None


def agent_node(name: str, describe: Callable[[dict[str, Any]], Any] | None = None) -> Any:
    """Wrap a node body: emit start/finish events, pass the runtime context, keep the events.

    `describe(update)` turns the node's update into the `detail` of its `node_finished` event.
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
            update = await body(state, runtime.context, config)
            detail = describe(update) if describe else None
            finished = event("node_finished", name, job_id, detail)
            finished["duration_ms"] = round((time.perf_counter() - begin) * 1000, 1)
            write(finished)
            return {**update, "events": [started, finished]}

        node.__name__ = name  # not functools.wraps: LangGraph reads the real signature
        node.__doc__ = body.__doc__
        return node

    return decorate

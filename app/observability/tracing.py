"""Tracing: LangSmith through its own ``LANGSMITH_*`` variables, and a local trace store.

* `tracing_config` is the one place a graph invocation gets its tracing identity: run name,
  tags, ``job_id``/``run_id`` metadata (LangSmith filters on them; the local store indexes them)
  and the callbacks (local trace store, LLM metrics). Merge it into the config of every
  ``graph.astream``/``ainvoke``.
* `configure_langsmith` installs a LangSmith client whose ``anonymizer`` applies the same
  redaction as the logs to inputs, outputs, metadata and errors before anything is uploaded.
  Tracing itself is switched on by LangSmith's standard ``LANGSMITH_TRACING=true``.
* `app.observability.trace_store.LocalTraceStore` records traces in Flowwright's database,
  always, with no account.

Nesting: a traced invocation inside another (the generator's tool_runner node runs a workflow
through the engine, which traces its runs) is one trace, not two. `tracing_config` finds the
handlers the enclosing run passes down and does not add a second store or metrics handler
(two stores would write the same run ids twice; two metrics handlers would count LLM calls
twice); a `TraceLink` stands in for the store and reports the enclosing trace's id.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.runnables import RunnableConfig

from app.config import get_settings
from app.observability.redaction import redact

TRACE_TAG = "flowwright"


def trace_redaction_enabled() -> bool:
    """``FLOWWRIGHT_TRACE_REDACT`` (default on): mask secrets in stored trace payloads."""
    return get_settings().trace_redact


def local_traces_enabled() -> bool:
    """``FLOWWRIGHT_TRACE_LOCAL`` (default on): record traces in Flowwright's database."""
    return get_settings().trace_local


def langsmith_enabled() -> bool:
    """Whether LangSmith tracing is on (``LANGSMITH_TRACING=true`` or its older aliases)."""
    from langsmith import utils

    return bool(utils.tracing_is_enabled())


def configure_langsmith(force: bool = False) -> Any:
    """Install a redacting LangSmith client as the process-wide tracing client.

    Call once at start-up (API lifespan, CLI commands that run graphs). Endpoint, key and
    project come from ``LANGSMITH_ENDPOINT``/``LANGSMITH_API_KEY``/``LANGSMITH_PROJECT``.
    Returns the client, or None when tracing is off (unless `force`).
    """
    if not (force or langsmith_enabled()):
        return None
    from langsmith import Client, run_trees

    client = Client(anonymizer=redact)
    run_trees.configure(client=client)
    return client


def flush_traces() -> None:
    """Block until LangSmith has received every queued run (end of a CLI command, shutdown)."""
    from langchain_core.tracers.langchain import wait_for_all_tracers

    wait_for_all_tracers()


def tracing_config(
    job_id: str | None = None,
    run_id: str | None = None,
    kind: str = "workflow",
    *,
    name: str | None = None,
    tags: Sequence[str] = (),
    metadata: dict[str, Any] | None = None,
    local: bool | None = None,
    metrics: bool = True,
    callbacks: Sequence[BaseCallbackHandler] = (),
) -> RunnableConfig:
    """The tracing part of a RunnableConfig: run name, tags, ids in metadata and callbacks.

    `kind` is ``workflow`` (an engine run) or ``generate`` (a generator job). `local` adds a
    `LocalTraceStore` (default: the ``trace_local`` setting); `metrics` adds the LLM metrics
    handler. Merge with the caller's config, e.g. ``{**tracing_config(...), "configurable":
    {...}}`` (this function never sets ``configurable``).
    """
    from app import __version__
    from app.observability.callbacks import MetricsCallbackHandler
    from app.observability.trace_store import LocalTraceStore, TraceLink

    handlers: list[BaseCallbackHandler] = list(callbacks)
    inherited = inherited_handlers()
    if local if local is not None else local_traces_enabled():
        enclosing = next((h for h in inherited if isinstance(h, LocalTraceStore)), None)
        handlers.append(TraceLink(enclosing) if enclosing is not None else LocalTraceStore())
    if metrics and not any(isinstance(h, MetricsCallbackHandler) for h in inherited):
        handlers.append(MetricsCallbackHandler())
    meta: dict[str, Any] = {"flowwright_kind": kind, "flowwright_version": __version__}
    if job_id is not None:
        meta["job_id"] = job_id
    if run_id is not None:
        meta["run_id"] = run_id
    meta.update(metadata or {})
    config: RunnableConfig = {
        "run_name": name or f"flowwright.{kind}",
        "tags": [TRACE_TAG, kind, *tags],
        "metadata": meta,
    }
    if handlers:
        config["callbacks"] = handlers
    return config


def inherited_handlers() -> list[BaseCallbackHandler]:
    """Callback handlers an enclosing run passes to runnables started inside it (if any).

    LangChain keeps the running node's child config in a context variable and merges it into
    the config of any runnable invoked from there, handlers included.
    """
    from langchain_core.callbacks import BaseCallbackManager
    from langchain_core.runnables.config import var_child_runnable_config

    parent = var_child_runnable_config.get() or {}
    callbacks = parent.get("callbacks")
    if isinstance(callbacks, BaseCallbackManager):
        return list(callbacks.handlers)
    return list(callbacks or [])

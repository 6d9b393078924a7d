"""Tracing: LangSmith through its own ``LANGSMITH_*`` variables, and a local trace store.

* `tracing_config` is the one place a graph invocation gets its tracing identity: run name,
  tags, ``job_id``/``run_id`` metadata (LangSmith filters on them; the local store indexes them)
  and the callbacks (local trace store, LLM metrics). Merge it into the config of every
  ``graph.astream``/``ainvoke``.
* `configure_langsmith` installs a LangSmith client whose ``anonymizer`` applies the same
  redaction as the logs to inputs, outputs, metadata and errors before anything is uploaded.
  Tracing itself is switched on by LangSmith's standard ``LANGSMITH_TRACING=true``.
* `LocalTraceStore` is a LangChain tracer that always works, with no account: when a trace's
  root run ends, the whole tree is written in one transaction (no commit per event).

Nesting: a traced invocation inside another (the generator's tool_runner node runs a workflow
through the engine, which traces its runs) is one trace, not two. `tracing_config` finds the
handlers the enclosing run passes down and does not add a second store or metrics handler
(two stores would write the same run ids twice; two metrics handlers would count LLM calls
twice); a `TraceLink` stands in for the store and reports the enclosing trace's id.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from typing import Any

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.runnables import RunnableConfig
from langchain_core.tracers.base import BaseTracer
from langchain_core.tracers.schemas import Run

from app.config import get_settings
from app.db.values import capped_json_data, to_json_value
from app.observability.redaction import REDACTED, is_secret_key, redact, redact_text

log = logging.getLogger(__name__)

TRACE_TAG = "flowwright"
INTERRUPT_ERRORS = ("GraphInterrupt", "NodeInterrupt")


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


class TraceLink(BaseCallbackHandler):
    """Stands in for a `LocalTraceStore` in a run nested inside an already-stored trace.

    The enclosing store writes the nested runs as part of its tree; this handler only learns
    which trace that is, from the enclosing store's index, when its first run starts (the
    enclosing store, an inherited handler, has already seen that start). `trace_ids` has the
    same meaning as on the store, so callers link a run to its trace the same way.
    """

    run_inline = True
    raise_error = False

    def __init__(self, store: LocalTraceStore) -> None:
        self.store = store
        self.trace_ids: list[str] = []

    def on_chain_start(
        self, serialized: Any, inputs: Any, *, run_id: Any, parent_run_id: Any = None, **_: Any
    ) -> None:
        if self.trace_ids:
            return
        found = self.store.order_map.get(run_id)
        if found is not None:
            self.trace_ids.append(str(found[0]))


# --- local trace store ------------------------------------------------------------------------
def redacted_json(value: Any, memo: dict[int, Any]) -> Any:
    """JSON data of `value` with secrets masked: `to_json_value` then `redact`, in one walk.

    Containers are memoised by identity for the lifetime of `memo` (one trace write, while the
    runs keep every original alive, so ids cannot be reused). Objects other than plain
    containers and scalars take the exact slow path, so nothing escapes redaction.
    """
    if value is None or isinstance(value, bool | int | float):
        return to_json_value(value) if isinstance(value, float) else value
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict | list | tuple):
        key = id(value)
        if key in memo:
            return memo[key]
        memo[key] = "[CYCLE]"  # a reference back into a container being cleaned
        if isinstance(value, dict):
            result: Any = {
                (k if isinstance(k, str) else to_json_value(k)): (
                    (v if v is None or isinstance(v, bool | int | float) else REDACTED)
                    if is_secret_key(k)
                    else redacted_json(v, memo)
                )
                for k, v in value.items()
            }
        else:
            result = [redacted_json(v, memo) for v in value]
        memo[key] = result
        return result
    return redact(to_json_value(value))


def _walk(run: Run) -> Iterator[Run]:
    stack = [run]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(current.child_runs))


def run_status(run: Run) -> str:
    """success | error | interrupted (a LangGraph approval pause) | pending (never ended)."""
    if run.error:
        return "interrupted" if run.error.startswith(INTERRUPT_ERRORS) else "error"
    return "success" if run.end_time else "pending"


class LocalTraceStore(BaseTracer):
    """A LangChain tracer that stores finished traces in the ``trace_runs`` table.

    Runs inline (no thread hop per callback, parents always precede children). When the root
    run ends, the finished tree goes to the trace writer thread, which builds the rows
    (redacted, size-capped copies) and stores them in one statement. A storage
    failure is logged and never breaks the traced run. `trace_ids` lists the traces this
    instance handed over (newest last), so callers can link a job or run to its trace.
    """

    run_inline = True

    def __init__(self, *, redact_payloads: bool | None = None, url: str | None = None) -> None:
        super().__init__(_schema_format="original+chat")
        self.redact_payloads = (
            trace_redaction_enabled() if redact_payloads is None else redact_payloads
        )
        self.url = url
        self.trace_ids: list[str] = []
        self.nested: dict[str, list[bytes]] = {}

    def add_nested(self, trace_id: str, snapshot: bytes) -> None:
        """A run the engine recorded inside one of this store's traces (a generation's dry
        run, `app.observability.run_trace`): written with that trace when its root ends."""
        self.nested.setdefault(trace_id, []).append(snapshot)

    def _persist_run(self, run: Run) -> None:
        from app.db.migrate import resolve_url
        from app.observability.trace_writer import schema_ready, submit_trace_write

        try:
            # The finished tree is handed over whole: LangChain no longer touches it, and the
            # graph state its inputs refer to is not changed once the run is over.
            url = resolve_url(self.url)
            nested = self.nested.pop(str(run.trace_id or run.id), [])
            if schema_ready(url):
                submit_trace_write(lambda: write_trace_rows(self.rows(run, nested), url))
                self.trace_ids.append(str(run.trace_id or run.id))
        except Exception:  # tracing must never fail the run it observes
            log.warning("could not store trace %s", run.id, exc_info=True)
        finally:
            for item in _walk(run):
                self.order_map.pop(item.id, None)

    def rows(self, root: Run, nested: Sequence[bytes] = ()) -> list[dict[str, Any]]:
        """Column values of every run in the tree of `root` (one `TracePayload` per trace),
        then the rows of the engine-recorded runs `nested` in it."""
        from app.observability.run_trace import root_row, stored_snapshot

        root_meta = (root.extra or {}).get("metadata") or {}
        payload = TracePayload(self.redact_payloads)
        rows = []
        for run in _walk(root):
            meta = (run.extra or {}).get("metadata") or {}
            job_id = meta.get("job_id", root_meta.get("job_id"))
            run_id = meta.get("run_id", root_meta.get("run_id"))
            error = run.error
            if error and self.redact_payloads:
                error = redact(error)
            rows.append(
                {
                    "id": str(run.id),
                    "trace_id": str(run.trace_id or root.id),
                    "parent_run_id": str(run.parent_run_id) if run.parent_run_id else None,
                    "dotted_order": run.dotted_order or "",
                    "name": (run.name or run.run_type)[:200],
                    "run_type": run.run_type,
                    "start_time": run.start_time,
                    "end_time": run.end_time,
                    "status": run_status(run),
                    "error": error,
                    "inputs": payload(run.inputs),
                    "outputs": payload(run.outputs) if run.outputs is not None else None,
                    "tags": list(run.tags or []) or None,
                    "run_metadata": payload(meta) if meta else None,
                    "job_id": str(job_id)[:64] if job_id is not None else None,
                    "workflow_run_id": str(run_id)[:64] if run_id is not None else None,
                    "runs_document": None,
                    "run_count": None,
                }
            )
        return rows + [root_row(stored_snapshot(s, redact=self.redact_payloads)) for s in nested]


class TracePayload:
    """Turns run inputs/outputs into stored JSON: redacted (unless off) and size-capped.

    One instance per trace: a value that recurs across the trace's runs (a node's inputs are
    the whole graph state, so earlier steps' results recur in every later run) is converted
    and redacted once, not once per run (quadratic in the steps of a long workflow).
    """

    def __init__(self, redact_payloads: bool) -> None:
        self.redact_payloads = redact_payloads
        self.memo: dict[int, Any] = {}

    def __call__(self, value: Any) -> Any:
        data = redacted_json(value, self.memo) if self.redact_payloads else to_json_value(value)
        return capped_json_data(data)[0]


def write_trace_rows(rows: list[dict[str, Any]], url: str | None = None) -> bool:
    """Insert a whole trace in one statement; False (and a warning) when storage fails."""
    from app.db.base import engine_for
    from app.db.migrate import ensure_schema, resolve_url
    from app.db.trace_models import TraceRun

    try:
        resolved = resolve_url(url)
        ensure_schema(resolved)
        with engine_for(resolved, wait_for_disk=False).begin() as conn:
            # Core executemany: one statement for the whole trace (the ORM's bulk insert would
            # split rows into groups by which JSON columns are NULL).
            conn.execute(TraceRun.__table__.insert(), rows)
    except Exception:  # tracing must never fail the run it observes
        log.warning("could not store trace %s", rows[0]["trace_id"] if rows else "?",
                    exc_info=True)  # fmt: skip
        return False
    return True

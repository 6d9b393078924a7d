"""The local trace store: LangChain callbacks recorded as plain runs, stored per finished trace.

`LocalTraceStore` is a callback handler, not a LangChain ``BaseTracer``: a tracer builds a
pydantic ``Run`` (with an event list and a validated copy of every field) for each of the
dozen runs of a generation, which cost about as much as the rest of tracing together. The
store keeps a small record per run instead, with the same ids, parents, trace id and
``dotted_order`` as LangSmith's tracer gives them, and when a trace's root run ends hands the
whole tree to the trace writer, which stores it in one statement.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler

from app.db.values import capped_json_data, to_json_value
from app.observability.redaction import REDACTED, is_secret_key, redact, redact_text
from app.observability.tracing import trace_redaction_enabled

log = logging.getLogger(__name__)

INTERRUPT_ERRORS = ("GraphInterrupt", "NodeInterrupt")


class RecordedRun:
    """One run as the store keeps it until its trace is written (LangSmith's run fields)."""

    __slots__ = (
        "children", "dotted_order", "end_time", "error", "id", "inputs", "metadata", "name",
        "outputs", "parent_run_id", "run_type", "start_time", "tags", "trace_id",
    )  # fmt: skip

    def __init__(
        self, run_id: UUID, parent: RecordedRun | None, name: str, run_type: str,
        inputs: Any, tags: list[str] | None, metadata: dict[str, Any] | None,
    ) -> None:  # fmt: skip
        self.id = run_id
        self.start_time = datetime.now(UTC)
        own_order = f"{self.start_time:%Y%m%dT%H%M%S%fZ}{run_id}"
        self.parent_run_id = parent.id if parent is not None else None
        self.trace_id = parent.trace_id if parent is not None else run_id
        self.dotted_order = f"{parent.dotted_order}.{own_order}" if parent else own_order
        self.name = name
        self.run_type = run_type
        self.inputs = inputs
        self.tags = tags
        self.metadata = metadata
        self.end_time: datetime | None = None
        self.outputs: Any = None
        self.error: str | None = None
        self.children: list[RecordedRun] = []

    @property
    def status(self) -> str:
        """success | error | interrupted (a LangGraph approval pause) | pending (never ended)."""
        if self.error:
            return "interrupted" if self.error.startswith(INTERRUPT_ERRORS) else "error"
        return "success" if self.end_time else "pending"

    def walk(self) -> Iterator[RecordedRun]:
        """This run and every run under it, parents before children."""
        stack = [self]
        while stack:
            current = stack.pop()
            yield current
            stack.extend(reversed(current.children))


def _run_name(name: str | None, serialized: dict[str, Any] | None, run_type: str) -> str:
    """LangChain's naming: the explicit name, else the serialized object's name or class."""
    if name:
        return name
    serialized = serialized or {}
    ids = serialized.get("id")
    return serialized.get("name") or (ids[-1] if isinstance(ids, list) and ids else run_type)


def _error_text(error: BaseException) -> str:
    """The exception's repr then its traceback, as LangChain's tracers record an error."""
    try:
        return (repr(error) + "\n\n".join(traceback.format_exception(error))).strip()
    except Exception:
        return repr(error)


def _llm_outputs(response: Any) -> dict[str, Any]:
    """An LLM result as LangSmith stores it: the model dump, messages in LangChain's form."""
    from langchain_core.load import dumpd

    outputs = response.model_dump()
    for i, generations in enumerate(response.generations):
        for j, generation in enumerate(generations):
            stored = outputs["generations"][i][j]
            if "message" in stored:
                stored["message"] = dumpd(generation.message)
    return outputs


class LocalTraceStore(BaseCallbackHandler):
    """Records a run's LangChain callbacks and stores each finished trace in ``trace_runs``.

    Runs inline (no thread hop per callback, parents always precede children). When a root
    run ends, the finished tree goes to the trace writer thread, which builds the rows
    (redacted, size-capped copies) and stores them in one statement. A storage failure is
    logged and never breaks the traced run. `trace_ids` lists the traces this instance
    handed over (newest last), so callers can link a job or run to its trace.
    """

    run_inline = True
    raise_error = False

    def __init__(self, *, redact_payloads: bool | None = None, url: str | None = None) -> None:
        self.redact_payloads = (
            trace_redaction_enabled() if redact_payloads is None else redact_payloads
        )
        self.url = url
        self.trace_ids: list[str] = []
        self.runs: dict[UUID, RecordedRun] = {}
        self.nested: dict[str, list[bytes]] = {}

    # A config holding the store may be copied (LangChain merges and copies configs); every
    # copy must record into the same trees.
    def __copy__(self) -> LocalTraceStore:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> LocalTraceStore:
        return self

    def position(self, run_id: Any) -> tuple[str, str] | None:
        """(trace id, dotted order) of a run in progress, or None when it is not recorded."""
        run = self.runs.get(run_id)
        return (str(run.trace_id), run.dotted_order) if run is not None else None

    def add_nested(self, trace_id: str, snapshot: bytes) -> None:
        """A run the engine recorded inside one of this store's traces (a generation's dry
        run, `app.observability.run_trace`): written with that trace when its root ends."""
        self.nested.setdefault(trace_id, []).append(snapshot)

    # --- callbacks ----------------------------------------------------------------------
    def _start(
        self, run_id: UUID, parent_run_id: UUID | None, name: str, run_type: str, inputs: Any,
        tags: list[str] | None, metadata: dict[str, Any] | None,
    ) -> None:  # fmt: skip
        # A parent this store never saw (it was added inside a running graph) makes a root.
        parent = self.runs.get(parent_run_id) if parent_run_id is not None else None
        run = RecordedRun(run_id, parent, name, run_type, inputs, tags, metadata)
        if parent is not None:
            parent.children.append(run)
        self.runs[run_id] = run

    def _end(self, run_id: UUID, *, outputs: Any = None, error: BaseException | None = None,
             inputs: Any = None) -> None:  # fmt: skip
        run = self.runs.get(run_id)
        if run is None:
            return
        run.end_time = datetime.now(UTC)
        if error is not None:
            run.error = _error_text(error)
        else:
            run.outputs = outputs
        if inputs is not None:
            run.inputs = inputs if isinstance(inputs, dict) else {"input": inputs}
        if run.parent_run_id is None:
            self._persist(run)

    def on_chain_start(
        self, serialized: dict[str, Any] | None, inputs: Any, *, run_id: UUID,
        parent_run_id: UUID | None = None, tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None, run_type: str | None = None,
        name: str | None = None, **_: Any,
    ) -> None:  # fmt: skip
        self._start(
            run_id, parent_run_id, _run_name(name, serialized, "chain"), run_type or "chain",
            inputs if isinstance(inputs, dict) else {"input": inputs}, tags, metadata,
        )  # fmt: skip

    def on_chain_end(self, outputs: Any, *, run_id: UUID, inputs: Any = None, **_: Any) -> None:
        self._end(run_id, outputs=outputs if isinstance(outputs, dict) else {"output": outputs},
                  inputs=inputs)  # fmt: skip

    def on_chain_error(
        self, error: BaseException, *, run_id: UUID, inputs: Any = None, **_: Any
    ) -> None:
        self._end(run_id, error=error, inputs=inputs)

    def on_tool_start(
        self, serialized: dict[str, Any] | None, input_str: str, *, run_id: UUID,
        parent_run_id: UUID | None = None, tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None, name: str | None = None,
        inputs: dict[str, Any] | None = None, **_: Any,
    ) -> None:  # fmt: skip
        self._start(
            run_id, parent_run_id, _run_name(name, serialized, "tool"), "tool",
            inputs if isinstance(inputs, dict) else {"input": input_str}, tags, metadata,
        )  # fmt: skip

    def on_tool_end(self, output: Any, *, run_id: UUID, **_: Any) -> None:
        self._end(run_id, outputs={"output": output})

    def on_tool_error(self, error: BaseException, *, run_id: UUID, **_: Any) -> None:
        self._end(run_id, error=error)

    def on_chat_model_start(
        self, serialized: dict[str, Any] | None, messages: list[list[Any]], *, run_id: UUID,
        parent_run_id: UUID | None = None, tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None, name: str | None = None, **_: Any,
    ) -> None:  # fmt: skip
        from langchain_core.load import dumpd

        inputs = {"messages": [[dumpd(m) for m in batch] for batch in messages]}
        # "llm" is LangSmith's run type for chat models too (its tracer maps them the same way).
        self._start(run_id, parent_run_id, _run_name(name, serialized, "llm"), "llm", inputs,
                    tags, metadata)  # fmt: skip

    def on_llm_start(
        self, serialized: dict[str, Any] | None, prompts: list[str], *, run_id: UUID,
        parent_run_id: UUID | None = None, tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None, name: str | None = None, **_: Any,
    ) -> None:  # fmt: skip
        self._start(run_id, parent_run_id, _run_name(name, serialized, "llm"), "llm",
                    {"prompts": prompts}, tags, metadata)  # fmt: skip

    def on_llm_end(self, response: Any, *, run_id: UUID, **_: Any) -> None:
        self._end(run_id, outputs=_llm_outputs(response))

    def on_llm_error(self, error: BaseException, *, run_id: UUID, **_: Any) -> None:
        self._end(run_id, error=error)

    def on_retriever_start(
        self, serialized: dict[str, Any] | None, query: str, *, run_id: UUID,
        parent_run_id: UUID | None = None, tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None, name: str | None = None, **_: Any,
    ) -> None:  # fmt: skip
        self._start(run_id, parent_run_id, name or "Retriever", "retriever", {"query": query},
                    tags, metadata)  # fmt: skip

    def on_retriever_end(self, documents: Any, *, run_id: UUID, **_: Any) -> None:
        self._end(run_id, outputs={"documents": documents})

    def on_retriever_error(self, error: BaseException, *, run_id: UUID, **_: Any) -> None:
        self._end(run_id, error=error)

    # --- storage ------------------------------------------------------------------------
    def _persist(self, root: RecordedRun) -> None:
        from app.db.migrate import resolve_url
        from app.observability.trace_writer import schema_ready, submit_trace_write

        try:
            # The finished tree is handed over whole: LangChain no longer touches it, and the
            # graph state its inputs refer to is not changed once the run is over.
            url = resolve_url(self.url)
            nested = self.nested.pop(str(root.trace_id), [])
            if schema_ready(url):
                submit_trace_write(lambda: write_trace_rows(self.rows(root, nested), url))
                self.trace_ids.append(str(root.trace_id))
        except Exception:  # tracing must never fail the run it observes
            log.warning("could not store trace %s", root.id, exc_info=True)
        finally:
            for run in root.walk():
                self.runs.pop(run.id, None)

    def rows(self, root: RecordedRun, nested: Sequence[bytes] = ()) -> list[dict[str, Any]]:
        """Column values of every run in the tree of `root` (one `TracePayload` per trace),
        then the rows of the engine-recorded runs `nested` in it."""
        from app.observability.run_trace import root_row, stored_snapshot

        root_meta = root.metadata or {}
        payload = TracePayload(self.redact_payloads)
        rows = []
        for run in root.walk():
            meta = run.metadata or {}
            job_id = meta.get("job_id", root_meta.get("job_id"))
            run_id = meta.get("run_id", root_meta.get("run_id"))
            error = run.error
            if error and self.redact_payloads:
                error = redact(error)
            rows.append(
                {
                    "id": str(run.id),
                    "trace_id": str(run.trace_id),
                    "parent_run_id": str(run.parent_run_id) if run.parent_run_id else None,
                    "dotted_order": run.dotted_order,
                    "name": run.name[:200],
                    "run_type": run.run_type,
                    "start_time": run.start_time,
                    "end_time": run.end_time,
                    "status": run.status,
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


class TraceLink(BaseCallbackHandler):
    """Stands in for a `LocalTraceStore` in a run nested inside an already-stored trace.

    The enclosing store writes the nested runs as part of its tree; this handler only learns
    which trace that is, from the enclosing store, when its first run starts (the enclosing
    store, an inherited handler, has already seen that start). `trace_ids` has the same
    meaning as on the store, so callers link a run to its trace the same way.
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
        found = self.store.position(run_id)
        if found is not None:
            self.trace_ids.append(found[0])


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

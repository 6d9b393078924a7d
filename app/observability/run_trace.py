"""Engine-native traces of workflow runs: the run, each step, and every tool attempt.

Why not the LangChain tracer here: a callback handler on a workflow run sees every node's inputs
(the whole run state), forces each tool call through `ainvoke`'s callback set-up, and made a
100-step run take 4-5× as long. The engine already knows everything a trace shows (rendered
params, each attempt's outcome and timing, step records), so it records that directly: one list
append per tool attempt while the run goes; when the segment ends, a JSON snapshot goes to the
trace writer thread, which stores it as one row: the run, carrying the steps and attempts as a
document (one row per step and attempt cost more than the rest of tracing together).

Readers expand the document into the same runs and run format as the LangChain store (see
`expand_document` for the tree), so `flowwright traces show|export` and the API read both
alike. The runner uses this recorder when LangSmith is off and the run is not nested inside
another traced run; otherwise the LangChain callbacks keep one trace across LangSmith, the
enclosing generation and the store.
"""

from __future__ import annotations

import time
import uuid
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple

from langchain_core.runnables.config import var_child_runnable_config

from app.db.values import (
    MAX_STORED_JSON_BYTES,
    as_utc,
    capped_json_data,
    json_bytes,
    load_json,
    to_json_value,
)
from app.observability.callbacks import MetricsCallbackHandler
from app.observability.redaction import json_may_hold_secrets
from app.observability.trace_store import LocalTraceStore, redacted_json, write_trace_rows
from app.observability.tracing import TRACE_TAG

current_trace: ContextVar[RunTrace | None] = ContextVar("flowwright_run_trace", default=None)


class ToolAttempt(NamedTuple):
    """One call of a step's tool: what it was given and how it ended."""

    step_id: str
    tool: str
    started: float
    finished: float
    params: Any
    output: Any = None
    error: str | None = None


class TraceParent(NamedTuple):
    """Where a run nested in another trace hangs: that trace, the run that started it, and
    the store that writes that trace (the nested run is stored with it, in one statement)."""

    trace_id: str
    run_id: str
    dotted_order: str
    store: LocalTraceStore


@dataclass
class RunTrace:
    """Collects one start/resume/approval segment of a workflow run as one trace, or as a
    subtree of an enclosing trace (`parent`) such as a generation's dry run."""

    run_id: str
    name: str
    metadata: dict[str, Any]
    parent: TraceParent | None = None
    root_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    started: float = field(default_factory=time.time)
    attempts: list[ToolAttempt] = field(default_factory=list)
    steps: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)

    @property
    def trace_id(self) -> str:
        return self.parent.trace_id if self.parent is not None else self.root_id

    def attempt(self, attempt: ToolAttempt) -> None:
        self.attempts.append(attempt)

    def step_finished(self, step_id: str, tool: str, record: dict[str, Any]) -> None:
        """A step's final record (a cancelled step has no times: it is placed when it ended)."""
        self.steps.append((step_id, tool, {"started_at": time.time(), **record}))

    def snapshot(self, *, inputs: Any, status: str, outputs: Any, error: str | None) -> bytes:
        """The segment as compact JSON, encoded now: the caller may change the run's result
        objects while the writer thread stores it, and encoding is all the caller pays for."""
        return json_bytes(
            {
                "trace_id": self.trace_id, "root_id": self.root_id,
                "parent": _where(self.parent) if self.parent is not None else None,
                "run_id": self.run_id, "name": self.name,
                "metadata": self.metadata, "started": self.started, "ended": time.time(),
                "inputs": inputs, "status": status, "outputs": outputs, "error": error,
                "steps": [[step, tool, _step_fields(rec)] for step, tool, rec in self.steps],
                "attempts": [tuple(a) for a in self.attempts],  # orjson encodes tuples itself
            },
            default=to_json_value,
        )  # fmt: skip


def _where(parent: TraceParent) -> dict[str, str]:
    return {"run_id": parent.run_id, "dotted_order": parent.dotted_order}


def enclosing_position(handlers: list[Any]) -> TraceParent | None:
    """Where a run started now would hang in the enclosing run's local trace, or None.

    Only when the local store (and the LLM metrics handler) are all that observe the enclosing
    run: any other handler must keep seeing the nested run through LangChain's callbacks.
    """
    stores = [h for h in handlers if isinstance(h, LocalTraceStore)]
    known = all(isinstance(h, LocalTraceStore | MetricsCallbackHandler) for h in handlers)
    if len(stores) != 1 or not known:
        return None
    manager = (var_child_runnable_config.get() or {}).get("callbacks")
    parent_run_id = getattr(manager, "parent_run_id", None)
    found = stores[0].position(parent_run_id) if parent_run_id is not None else None
    if found is None:
        return None
    trace_id, dotted_order = found
    return TraceParent(trace_id, str(parent_run_id), dotted_order, stores[0])


def store_snapshot(snapshot: bytes, *, redact: bool, url: str | None = None) -> bool:
    """Store a `RunTrace.snapshot` as one row; False (logged) when storage failed."""
    return write_trace_rows([root_row(stored_snapshot(snapshot, redact=redact))], url)


def stored_snapshot(snapshot: bytes, *, redact: bool) -> dict[str, Any]:
    """A `RunTrace.snapshot` as it may be stored: secrets masked (unless redaction is off),
    every payload within the size cap.

    Both checks look at the JSON text first and walk the data only when it could hold a
    secret or a payload could be too big, which for most runs it cannot: walking 100 steps
    took longer than storing them.
    """
    text = snapshot.decode()
    data = load_json(text)
    if redact and json_may_hold_secrets(text):
        data = redacted_json(data, {})
        text = json_bytes(data).decode()
    if len(text) > MAX_STORED_JSON_BYTES:
        data = _capped(data)
    return data


def _capped(snapshot: dict[str, Any]) -> dict[str, Any]:
    def cap(value: Any) -> Any:
        return capped_json_data(value)[0]

    steps = [
        [step, tool, {k: cap(v) if k in PAYLOAD_FIELDS else v for k, v in record.items()}]
        for step, tool, record in snapshot["steps"]
    ]
    attempts = [[*a[:4], cap(a[4]), cap(a[5]), *a[6:]] for a in snapshot["attempts"]]
    return snapshot | {
        "inputs": cap(snapshot["inputs"]), "outputs": cap(snapshot["outputs"]),
        "metadata": cap(snapshot["metadata"]), "steps": steps, "attempts": attempts,
    }  # fmt: skip


def root_row(snapshot: dict[str, Any]) -> dict[str, Any]:
    """The `trace_runs` row of a stored snapshot: the workflow run, carrying its steps and
    attempts as `runs_document` for `expand_document` to turn into runs when read. A nested
    run's row hangs under the enclosing run and carries its own tags and metadata."""
    root_id, started, parent = snapshot["root_id"], snapshot["started"], snapshot["parent"]
    order = _order(started, root_id)
    document = {"format": DOCUMENT_FORMAT, "steps": snapshot["steps"],
                "attempts": snapshot["attempts"]}  # fmt: skip
    return {
        "id": root_id, "trace_id": snapshot["trace_id"],
        "parent_run_id": parent["run_id"] if parent else None,
        "dotted_order": f"{parent['dotted_order']}.{order}" if parent else order,
        "name": snapshot["name"][:200], "run_type": "chain", "start_time": as_utc(started),
        "end_time": as_utc(snapshot["ended"]), "status": snapshot["status"],
        "error": snapshot["error"], "inputs": {"inputs": snapshot["inputs"]},
        "outputs": snapshot["outputs"], "tags": [TRACE_TAG, "workflow"],
        "run_metadata": snapshot["metadata"], "job_id": None,
        "workflow_run_id": snapshot["run_id"][:64], "runs_document": document,
        "run_count": 1 + len(_child_runs(document)),
    }  # fmt: skip


def expand_document(
    trace_id: str,
    root_id: str,
    root_order: str,
    workflow_run_id: str | None,
    document: dict[str, Any],
) -> list[dict[str, Any]]:
    """Column values of the runs under a compact workflow run, as if each had been a row.

    A step that called its tool once is one `tool` run (the step's params in, its record out);
    a step with retries or `for_each` items is a `chain` run with one `tool` run per attempt,
    and a step that called nothing (skipped, simulated, cancelled) a `chain` run alone. Every
    step run names its tool in its metadata; tags and the rest of the metadata come from the
    trace's root, as in LangSmith. Run ids follow from the workflow run's row id, so every read
    gives the same ids.
    """
    base = uuid.UUID(root_id).int
    common = {"trace_id": trace_id, "job_id": None, "workflow_run_id": workflow_run_id,
              "tags": None, "run_metadata": None}  # fmt: skip
    rows = []
    for n, (kind, *fields) in enumerate(_child_runs(document), 1):
        run_id = str(uuid.UUID(int=(base + n) % (1 << 128)))
        if kind == "step":
            step_id, tool, record, attempts = fields
            step_run, start = run_id, record["started_at"]
            step_order = f"{root_order}.{_order(start, step_run)}"
            failed = record.get("status") in FAILED_STEPS
            single = len(attempts) == 1
            if attempts and not single:  # the output is on the attempts' runs
                record = {k: v for k, v in record.items() if k not in PAYLOAD_FIELDS}
            rows.append(
                common
                | {
                    "id": step_run, "parent_run_id": root_id, "dotted_order": step_order,
                    "name": step_id[:200], "run_type": "tool" if single else "chain",
                    "start_time": as_utc(start),
                    "end_time": as_utc(record.get("finished_at", start)),
                    "status": "error" if failed else "success",
                    "error": (record.get("error") or {}).get("message") if failed else None,
                    "inputs": ToolAttempt(*attempts[0]).params if single else {},
                    "outputs": {k: v for k, v in record.items() if k in STEP_OUTPUTS},
                    "run_metadata": {"tool": tool},
                }
            )  # fmt: skip
        else:
            attempt = ToolAttempt(*fields)
            rows.append(
                common
                | {
                    "id": run_id, "parent_run_id": step_run,
                    "dotted_order": f"{step_order}.{_order(attempt.started, run_id)}",
                    "name": attempt.tool[:200], "run_type": "tool",
                    "start_time": as_utc(attempt.started), "end_time": as_utc(attempt.finished),
                    "status": "error" if attempt.error else "success", "error": attempt.error,
                    "inputs": attempt.params,
                    "outputs": None if attempt.error else {"output": attempt.output},
                }
            )  # fmt: skip
    return rows


def _child_runs(document: dict[str, Any]) -> list[tuple[Any, ...]]:
    """The runs under the root in order: ("step", step_id, tool, record, attempts) for each
    step, followed by ("attempt", *attempt) for each attempt of a multi-attempt step."""
    by_step: dict[str, list[list[Any]]] = {}
    for attempt in document["attempts"]:
        by_step.setdefault(attempt[0], []).append(attempt)
    runs: list[tuple[Any, ...]] = []
    for step_id, tool, record in document["steps"]:
        attempts = by_step.pop(step_id, [])
        runs.append(("step", step_id, tool, record, attempts))
        if len(attempts) > 1:
            runs.extend(("attempt", *attempt) for attempt in attempts)
    return runs


DOCUMENT_FORMAT = 1
STEP_OUTPUTS = ("status", "output", "reason", "attempts", "item_errors")
PAYLOAD_FIELDS = ("output", "item_errors")  # a step record's tool results
FAILED_STEPS = ("failed", "rejected")


def _step_fields(record: dict[str, Any]) -> dict[str, Any]:
    keep = (*STEP_OUTPUTS, "started_at", "finished_at", "error")
    return {key: record[key] for key in keep if record.get(key) is not None}


def _order(epoch: float, run_id: str) -> str:
    """A segment of LangSmith's dotted order: start time, then the run id."""
    return f"{datetime.fromtimestamp(epoch, UTC):%Y%m%dT%H%M%S%fZ}{run_id}"

"""Engine-native traces of workflow runs: the run, each step, and every tool attempt.

Why not the LangChain tracer here: a callback handler on a workflow run sees every node's inputs
(the whole run state), forces each tool call through `ainvoke`'s callback set-up, and made a
100-step run take 4-5× as long. The engine already knows everything a trace shows (rendered
params, each attempt's outcome and timing, step records), so it records that directly: one list
append per tool attempt while the run goes; when the segment ends, a JSON snapshot goes to the
trace writer thread, which builds the rows and stores them in one statement.

The rows use the same table and run format as the LangChain store (see `trace_rows` for the
tree), so `flowwright traces show|export` and the API read both alike. The runner uses this recorder
when LangSmith is off and the run is not nested inside another traced run; otherwise the
LangChain callbacks keep one trace across LangSmith, the enclosing generation and the store.
"""

from __future__ import annotations

import itertools
import time
import uuid
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple

from app.db.values import to_json_value
from app.observability.trace_writer import yield_gil
from app.observability.tracing import TRACE_TAG, TracePayload, write_trace_rows

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


@dataclass
class RunTrace:
    """Collects one start/resume/approval segment of a workflow run as one trace."""

    run_id: str
    name: str
    metadata: dict[str, Any]
    trace_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    started: float = field(default_factory=time.time)
    attempts: list[ToolAttempt] = field(default_factory=list)
    steps: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)

    def attempt(self, attempt: ToolAttempt) -> None:
        self.attempts.append(attempt)

    def step_finished(self, step_id: str, tool: str, record: dict[str, Any]) -> None:
        """A step's final record (a cancelled step has no times: it is placed when it ended)."""
        self.steps.append((step_id, tool, {"started_at": time.time(), **record}))

    def snapshot(
        self, *, inputs: Any, status: str, outputs: Any, error: str | None
    ) -> dict[str, Any]:
        """The segment as plain JSON data, copied now: the caller may change the run's result
        objects while the writer thread turns this into rows."""
        return to_json_value(
            {
                "trace_id": self.trace_id, "run_id": self.run_id, "name": self.name,
                "metadata": self.metadata, "started": self.started, "ended": time.time(),
                "inputs": inputs, "status": status, "outputs": outputs, "error": error,
                "steps": [[step, tool, _step_fields(rec)] for step, tool, rec in self.steps],
                "attempts": self.attempts,
            }
        )  # fmt: skip


def store_snapshot(snapshot: dict[str, Any], *, redact: bool, url: str | None = None) -> bool:
    """Write a `RunTrace.snapshot` in one statement; False (logged) when storage failed."""
    return write_trace_rows(trace_rows(snapshot, redact=redact), url)


def trace_rows(snapshot: dict[str, Any], *, redact: bool) -> list[dict[str, Any]]:
    """Column values for `trace_runs`: the run, then one run per step in finish order.

    A step that called its tool once is one `tool` run (the step's params in, its record out);
    a step with retries or `for_each` items is a `chain` run with one `tool` run per attempt,
    and a step that called nothing (skipped, simulated, cancelled) a `chain` run alone. Every
    step run names its tool in its metadata. Half the rows of step-then-attempt nesting, and
    rows are most of what storing a trace costs.
    """
    payload = TracePayload(redact)
    trace_id, started = snapshot["trace_id"], snapshot["started"]
    ids = _ids(trace_id)
    # Tags and metadata are stored on the root; its runs inherit them (as in LangSmith) and the
    # readers merge them in (`app.observability.traces`).
    common = {"trace_id": trace_id, "job_id": None, "workflow_run_id": snapshot["run_id"][:64],
              "tags": None, "run_metadata": None}  # fmt: skip
    root_order = _order(started, trace_id)
    rows = [
        common
        | {
            "tags": [TRACE_TAG, "workflow"], "run_metadata": payload(snapshot["metadata"]),
            "id": trace_id, "parent_run_id": None, "dotted_order": root_order,
            "name": snapshot["name"][:200], "run_type": "chain", "start_time": _when(started),
            "end_time": _when(snapshot["ended"]), "status": snapshot["status"],
            "error": _redacted(snapshot["error"], redact),
            "inputs": payload({"inputs": snapshot["inputs"]}),
            "outputs": payload(snapshot["outputs"]),
        }
    ]  # fmt: skip
    by_step: dict[str, list[ToolAttempt]] = {}
    for item in snapshot["attempts"]:
        attempt = ToolAttempt(*item)
        by_step.setdefault(attempt.step_id, []).append(attempt)
    for n, (step_id, tool, record) in enumerate(snapshot["steps"], 1):
        if n % YIELD_EVERY == 0:
            yield_gil()  # on the writer thread: a waiting run or request goes first
        attempts = by_step.pop(step_id, [])
        step_run = next(ids)
        start = record["started_at"]
        step_order = f"{root_order}.{_order(start, step_run)}"
        failed = record.get("status") in FAILED_STEPS
        error = (record.get("error") or {}).get("message") if failed else None
        single = len(attempts) == 1
        if attempts and not single:  # the output is on the attempts' runs
            record = {k: v for k, v in record.items() if k not in ("output", "item_errors")}
        rows.append(
            common
            | {
                "id": step_run, "parent_run_id": trace_id, "dotted_order": step_order,
                "name": step_id[:200], "run_type": "tool" if single else "chain",
                "start_time": _when(start), "end_time": _when(record.get("finished_at", start)),
                "status": "error" if failed else "success", "error": _redacted(error, redact),
                "inputs": payload(attempts[0].params) if single else {},
                "outputs": payload({k: v for k, v in record.items() if k in STEP_OUTPUTS}),
                "run_metadata": {"tool": tool},
            }
        )  # fmt: skip
        for attempt in attempts if not single else ():
            tool_run = next(ids)
            rows.append(
                common
                | {
                    "id": tool_run, "parent_run_id": step_run,
                    "dotted_order": f"{step_order}.{_order(attempt.started, tool_run)}",
                    "name": attempt.tool[:200], "run_type": "tool",
                    "start_time": _when(attempt.started), "end_time": _when(attempt.finished),
                    "status": "error" if attempt.error else "success",
                    "error": _redacted(attempt.error, redact), "inputs": payload(attempt.params),
                    "outputs": None if attempt.error else payload({"output": attempt.output}),
                }
            )  # fmt: skip
    return rows


def _ids(trace_id: str) -> Iterator[str]:
    """Run ids for the trace's runs: consecutive from a random base (as unique as uuid4s, at a
    fraction of the cost of one `os.urandom` call each)."""
    base = uuid.uuid4().int
    for offset in itertools.count(1):
        yield str(uuid.UUID(int=(base + offset) % (1 << 128)))


YIELD_EVERY = 16  # steps between GIL hand-overs while building rows on the writer thread
STEP_OUTPUTS = ("status", "output", "reason", "attempts", "item_errors")
FAILED_STEPS = ("failed", "rejected")


def _step_fields(record: dict[str, Any]) -> dict[str, Any]:
    keep = (*STEP_OUTPUTS, "started_at", "finished_at", "error")
    return {key: record[key] for key in keep if record.get(key) is not None}


def _redacted(error: str | None, redact: bool) -> str | None:
    from app.observability.redaction import redact_text

    return redact_text(error) if error and redact else error


def _when(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def _order(epoch: float, run_id: str) -> str:
    """A segment of LangSmith's dotted order: start time, then the run id."""
    return f"{_when(epoch):%Y%m%dT%H%M%S%fZ}{run_id}"

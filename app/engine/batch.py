"""Batch runs: one workflow run per row of a CSV or JSONL file, results appended as JSONL.

The results file is the durability: each row's line is written and flushed as soon as the row
finishes, so an interrupted batch loses at most the rows in flight, and a resumed batch skips
every row number already in the file. Rows never stop the batch: a malformed line, inputs that do
not fit, or a failing step become that row's error. The graph is compiled once, without a
checkpointer (a row is short; per-row checkpoints would only cost time and memory).
"""

from __future__ import annotations

import asyncio
import csv
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Annotated, Any, TypedDict

from app.engine.compiler import Node, _first, _merge, build_graph
from app.engine.inputs import InputError, prepare_inputs
from app.engine.results import RunStatus, StepError
from app.engine.runner import build_result
from app.errors import FlowwrightError
from app.tools.registry import Catalog
from app.workflow.spec import WorkflowSpec

_EXTRA = "\x00extra"  # DictReader key for fields beyond the header
_MISSING = object()  # DictReader value for fields a short line lacks


class BatchError(FlowwrightError):
    """The batch as a whole cannot run (unreadable file, workflow unfit for batches)."""

    code = "BATCH_ERROR"


@dataclass(frozen=True, slots=True)
class BatchRow:
    """One row of the batch file: its inputs, or why the line could not be read."""

    number: int  # 1-based data row number (stable across runs of the same file)
    line: int  # line in the file where the row starts
    inputs: dict[str, Any] | None
    error: StepError | None = None


RowOrError = BatchRow


@dataclass(frozen=True, slots=True)
class BatchProgress:
    """Sent to `on_progress` once before the first row and after every finished row."""

    done: int  # rows finished in this session
    succeeded: int
    failed: int
    skipped: int  # rows passed over so far because the results file already has them
    total: int | None  # rows in the batch file, when the caller counted them
    already_done: int = 0  # rows in the results file when the batch started (resume)


@dataclass(frozen=True, slots=True)
class BatchSummary:
    total: int  # rows in the batch file (skipped ones included)
    succeeded: int
    failed: int
    skipped_already_done: int
    elapsed_s: float
    rows_per_s: float  # rows run in this session per second


ProgressSink = Callable[[BatchProgress], None]


def _row_error(line: int, message: str, hint: str | None = None) -> StepError:
    return {"code": "ROW_MALFORMED", "message": f"line {line}: {message}", "hint": hint}


def _is_jsonl(path: Path) -> bool:
    return path.suffix.lower() in (".jsonl", ".ndjson", ".json")


def read_rows(path: str | Path) -> Iterator[RowOrError]:
    """Stream a batch file's rows; a line that cannot be read becomes a row with an error."""
    path = Path(path)
    try:
        handle = path.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise BatchError(f"cannot read batch file {path}: {exc}", hint="Check the path.") from exc
    with handle:
        yield from (_jsonl_rows(handle) if _is_jsonl(path) else _csv_rows(handle))


def _jsonl_rows(handle: Any) -> Iterator[BatchRow]:
    number = 0
    for line_no, line in enumerate(handle, start=1):
        if not line.strip():
            continue
        number += 1
        try:
            value = json.loads(line)
        except ValueError as exc:
            yield BatchRow(number, line_no, None, _row_error(line_no, f"invalid JSON: {exc}"))
            continue
        if not isinstance(value, dict):
            error = _row_error(
                line_no,
                f"expected a JSON object, got {type(value).__name__}",
                'Write one object per line, e.g. {"email": "ada@example.com"}.',
            )
            yield BatchRow(number, line_no, None, error)
            continue
        yield BatchRow(number, line_no, value)


def _csv_rows(handle: Any) -> Iterator[BatchRow]:
    reader = csv.DictReader(handle, restkey=_EXTRA, restval=_MISSING)
    number = 0
    while True:
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            number += 1
            line = reader.line_num
            yield BatchRow(number, line, None, _row_error(line, f"unreadable CSV: {exc}"))
            continue
        number += 1
        start = reader.line_num  # where the record ends: its line unless a quoted value wraps
        width = len(reader.fieldnames or ())
        if _EXTRA in record or _MISSING in record.values():
            got = width + len(record.get(_EXTRA, ())) - sum(v is _MISSING for v in record.values())
            error = _row_error(
                start,
                f"expected {width} fields, got {got}",
                "Quote values that contain commas; every line needs one value per column.",
            )
            yield BatchRow(number, start, None, error)
            continue
        # An empty cell means "not given": defaults apply and required inputs are reported.
        yield BatchRow(number, start, {k: v for k, v in record.items() if v != ""})


def count_rows(path: str | Path) -> int:
    """How many rows `read_rows` will yield (for a progress bar's total)."""
    return sum(1 for _ in read_rows(path))


def _done_rows(output: Path) -> set[int]:
    """Row numbers already recorded; a torn last line (crash mid-write) is cut off."""
    done: set[int] = set()
    if not output.exists():
        return done
    with output.open("rb+") as fh:
        good_end = 0
        for raw in fh:
            if not raw.endswith(b"\n"):
                break
            good_end += len(raw)
            try:
                row = json.loads(raw).get("row")
            except (ValueError, AttributeError):
                continue
            if isinstance(row, int):
                done.add(row)
        fh.truncate(good_end)
    return done


def _result_line(
    row: BatchRow,
    status: str,
    *,
    inputs: dict[str, Any] | None = None,
    outputs: dict[str, Any] | None = None,
    error: StepError | dict[str, Any] | None = None,
    failed_step: str | None = None,
) -> str:
    data = {
        "row": row.number,
        "line": row.line,
        "status": status,
        "inputs": inputs if inputs is not None else (row.inputs or {}),
        "outputs": outputs or {},
        "error": error,
        "failed_step": failed_step,
    }
    return json.dumps(data, ensure_ascii=False, default=str) + "\n"


def _merge_rows(left: list[dict[str, Any]], right: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Apply each row's node update with `RunState`'s own reducers (results merge, first halt)."""
    if not left:
        return right  # the chunk's input
    merged = []
    for row, update in zip(left, right, strict=True):
        if update:
            row = {
                **row,
                **update,
                "results": _merge(row.get("results"), update.get("results")),
                "halted": _first(row.get("halted"), update.get("halted")),
                "crashed": row.get("crashed") or update.get("crashed"),
            }
        merged.append(row)
    return merged


class ChunkState(TypedDict):
    """Many independent runs of one workflow, advanced together one super-step at a time."""

    rows: Annotated[list[dict[str, Any]], _merge_rows]


def _per_row(node: Node) -> Node:
    """Run a workflow node on every row of the chunk; a crash stays with its row."""

    async def chunk_node(state: dict[str, Any]) -> dict[str, Any]:
        rows = state["rows"]
        updates = await asyncio.gather(
            *(node(row) for row in rows if not row.get("crashed")), return_exceptions=True
        )
        out: list[dict[str, Any]] = []
        pending = iter(updates)
        for row in rows:
            if row.get("crashed"):
                out.append({})
                continue
            update = next(pending)
            if isinstance(update, asyncio.CancelledError):
                raise update
            if isinstance(update, BaseException):
                message = f"{type(update).__name__}: {update}"
                update = {"crashed": {"code": "ROW_CRASHED", "message": message, "hint": None}}
            out.append(update)
        return {"rows": out}

    return chunk_node


class _ChunkRunner:
    """Runs chunks of rows through a graph compiled once for the whole batch.

    One LangGraph invocation per row costs more than a small pure workflow itself (~1 ms on a
    2-core machine), so rows go through the same nodes and edges in chunks: every super-step
    runs that step for all rows of the chunk, each row seeing only its own state.
    """

    def __init__(self, spec: WorkflowSpec, catalog: Catalog, dry_run: bool):
        if not dry_run and any(step.approval for step in spec.steps):
            raise BatchError(
                "batch runs cannot pause for approval",
                hint="Remove `approval: true` for batch runs, or use --dry-run.",
            )
        self.spec = spec
        self.dry_run = dry_run
        graph = build_graph(spec, catalog, state_schema=ChunkState, wrap_node=_per_row)
        self.graph = graph.compile()

    async def __call__(self, rows: list[BatchRow]) -> list[tuple[bool, str]]:
        results: list[tuple[bool, str] | None] = [None] * len(rows)
        runnable: list[tuple[int, dict[str, Any]]] = []
        for index, row in enumerate(rows):
            if row.error is not None:
                results[index] = (False, _result_line(row, "failed", error=row.error))
                continue
            try:
                inputs = prepare_inputs(self.spec, row.inputs or {})
            except InputError as exc:
                results[index] = (False, _result_line(row, "failed", error=exc.to_dict()))
                continue
            payload = {"inputs": inputs, "dry_run": self.dry_run, "results": {}, "halted": None}
            runnable.append((index, payload))
        if runnable:
            final = await self.graph.ainvoke(
                {"rows": [payload for _, payload in runnable]}, {"recursion_limit": 10_000}
            )
            for (index, _), values in zip(runnable, final["rows"], strict=True):
                results[index] = self._line(rows[index], values)
        return [r for r in results if r is not None]

    def _line(self, row: BatchRow, values: dict[str, Any]) -> tuple[bool, str]:
        inputs = values["inputs"]
        if values.get("crashed"):
            return False, _result_line(row, "failed", inputs=inputs, error=values["crashed"])
        snapshot = SimpleNamespace(values=values, tasks=(), next=())
        result = build_result(self.spec, f"batch-row-{row.number}", snapshot)
        ok = result.status is RunStatus.SUCCEEDED
        halted = values.get("halted") or {}
        return ok, _result_line(
            row,
            "succeeded" if ok else "failed",
            inputs=inputs,
            outputs=result.outputs,
            error=None if ok else result.error,
            failed_step=halted.get("step"),
        )


MAX_CHUNK = 16  # rows per LangGraph invocation: amortizes its per-step cost, bounds the barrier


def _lanes(concurrency: int) -> tuple[int, int]:
    """(lanes, rows per chunk) with at most `concurrency` rows in flight.

    A chunk advances a super-step at a time, so its rows wait for its slowest row at each step;
    beyond MAX_CHUNK rows, more lanes run chunks side by side instead.
    """
    chunk = min(concurrency, MAX_CHUNK)
    return concurrency // chunk, chunk


async def arun_batch(
    spec: WorkflowSpec,
    catalog: Catalog,
    rows_path: str | Path,
    output_path: str | Path,
    *,
    concurrency: int = 4,
    resume: bool = True,
    dry_run: bool = False,
    on_progress: ProgressSink | None = None,
    total: int | None = None,
) -> BatchSummary:
    """`run_batch` inside a running event loop."""
    if concurrency < 1:
        raise BatchError("concurrency must be at least 1", hint="Use --concurrency 1 or more.")
    run_chunk = _ChunkRunner(spec, catalog, dry_run)
    output = Path(output_path)
    output.parent.mkdir(parents=True, exist_ok=True)
    done = _done_rows(output) if resume else set()
    rows = read_rows(rows_path)
    lanes, chunk_size = _lanes(concurrency)
    counts = {"seen": 0, "succeeded": 0, "failed": 0, "skipped": 0, "done": 0}
    started = time.perf_counter()

    def report() -> None:
        if on_progress is not None:
            on_progress(
                BatchProgress(
                    counts["done"],
                    counts["succeeded"],
                    counts["failed"],
                    counts["skipped"],
                    total,
                    len(done),
                )
            )

    def next_chunk() -> list[BatchRow]:
        chunk: list[BatchRow] = []
        for row in rows:  # shared by the lanes; next() never awaits, so no interleaving
            counts["seen"] += 1
            if row.number in done:
                counts["skipped"] += 1
                continue
            chunk.append(row)
            if len(chunk) == chunk_size:
                break
        return chunk

    with output.open("a" if resume else "w", encoding="utf-8") as out:

        async def lane() -> None:
            while chunk := next_chunk():
                for ok, line in await run_chunk(chunk):
                    out.write(line)
                    out.flush()
                    counts["succeeded" if ok else "failed"] += 1
                    counts["done"] += 1
                    report()

        report()
        await asyncio.gather(*(lane() for _ in range(lanes)))
    elapsed = time.perf_counter() - started
    return BatchSummary(
        total=counts["seen"],
        succeeded=counts["succeeded"],
        failed=counts["failed"],
        skipped_already_done=counts["skipped"],
        elapsed_s=elapsed,
        rows_per_s=counts["done"] / elapsed if elapsed > 0 else 0.0,
    )


def run_batch(
    spec: WorkflowSpec,
    catalog: Catalog,
    rows_path: str | Path,
    output_path: str | Path,
    *,
    concurrency: int = 4,
    resume: bool = True,
    dry_run: bool = False,
    on_progress: ProgressSink | None = None,
    total: int | None = None,
) -> BatchSummary:
    """Run `spec` once per row of `rows_path`, appending one JSONL result per row to `output_path`.

    With `resume`, rows already in the results file are skipped; without it the file is replaced.
    `total` (e.g. from `count_rows`) only feeds the progress reports.
    """
    return asyncio.run(
        arun_batch(
            spec,
            catalog,
            rows_path,
            output_path,
            concurrency=concurrency,
            resume=resume,
            dry_run=dry_run,
            on_progress=on_progress,
            total=total,
        )
    )

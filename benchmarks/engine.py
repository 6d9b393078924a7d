"""Engine overhead against raw LangGraph, and batch throughput, side by side in one run.

Overhead: the same graph shape (a chain, or one root fanning out to N-1 steps) run by our engine
and by a hand-written LangGraph `StateGraph` whose nodes call the same tool with the same params.
Both use the same checkpointer setting, so the difference is what the engine adds per step
(expressions, records, skip rules, result assembly). Each size runs "durable" (InMemorySaver,
as `WorkflowRunner` runs) and "plain" (no checkpointer, as batch chunks run).

Batch: a 4-step pure workflow over 10,000 CSV rows through `run_batch` (rows/s by the wall clock,
which is the budget, and per CPU-second of this process, which other load does not move much).

    python benchmarks/engine.py [--quick] [--rows 10000] [--concurrency 16]

Exits 1 when a budget is missed: engine ≤ 1.5× raw LangGraph, batch ≥ 1,000 rows/s.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, TypedDict

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from langgraph.checkpoint.memory import InMemorySaver  # noqa: E402
from langgraph.graph import END, START, StateGraph  # noqa: E402

from app.engine.batch import run_batch  # noqa: E402
from app.engine.compiler import build_graph  # noqa: E402
from app.engine.runner import WorkflowRunner  # noqa: E402
from app.tools.registry import Catalog  # noqa: E402
from app.workflow.spec import WorkflowSpec  # noqa: E402

OVERHEAD_BUDGET = 1.5
ROWS_PER_S_BUDGET = 1_000.0
TOOL = "extract_emails"
TEXT = "Write to ada@example.com about the launch."

Timed = Callable[[], Awaitable[Any]]


# --- the two graph shapes -------------------------------------------------------------------


def _parent(shape: str, index: int) -> int:
    return index - 1 if shape == "chain" else 0


def workflow(shape: str, steps: int) -> WorkflowSpec:
    """s0 reads the input; every other step reads its parent's first email."""
    spec_steps: list[dict[str, Any]] = [
        {"id": "s0", "tool": TOOL, "params": {"text": "{{ inputs.text }}"}}
    ]
    for i in range(1, steps):
        parent = f"s{_parent(shape, i)}"
        text = "{{ steps." + parent + ".output[0] }}"
        spec_steps.append({"id": f"s{i}", "tool": TOOL, "params": {"text": text}})
    return WorkflowSpec.model_validate(
        {
            "flowwright": "1",
            "name": f"bench-{shape}-{steps}",
            "inputs": {"text": {"type": "string"}},
            "steps": spec_steps,
        }
    )


def _merge(left: dict[str, Any] | None, right: dict[str, Any] | None) -> dict[str, Any]:
    return {**(left or {}), **(right or {})}


class RawState(TypedDict, total=False):
    text: str
    out: Annotated[dict[str, Any], _merge]


def raw_graph(shape: str, steps: int, catalog: Catalog, *, direct: bool = False) -> StateGraph:
    """The hand-written LangGraph equivalent: same nodes, edges, tool and params.

    Nodes call `tool.ainvoke(params)`; with `direct`, they validate the params with the tool's
    schema and call its function (the least any runner must do), to show LangGraph's own floor.
    """
    tool: Any = catalog.get(TOOL)
    schema, func = tool.args_schema, tool.func
    graph = StateGraph(RawState)

    def node(index: int) -> Callable[[RawState], Awaitable[dict[str, Any]]]:
        step_id, parent = f"s{index}", f"s{_parent(shape, index)}"

        async def run(state: RawState) -> dict[str, Any]:
            text = state["text"] if index == 0 else state["out"][parent][0]
            if direct:
                return {"out": {step_id: func(**schema.model_validate({"text": text}).__dict__)}}
            return {"out": {step_id: await tool.ainvoke({"text": text})}}

        return run

    async def join(state: RawState) -> dict[str, Any]:
        return {}

    for i in range(steps):
        graph.add_node(f"s{i}", node(i))
        graph.add_edge(START if i == 0 else f"s{_parent(shape, i)}", f"s{i}")
    graph.add_node("join", join)
    sinks = [f"s{steps - 1}"] if shape == "chain" else [f"s{i}" for i in range(1, steps)]
    graph.add_edge(sinks if len(sinks) > 1 else sinks[0], "join")
    graph.add_edge("join", END)
    return graph


# --- timing ---------------------------------------------------------------------------------


async def _time(fn: Timed, runs: int) -> float:
    start = time.perf_counter()
    for _ in range(runs):
        await fn()
    return (time.perf_counter() - start) / runs


async def compare(fns: list[Timed], runs: int, rounds: int) -> list[float]:
    """Median seconds per run of each function, measured in alternating rounds after a warm-up."""
    for fn in fns:
        await fn()
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(rounds):
        for fn, samples in zip(fns, times, strict=True):
            samples.append(await _time(fn, runs))
    return [statistics.median(samples) for samples in times]


def runners(shape: str, steps: int, catalog: Catalog, durable: bool) -> list[Timed]:
    """(raw LangGraph + ainvoke, raw LangGraph + direct call, our engine) for one shape."""
    spec = workflow(shape, steps)
    inputs = {"text": TEXT}
    config = {"recursion_limit": 10_000}
    raws = [raw_graph(shape, steps, catalog, direct=direct) for direct in (False, True)]
    if durable:
        # The engine's own overhead, like the raw graphs: untraced. The cost of tracing (on by
        # default for `flowwright run`) is measured by benchmarks/observability.py.
        engine = WorkflowRunner(catalog, tracing=False)

        def durable_raw(graph: StateGraph) -> Timed:
            compiled = graph.compile(checkpointer=InMemorySaver())

            async def run() -> Any:
                cfg = {**config, "configurable": {"thread_id": uuid.uuid4().hex}}
                return await compiled.ainvoke({"text": TEXT, "out": {}}, cfg, durability="sync")

            return run

        async def run_ours() -> Any:
            result = await engine.run(spec, inputs)
            assert result.status == "succeeded", result.error
            return result

        return [*(durable_raw(g) for g in raws), run_ours]

    def plain(graph: Any, payload: dict[str, Any]) -> Timed:
        compiled = graph.compile()

        async def run() -> Any:
            return await compiled.ainvoke(payload, config)

        return run

    ours = build_graph(spec, catalog)
    payload = {"inputs": inputs, "dry_run": False, "results": {}, "halted": None}
    return [*(plain(g, {"text": TEXT, "out": {}}) for g in raws), plain(ours, payload)]


def overhead_rows(catalog: Catalog, quick: bool) -> list[dict[str, Any]]:
    rows = []
    for steps in (10, 100):
        runs = max(1, (40 if quick else 200) // steps)
        rounds = 3 if quick else 7
        for shape in ("chain", "fan-out"):
            for durable in (True, False):
                fns = runners(shape, steps, catalog, durable)
                raw_s, direct_s, our_s = asyncio.run(compare(fns, runs, rounds))
                rows.append(
                    {
                        "shape": shape,
                        "steps": steps,
                        "mode": "durable" if durable else "plain",
                        "raw_us": raw_s / steps * 1e6,
                        "direct_us": direct_s / steps * 1e6,
                        "ours_us": our_s / steps * 1e6,
                        "ratio": our_s / raw_s,
                        "floor_ratio": our_s / direct_s,
                    }
                )
    return rows


# --- batch throughput -----------------------------------------------------------------------


EMAIL, NOTE = "{{ inputs.email }}", "{{ inputs.note }}"


def batch_workflow() -> WorkflowSpec:
    """Four pure steps: validate, extract, parse a URL built from the first, extract again."""
    return WorkflowSpec.model_validate(
        {
            "flowwright": "1",
            "name": "bench-batch",
            "inputs": {"email": {"type": "string"}, "note": {"type": "string"}},
            "steps": [
                {"id": "check", "tool": "validate_email", "params": {"email": EMAIL}},
                {"id": "mentions", "tool": "extract_emails", "params": {"text": NOTE}},
                {
                    "id": "site",
                    "tool": "parse_url",
                    "params": {"url": "https://www.{{ steps.check.output.domain }}/about"},
                },
                {
                    "id": "ids",
                    "tool": "regex_extract",
                    "params": {"text": NOTE, "pattern": r"#(\d+)", "group": 1},
                },
            ],
            "outputs": {
                "valid": "{{ steps.check.output.valid }}",
                "domain": "{{ steps.site.output.domain }}",
                "mentions": "{{ steps.mentions.output | length }}",
                "ids": "{{ steps.ids.output }}",
            },
        }
    )


def batch_run(catalog: Catalog, rows: int, concurrency: int) -> tuple[float, float, int, int]:
    """(rows/s wall, rows per CPU-second, succeeded, failed) of a fresh batch over CSV rows.

    CPU-seconds are this process's: on a machine shared with other work the wall rate drops
    while the CPU rate says what the batch itself costs.
    """
    with tempfile.TemporaryDirectory() as tmp:
        source, results = Path(tmp) / "rows.csv", Path(tmp) / "results.jsonl"
        with source.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(["email", "note"])
            for i in range(rows):
                writer.writerow([f"user{i}@example{i % 97}.com", f"cc ops{i}@acme.io on #{i} #7"])
        cpu = time.process_time()
        summary = run_batch(
            batch_workflow(), catalog, source, results, concurrency=concurrency, resume=False
        )
        cpu = time.process_time() - cpu
        lines = sum(1 for _ in results.open(encoding="utf-8"))
        assert lines == rows, f"{lines} result lines for {rows} rows"
        return summary.rows_per_s, rows / cpu, summary.succeeded, summary.failed


# --- report ---------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs and 2,000 batch rows")
    parser.add_argument("--rows", type=int, default=None, help="batch rows (default 10,000)")
    parser.add_argument("--concurrency", type=int, default=16, help="batch concurrency")
    args = parser.parse_args(argv)
    rows = args.rows or (2_000 if args.quick else 10_000)
    catalog = Catalog.builtin()

    print(f"Engine vs raw LangGraph, same shape and tool ({TOOL}); µs per step, median of rounds")
    print("  raw: nodes call tool.ainvoke(params)   floor: nodes validate params and call the")
    print("  function directly (LangGraph's own cost)   budget: engine ≤ 1.5x raw")
    header = (
        f"{'shape':<8} {'steps':>5} {'mode':<8} {'raw':>8} {'floor':>8} {'engine':>8} "
        f"{'vs raw':>7} {'vs floor':>9}  budget"
    )
    print(header)
    print("-" * (len(header) + 8))
    failed = False
    for row in overhead_rows(catalog, args.quick):
        ok = row["ratio"] <= OVERHEAD_BUDGET
        failed |= not ok
        print(
            f"{row['shape']:<8} {row['steps']:>5} {row['mode']:<8} {row['raw_us']:>8.1f} "
            f"{row['direct_us']:>8.1f} {row['ours_us']:>8.1f} {row['ratio']:>6.2f}x "
            f"{row['floor_ratio']:>8.2f}x  {'ok' if ok else 'MISSED'}"
        )
    rate, cpu_rate, ok_rows, bad_rows = batch_run(catalog, rows, args.concurrency)
    batch_ok = rate >= ROWS_PER_S_BUDGET and bad_rows == 0
    failed |= not batch_ok
    print()
    print(f"Batch: 4-step pure workflow, {rows:,} CSV rows, concurrency {args.concurrency}")
    print(
        f"  {rate:,.0f} rows/s wall ({cpu_rate:,.0f} per CPU-second), "
        f"{ok_rows} succeeded, {bad_rows} failed  "
        f"{'ok' if batch_ok else 'MISSED'} (budget ≥{ROWS_PER_S_BUDGET:,.0f} rows/s wall)"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

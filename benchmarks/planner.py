"""Planner latency: p50/p95 over the built-in dev set and UltraTool's test split (260 tools).

Exits non-zero when a p95 is over budget (50 ms built-in, 200 ms UltraTool). Data is read from
`../shared` and skipped when absent. Run: `python benchmarks/planner.py [--json]`.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SHARED = ROOT.parent / "shared"
BUDGETS_MS = {"builtin": 50.0, "ultratool": 200.0}


def measure(requests: list[str], catalog: object) -> dict[str, float]:
    from agents.evaluation import percentile
    from agents.planner import plan

    plan(requests[0], catalog)  # build the catalog index once, as a running service would
    times = []
    for request in requests:
        start = time.perf_counter()
        plan(request, catalog)
        times.append((time.perf_counter() - start) * 1000)
    return {
        "n": len(times),
        "p50_ms": round(percentile(times, 50), 2),
        "p95_ms": round(percentile(times, 95), 2),
        "max_ms": round(max(times), 2),
    }


def main() -> int:
    from agents.evaluation import load_records
    from app.tools.registry import Catalog, load_catalog

    results: dict[str, dict[str, float]] = {}
    dev = SHARED / "eval" / "builtin_dev.jsonl"
    if dev.is_file():
        records = load_records(dev)
        results["builtin"] = measure([r.user_request for r in records], Catalog.builtin())
    ultra = SHARED / "bench" / "ultratool"
    if (ultra / "data.json").is_file():
        records = load_records(ultra / "data.json", ultra / "split_ids.json")
        catalog = load_catalog(taskbench=ultra / "tool_desc.json")
        from agents.planner.graph import attach, load_tool_graph

        attach(catalog, load_tool_graph(ultra / "tool_desc.json"))  # as `flowwright eval` does
        results["ultratool"] = measure([r.user_request for r in records], catalog)
    over = [k for k, v in results.items() if v["p95_ms"] > BUDGETS_MS[k]]
    if "--json" in sys.argv:
        print(json.dumps({"results": results, "budgets_ms": BUDGETS_MS, "over": over}, indent=2))
    else:
        for name, r in results.items():
            print(
                f"{name:10} n={r['n']:<4} p50={r['p50_ms']:.2f} ms  p95={r['p95_ms']:.2f} ms  "
                f"max={r['max_ms']:.2f} ms  (budget p95 {BUDGETS_MS[name]:.0f} ms)"
            )
        if not results:
            print("no benchmark data under ../shared; nothing measured")
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark `flowwright generate` end to end, warm, without the generated test run.

In-process (the CLI's service call), after one warm-up generation: plan → validate → dry run →
render → write → checks (compile, ruff, import subprocess). Reports p50/p95 over the dev set.
Budget: p95 ≤ 2 s.

    .venv/bin/python benchmarks/generate.py [--data ../shared/eval/builtin_dev.jsonl] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BUDGET_S = 2.0


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(ROOT.parent / "shared/eval/builtin_dev.jsonl"))
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="fw-bench-"))
    os.environ["FLOWWRIGHT_HOME"] = str(tmp / ".flowwright")
    os.environ["FLOWWRIGHT_WORKSPACE"] = str(tmp / "workspace")
    os.environ.pop("FLOWWRIGHT_LLM_MODEL", None)

    from agents.service import generate_workflow

    requests = [json.loads(line) for line in Path(args.data).read_text().splitlines() if line]
    generate_workflow(requests[0]["user_request"], out_dir=tmp / "warm", run_tests=False)
    times, statuses, checks = [], {}, []
    for record in requests:
        start = time.perf_counter()
        result = generate_workflow(
            record["user_request"], out_dir=tmp / record["id"], run_tests=False
        )
        times.append(time.perf_counter() - start)
        statuses[result.status] = statuses.get(result.status, 0) + 1
        checks += [c for c in result.checks if c.name == "import"]
    report = {
        "n": len(times),
        "p50_s": round(statistics.median(times), 3),
        "p95_s": round(percentile(times, 0.95), 3),
        "max_s": round(max(times), 3),
        "import_check_p50_s": round(statistics.median([c.duration_ms for c in checks]) / 1000, 3)
        if checks
        else None,
        "statuses": statuses,
        "budget_s": BUDGET_S,
        "cpus": os.cpu_count(),
        "load_avg": os.getloadavg()[0],
    }
    if args.json:
        print(json.dumps(report))
    else:
        for key, value in report.items():
            print(f"{key:>20}: {value}")
    return 0 if report["p95_s"] <= BUDGET_S else 1


if __name__ == "__main__":
    sys.exit(main())

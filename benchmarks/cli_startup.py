"""How long `flowwright --help` takes, and which imports cost the most.

Runs the installed `flowwright` script (or `python -m app.cli.main`) N times after a warm-up,
prints min/median/p95 wall time, then the ten slowest imports (cumulative) of
`python -X importtime -c "import app.cli.main"`. Exits 1 when the median is over budget.

    python benchmarks/cli_startup.py [--runs 20] [--budget 0.5]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def cli_command() -> list[str]:
    """The console script next to this interpreter, else the module form."""
    script = Path(sys.executable).parent / "flowwright"
    if script.exists():
        return [str(script)]
    found = shutil.which("flowwright")
    return [found] if found else [sys.executable, "-m", "app.cli.main"]


def time_help(runs: int) -> list[float]:
    """Wall times of `flowwright --help`, one warm-up run excluded."""
    command = [*cli_command(), "--help"]
    subprocess.run(command, cwd=ROOT, capture_output=True, check=True)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, cwd=ROOT, capture_output=True, check=True)
        times.append(time.perf_counter() - start)
    return times


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def heaviest_imports(limit: int = 10) -> list[tuple[str, float]]:
    """(module, cumulative seconds) of the slowest imports when loading the CLI module."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import app.cli.main"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    rows = []
    for line in result.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _self_us, cumulative_us, name = line.removeprefix("import time:").split("|", 2)
        rows.append((name.strip(), int(cumulative_us) / 1e6))
    rows.sort(key=lambda row: row[1], reverse=True)
    return rows[:limit]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--budget", type=float, default=0.5, help="Median budget in seconds.")
    args = parser.parse_args()
    times = time_help(args.runs)
    median = statistics.median(times)
    print(f"flowwright --help over {args.runs} runs ({' '.join(cli_command())}):")
    print(f"  min    {min(times) * 1000:7.1f} ms")
    print(f"  median {median * 1000:7.1f} ms")
    print(f"  p95    {percentile(times, 95) * 1000:7.1f} ms")
    print(f"  budget {args.budget * 1000:7.1f} ms (median)")
    print("heaviest imports of `import app.cli.main` (cumulative):")
    for name, seconds in heaviest_imports():
        print(f"  {seconds * 1000:7.1f} ms  {name}")
    if median > args.budget:
        print(f"FAIL: median {median:.3f}s is over the {args.budget:.3f}s budget")
        return 1
    print("OK: within budget")
    return 0


if __name__ == "__main__":
    sys.exit(main())

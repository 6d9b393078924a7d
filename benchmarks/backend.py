"""Backend generation speed: validate + render + format + atomic write, without the checks.

Usage: python benchmarks/backend.py [--repeat N]
Prints per model: first run (includes template compilation) and the median of the repeats.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.backend.service import generate_backend  # noqa: E402

BACKBONE = ROOT.parent / "shared" / "examples" / "backbone"
REQUEST = "a blog where users write posts and readers comment on posts; posts have tags"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    inputs: list[Path | str] = [
        *sorted(BACKBONE.glob("*.json")),
        *sorted((ROOT / "examples" / "models").glob("*.yaml")),
        REQUEST,
    ]
    print(f"{'model':28} {'first s':>8} {'median s':>9} {'render s':>9} {'write+fmt s':>12} files")
    worst = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for n, source in enumerate(inputs):
            runs, last = [], None
            for i in range(args.repeat + 1):
                start = time.perf_counter()
                last = generate_backend(source, Path(tmp) / f"p{n}_{i}", run_checks=False)
                runs.append(time.perf_counter() - start)
                assert last.ok, last.diagnostics
            label = source.stem if isinstance(source, Path) else "english: blog"
            median = statistics.median(runs[1:])
            worst = max(worst, median)
            print(
                f"{label:28} {runs[0]:8.3f} {median:9.3f} {last.timings['render']:9.3f} "
                f"{last.timings['write']:12.3f} {len(last.files)}"
            )
    print(f"worst median: {worst:.3f}s (budget 1.0s)")
    sys.exit(1 if worst > 1.0 else 0)


if __name__ == "__main__":
    main()

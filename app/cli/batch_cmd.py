"""`flowwright run FILE --batch ROWS`: run a workflow once per row, with progress and resume."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

from app.cli.catalogs import cli_catalog
from app.cli.render import err, out, print_json
from app.cli.run_cmd import EXIT_INVALID, EXIT_OK, EXIT_RUN_FAILED, load_valid_spec
from app.errors import FlowwrightError


def run_batch_file(
    file: str,
    *,
    rows: str,
    output: str | None,
    concurrency: int,
    dry_run: bool,
    as_json: bool,
    modules: Sequence[str],
) -> int:
    """Exit 0 when every row succeeded, 1 when some failed (see the results), 2 on bad input."""
    from app.cli.batch_view import batch_progress
    from app.engine.batch import count_rows, run_batch

    rows_path = Path(rows)
    if not rows_path.is_file():
        raise FlowwrightError(
            f"batch file {rows} not found", code="NOT_FOUND", hint="Check the path."
        )
    results = Path(output) if output else rows_path.with_suffix(".results.jsonl")
    catalog = cli_catalog(None, modules)
    spec = load_valid_spec(file, catalog)
    if spec is None:
        return EXIT_INVALID
    total = count_rows(rows_path)
    if as_json:
        summary = run_batch(spec, catalog, rows_path, results, concurrency=concurrency,
                            dry_run=dry_run, total=total)  # fmt: skip
        print_json({**dataclasses.asdict(summary), "results": str(results)})
    else:
        with batch_progress(total, console=err()) as on_progress:
            summary = run_batch(spec, catalog, rows_path, results, concurrency=concurrency,
                                dry_run=dry_run, on_progress=on_progress, total=total)  # fmt: skip
        done = summary.skipped_already_done
        out().print(
            f"{summary.succeeded} succeeded, {summary.failed} failed"
            + (f", {done} already done" if done else "")
            + f" in {summary.elapsed_s:.1f} s ({summary.rows_per_s:.0f} rows/s); "
            f"results in {results}"
        )
    return EXIT_RUN_FAILED if summary.failed else EXIT_OK

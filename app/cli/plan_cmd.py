"""`flowwright plan` (a request → a validated spec) and `flowwright eval` (plan-quality metrics)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from app.cli.catalogs import cli_catalog
from app.config import get_settings
from app.errors import FlowwrightError

EXIT_CANNOT_PLAN = 2


def run_plan(request: str, *, as_json: bool, catalog_file: str | None) -> int:
    """Print the plan as YAML (or JSON); exit 2 with the error and closest tools otherwise."""
    from agents.planner import plan

    catalog = _with_graph(cli_catalog(catalog_file, None), catalog_file)
    result = plan(request, catalog)
    if result.spec is None:
        error = result.error
        assert error is not None
        if as_json:
            sys.stdout.write(json.dumps({"error": error.model_dump(mode="json")}, indent=2) + "\n")
        else:
            sys.stderr.write(f"error[{error.code}]: {error.message}\n")
            if error.hint:
                sys.stderr.write(f"hint: {error.hint}\n")
            if error.closest_tools:
                sys.stderr.write("closest tools: " + ", ".join(error.closest_tools) + "\n")
        return EXIT_CANNOT_PLAN
    if as_json:
        sys.stdout.write(result.spec.to_json() + "\n")
    else:
        sys.stdout.write(result.spec.to_yaml())
    return 0


def _with_graph(catalog: Any, catalog_file: str | None) -> Any:
    """Attach the tool graph (`graph_desc.json` next to a TaskBench catalog) when there is one,
    and, with FLOWWRIGHT_PLANNER_EXAMPLES=1, the catalog's own training examples (opt-in)."""
    if catalog_file is not None:
        from agents.planner import examples
        from agents.planner.graph import attach, load_tool_graph

        attach(catalog, load_tool_graph(catalog_file))
        if get_settings().planner_examples:
            examples.attach(catalog, examples.load_examples(catalog_file))
    return catalog


def _fmt(value: Any, percent: bool = True) -> str:
    if value is None:
        return "—"
    return f"{value * 100:.1f}" if percent else f"{value:.1f}"


def run_eval(
    data: str,
    *,
    catalog_file: str | None,
    split: str | None,
    predictions: str | None,
    as_json: bool,
) -> int:
    """Plan every record, print the metrics overall and by type, optionally save predictions."""
    from agents.evaluation import evaluate, load_records, write_predictions
    from agents.planner import plan

    for path in (data, split, catalog_file):
        if path is not None and not Path(path).is_file():
            raise FlowwrightError(
                f"file not found: {path}", hint="Check the path.", code="NOT_FOUND"
            )
    try:
        records = load_records(data, split)
    except (ValueError, KeyError, TypeError) as exc:
        raise FlowwrightError(
            f"cannot read gold records from {data}: {exc}",
            hint="Give TaskBench-style JSONL or a JSON array of records.",
            code="EVAL_DATA_INVALID",
        ) from exc
    catalog = _with_graph(cli_catalog(catalog_file, None), catalog_file)
    report = evaluate(records, catalog, plan)
    if predictions:
        write_predictions(report, predictions)
    if as_json:
        body = report.model_dump(mode="json", exclude={"predictions"})
        sys.stdout.write(json.dumps(body, indent=2) + "\n")
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"Planner evaluation: {data} ({len(records)} requests)")
    columns = ("type", "n", "node F1", "link F1", "arg name F1", "arg value F1", "exact",
               "valid", "p50 ms", "p95 ms")  # fmt: skip
    for col in columns:
        table.add_column(col, justify="left" if col == "type" else "right")
    rows = [("overall", report.overall), *report.by_type.items()]
    for label, m in rows:
        table.add_row(
            label, str(m.n), _fmt(m.node_f1), _fmt(m.link_f1), _fmt(m.arg_name_f1),
            _fmt(m.arg_value_f1), _fmt(m.exact_match), _fmt(m.valid_plan_rate),
            _fmt(m.latency_p50_ms, False), _fmt(m.latency_p95_ms, False),
        )  # fmt: skip
    Console(width=max(120, Console().width)).print(table)
    return 0

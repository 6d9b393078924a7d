"""Scoring of plans against gold records: F1s, placeholders, splits, formats."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from agents.evaluation import (
    EvalReport,
    GoldRecord,
    canonical,
    evaluate,
    load_records,
    spec_graph,
    split_ids,
    write_predictions,
)
from app.tools.registry import Catalog
from app.workflow.spec import WorkflowSpec


def _spec(steps: list[dict]) -> WorkflowSpec:
    return WorkflowSpec.model_validate(
        {"flowwright": "1", "name": "t", "inputs": {"text": {"type": "string"}}, "steps": steps}
    )


def _planner(spec: WorkflowSpec | None):
    return lambda request, catalog: SimpleNamespace(spec=spec, error=None)


GOLD = GoldRecord(
    id="g1",
    user_request="Fetch https://example.com and summarize it in 2 sentences.",
    task_nodes=[
        {"task": "fetch_page", "arguments": [{"name": "url", "value": "https://example.com"}]},
        {
            "task": "summarize_text",
            "arguments": [
                {"name": "text", "value": "<node-0>"},
                {"name": "max_sentences", "value": 2},
            ],
        },
    ],
    task_links=[{"source": "fetch_page", "target": "summarize_text"}],
    type="chain",
)


def test_perfect_plan_scores_one_and_maps_expressions_to_placeholders() -> None:
    spec = _spec(
        [
            {"id": "f", "tool": "fetch_page", "params": {"url": " HTTPS://example.com "}},
            {
                "id": "s",
                "tool": "summarize_text",
                "params": {"text": "{{ steps.f.output.text }}", "max_sentences": 2},
            },
        ]
    )
    report = evaluate([GOLD], Catalog.builtin(), _planner(spec))
    m = report.overall
    assert (m.node_f1, m.link_f1, m.arg_name_f1, m.arg_value_f1) == (1.0, 1.0, 1.0, 1.0)
    assert m.exact_match == 1.0 and m.valid_plan_rate == 1.0
    assert report.by_type["chain"].n == 1


def test_partial_plan_has_known_f1s() -> None:
    # One correct node of two predicted (precision 1/2), one of two gold (recall 1/2): F1 0.5.
    spec = _spec(
        [
            {"id": "f", "tool": "fetch_page", "params": {"url": "https://other.org"}},
            {"id": "x", "tool": "extract_urls", "params": {"text": "{{ inputs.text }}"}},
        ]
    )
    m = evaluate([GOLD], Catalog.builtin(), _planner(spec)).overall
    assert m.node_f1 == 0.5
    assert m.link_f1 == 0.0  # no dependency predicted, one gold link
    # names: fetch_page|url matches; extract_urls|text does not → P 1/2, R 1/3 → F1 0.4
    assert m.arg_name_f1 == 0.4
    assert m.arg_value_f1 == 0.0
    assert m.exact_match == 0.0


def test_null_gold_value_is_scored_by_name_only() -> None:
    gold = GoldRecord(
        id="n",
        user_request="query",
        task_nodes=[{"task": "sql_query", "arguments": [{"name": "query", "value": None}]}],
    )
    spec = _spec([{"id": "q", "tool": "sql_query", "params": {"query": "SELECT 1"}}])
    m = evaluate([gold], Catalog.builtin(), _planner(spec)).overall
    assert m.arg_name_f1 == 1.0
    assert m.arg_value_f1 == 1.0  # nothing to compare by value: vacuously perfect


def test_item_and_input_placeholders() -> None:
    spec = _spec(
        [
            {"id": "e", "tool": "extract_emails", "params": {"text": "{{ inputs.text }}"}},
            {
                "id": "v",
                "tool": "validate_email",
                "for_each": "{{ steps.e.output }}",
                "params": {"email": "{{ item }}"},
            },
        ]
    )
    nodes, links = spec_graph(spec)
    assert nodes[0]["arguments"] == [{"name": "text", "value": "<input>"}]
    assert nodes[1]["arguments"] == [{"name": "email", "value": "<item>"}]
    assert links == [("extract_emails", "validate_email")]


def test_no_plan_counts_as_empty_prediction() -> None:
    m = evaluate([GOLD], Catalog.builtin(), _planner(None)).overall
    assert m.node_f1 == 0.0 and m.planned_rate == 0.0 and m.valid_plan_rate == 0.0


def test_canonical_values() -> None:
    assert canonical("  DE ") == canonical("de")
    assert canonical(2) == canonical(2.0) == "2"
    assert canonical(True) == "true"
    assert canonical(["A", "b"]) == canonical(["a", "B"])


def test_jsonl_json_array_and_split(tmp_path: Path) -> None:
    rows = [
        {"id": 1, "user_request": "a", "task_nodes": [{"task": "x"}], "task_links": []},
        {"id": 2, "user_request": "b", "task_nodes": [{"task": "y"}], "task_links": []},
    ]
    jsonl = tmp_path / "d.jsonl"
    jsonl.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    array = tmp_path / "d.json"
    array.write_text(json.dumps(rows))
    split = tmp_path / "split.json"
    split.write_text(json.dumps({"test_ids": {"single": [2]}}))
    assert [r.id for r in load_records(jsonl)] == ["1", "2"]
    assert [r.id for r in load_records(array)] == ["1", "2"]
    kept = load_records(jsonl, split)
    assert [(r.id, r.type) for r in kept] == [("2", "single")]
    assert split_ids(split) == {"2": "single"}
    assert not kept[0].has_arguments


def test_report_is_json_serialisable_and_predictions_written(tmp_path: Path) -> None:
    spec = _spec([{"id": "f", "tool": "fetch_page", "params": {"url": "https://example.com"}}])
    report = evaluate([GOLD], Catalog.builtin(), _planner(spec))
    again = EvalReport.model_validate_json(report.model_dump_json())
    assert again.overall.node_f1 == report.overall.node_f1
    out = tmp_path / "pred.jsonl"
    write_predictions(report, out)
    line = json.loads(out.read_text().splitlines()[0])
    assert set(line) == {"id", "spec", "error", "latency_ms"}
    assert line["spec"]["steps"][0]["tool"] == "fetch_page"


@pytest.mark.parametrize("bad", ["[1, 2", "{not json"])
def test_bad_data_raises_value_error(tmp_path: Path, bad: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(bad)
    with pytest.raises(ValueError):
        load_records(path)

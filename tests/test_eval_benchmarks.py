"""Acceptance thresholds of the rules planner, measured with `agents.evaluation` (issue 4).

Benchmark data is read from ../shared and these tests skip when it is absent; the held-out set
(tests/data/heldout_builtin.jsonl) ships with the repo. Thresholds that the planner does not yet
reach on third-party catalogs are floors just under the measured figure, so a regression below
today's level fails; targets that are met are asserted as such.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from agents.evaluation import Metrics, evaluate, load_records
from agents.planner import plan
from app.tools.registry import Catalog, load_catalog

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
DEV = SHARED / "eval" / "builtin_dev.jsonl"
HELDOUT = ROOT / "tests" / "data" / "heldout_builtin.jsonl"
BENCH = SHARED / "bench"


def _needs(path: Path) -> None:
    if not path.exists():
        pytest.skip(f"{path} not available")


def test_builtin_dev_set_meets_acceptance() -> None:
    _needs(DEV)
    m = evaluate(load_records(DEV), Catalog.builtin(), plan).overall
    assert m.node_f1 >= 0.95
    assert m.link_f1 >= 0.90
    assert m.arg_value_f1 is not None and m.arg_value_f1 >= 0.85
    assert m.valid_plan_rate == 1.0
    assert m.latency_p95_ms <= 200  # budget (50 ms) is enforced by benchmarks/planner.py


def test_heldout_builtin_set() -> None:
    records = load_records(HELDOUT)
    assert len(records) >= 30
    m = evaluate(records, Catalog.builtin(), plan).overall
    # Held-out wording is measured, not tuned to: guard today's level against regressions.
    assert m.valid_plan_rate == 1.0
    assert m.node_f1 >= 0.80
    assert m.link_f1 >= 0.60
    assert m.arg_value_f1 is not None and m.arg_value_f1 >= 0.70


def _taskbench(folder: Path, examples: bool = False) -> Catalog:
    """A TaskBench catalog with its tool graph attached (as `flowwright eval --catalog` does)
    and, when asked, its own training examples (FLOWWRIGHT_PLANNER_EXAMPLES=1)."""
    from agents.planner import examples as ex
    from agents.planner.graph import attach, load_tool_graph

    catalog = load_catalog(taskbench=folder / "tool_desc.json")
    attach(catalog, load_tool_graph(folder / "tool_desc.json"))
    if examples:
        ex.attach(catalog, ex.load_examples(folder / "tool_desc.json"))
    return catalog


def _heldout(name: str, folder: Path) -> Metrics:
    """Overall metrics of a hand-written held-out set (tests/data/NAME) over a TaskBench catalog."""
    _needs(folder / "tool_desc.json")
    records = load_records(ROOT / "tests" / "data" / name)
    assert len(records) >= 20
    m = evaluate(records, _taskbench(folder), plan).overall
    assert m.valid_plan_rate == 1.0
    return m


def test_heldout_dailylife_set() -> None:
    """Requests and gold written by hand over TaskBench's daily-life catalog (never tuned on)."""
    m = _heldout("heldout_dailylife.jsonl", BENCH / "taskbench" / "dailylifeapis")
    assert m.node_f1 >= 0.93 and m.link_f1 >= 0.85  # measured 0.971 / 0.917
    assert m.arg_value_f1 is not None and m.arg_value_f1 >= 0.10  # measured 0.154


def test_ultratool_test_split() -> None:
    """Tool graph only (the default) meets the acceptance targets."""
    folder = BENCH / "ultratool"
    _needs(folder / "data.json")
    records = load_records(folder / "data.json", folder / "split_ids.json")
    assert len(records) == 500
    m = evaluate(records, _taskbench(folder), plan).overall
    assert m.latency_p95_ms <= 200
    assert m.valid_plan_rate == 1.0
    assert m.node_f1 >= 0.60 and m.link_f1 >= 0.40  # measured 0.661 / 0.425


def test_ultratool_test_split_with_training_examples() -> None:
    """Opt-in priors from UltraTool's own non-test records: meets the acceptance targets."""
    folder = BENCH / "ultratool"
    _needs(folder / "data.json")
    records = load_records(folder / "data.json", folder / "split_ids.json")
    m = evaluate(records, _taskbench(folder, examples=True), plan).overall
    assert m.latency_p95_ms <= 200
    assert m.valid_plan_rate == 1.0
    assert m.node_f1 >= 0.60 and m.link_f1 >= 0.40  # measured 0.801 / 0.510


def test_tmdb() -> None:
    """Meets the 0.60 node F1 target with the tool graph alone (TMDB has no training split)."""
    folder = BENCH / "tmdb"
    _needs(folder / "data.json")
    records = load_records(folder / "data.json", folder / "split_ids.json")
    m = evaluate(records, _taskbench(folder), plan).overall
    assert m.valid_plan_rate == 1.0
    assert m.node_f1 >= 0.60 and m.link_f1 >= 0.40  # measured 0.615 / 0.426


def test_heldout_tmdb_set() -> None:
    """Requests and gold written by hand over TMDB's catalog, after the planner's rules and
    before measuring them (never tuned on): 0.699 / 0.513 before those rules."""
    m = _heldout("heldout_tmdb.jsonl", BENCH / "tmdb")
    assert m.node_f1 >= 0.85 and m.link_f1 >= 0.72  # measured 0.879 / 0.766


def test_taskbench_dailylife_sample() -> None:
    data = BENCH / "taskbench" / "gt_sample" / "dailylifeapis_data_first13.jsonl"
    _needs(data)
    m = evaluate(load_records(data), _taskbench(BENCH / "taskbench" / "dailylifeapis"), plan)
    m = m.overall
    assert m.n == 13 and m.planned_rate == 1.0
    assert m.node_f1 >= 0.95 and m.link_f1 >= 0.85  # measured 0.980 / 0.880

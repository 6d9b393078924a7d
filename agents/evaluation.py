"""Plan-quality evaluation over TaskBench-style gold records (DESIGN §7).

A plan is mapped to *nodes* (its steps' tools, in order) and *links* (one `source → target` per
dependency of a step), then scored against the gold with TaskBench's micro F1s. Counting uses
multisets, so a plan that reads two CSV files must have two `read_csv` nodes to match a gold that
does. Argument values that are expressions become the gold placeholders: `<node-k>` (reads step k's
output, k = position in the plan), `<item>` (reads the `for_each` item), `<input>` (reads workflow
inputs only); a gold value of `null` is scored by name only.
"""

from __future__ import annotations

import json
import math
import time
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from app.tools.registry import Catalog
from app.workflow.analysis import step_dependencies
from app.workflow.expressions import collect_strings, is_expression, references
from app.workflow.spec import WorkflowSpec

Planner = Callable[[str, Catalog], Any]
_IGNORED_CODES = {"TOOL_PLANNING_ONLY"}  # planning-only catalogs cannot run by design


class GoldRecord(BaseModel):
    """One request with its gold nodes and links (arguments are optional, as in UltraTool)."""

    id: str
    user_request: str
    task_nodes: list[dict[str, Any]] = Field(default_factory=list)
    task_links: list[dict[str, Any]] = Field(default_factory=list)
    type: str | None = None

    @property
    def has_arguments(self) -> bool:
        return any("arguments" in node for node in self.task_nodes)


class Metrics(BaseModel):
    """Micro-averaged scores over a set of records."""

    n: int = 0
    node_precision: float = 0.0
    node_recall: float = 0.0
    node_f1: float = 0.0
    link_f1: float = 0.0
    arg_name_f1: float | None = None
    arg_value_f1: float | None = None
    exact_match: float = 0.0
    valid_plan_rate: float = 0.0
    planned_rate: float = 0.0
    latency_p50_ms: float = 0.0
    latency_p95_ms: float = 0.0


class Prediction(BaseModel):
    """What the planner produced for one record (the `--predictions` line)."""

    id: str
    spec: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    latency_ms: float
    valid: bool = False


class EvalReport(BaseModel):
    """Overall and per-type metrics, plus every prediction (JSON-serialisable)."""

    overall: Metrics
    by_type: dict[str, Metrics] = Field(default_factory=dict)
    predictions: list[Prediction] = Field(default_factory=list)


# -- reading ----------------------------------------------------------------------------------


def load_records(path: str | Path, split: str | Path | None = None) -> list[GoldRecord]:
    """Records from JSONL or a JSON array; `split` (a `split_ids.json`) keeps only its test ids
    and supplies each record's type when the record has none (TMDB)."""
    text = Path(path).read_text(encoding="utf-8")
    stripped = text.lstrip()
    if stripped.startswith("["):
        raw = json.loads(stripped)
    else:
        raw = [json.loads(line) for line in text.splitlines() if line.strip()]
    records = [_record(item) for item in raw if isinstance(item, dict)]
    if split is None:
        return records
    wanted = split_ids(split)
    kept = []
    for record in records:
        if record.id in wanted:
            kept.append(record.model_copy(update={"type": record.type or wanted[record.id]}))
    return kept


def _record(item: dict[str, Any]) -> GoldRecord:
    data = dict(item)
    data["id"] = str(data.get("id", ""))
    data["type"] = None if data.get("type") is None else str(data["type"])
    return GoldRecord.model_validate({k: data[k] for k in GoldRecord.model_fields if k in data})


def split_ids(path: str | Path) -> dict[str, str | None]:
    """id → type from `{"test_ids": {type: [ids]}}`, `{"test_ids": [ids]}` or a plain list."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if isinstance(data, dict):
        data = data.get("test_ids", data)
    if isinstance(data, dict):
        return {str(i): str(kind) for kind, ids in data.items() for i in ids}
    return {str(i): None for i in data}


# -- mapping a plan to nodes and links ----------------------------------------------------------


def canonical(value: Any) -> str:
    """Literal comparison form: strings trimmed and case-folded, other JSON canonically."""
    if isinstance(value, str):
        return value.strip().casefold()
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, int | float):
        return json.dumps(float(value)) if not float(value).is_integer() else str(int(value))
    if isinstance(value, list):
        return json.dumps([canonical(v) for v in value])
    if isinstance(value, dict):
        return json.dumps({str(k): canonical(v) for k, v in sorted(value.items())})
    return json.dumps(value, sort_keys=True, default=str)


def placeholder(value: Any, positions: dict[str, int]) -> str | None:
    """The gold placeholder a bound value stands for, or None for a literal."""
    roots: list[tuple[str, str | None]] = []
    for _, text in collect_strings(value):
        if not is_expression(text):
            continue
        try:
            refs = references(text)
        except Exception:  # unparsable expressions count as literals
            continue
        roots.extend((r.root, str(r.path[0]) if r.path else None) for r in refs)
    steps = [sid for root, sid in roots if root == "steps" and sid in positions]
    if steps:
        return f"<node-{positions[steps[0]]}>"
    if any(root == "item" for root, _ in roots):
        return "<item>"
    if any(root == "inputs" for root, _ in roots):
        return "<input>"
    return None


def spec_graph(spec: WorkflowSpec) -> tuple[list[dict[str, Any]], list[tuple[str, str]]]:
    """Nodes (`{task, arguments}` in step order, values as placeholders) and links by tool name."""
    positions = {step.id: i for i, step in enumerate(spec.steps)}
    nodes = []
    for step in spec.steps:
        args = []
        for name, value in step.params.items():
            bound = placeholder(value, positions)
            args.append({"name": name, "value": bound if bound is not None else value})
        nodes.append({"task": step.tool, "arguments": args})
    deps = step_dependencies(spec)
    tools = {step.id: step.tool for step in spec.steps}
    links = [(tools[src], tools[step.id]) for step in spec.steps for src in sorted(deps[step.id])]
    return nodes, links


# -- scoring ----------------------------------------------------------------------------------


class _Tally:
    """True positives, predicted and gold counts for one metric."""

    def __init__(self) -> None:
        self.tp = self.pred = self.gold = 0

    def add(self, pred: Counter[str], gold: Counter[str]) -> None:
        self.tp += sum((pred & gold).values())
        self.pred += sum(pred.values())
        self.gold += sum(gold.values())

    def prf(self) -> tuple[float, float, float]:
        p = self.tp / self.pred if self.pred else (1.0 if not self.gold else 0.0)
        r = self.tp / self.gold if self.gold else (1.0 if not self.pred else 0.0)
        return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def _arg_counters(
    pred_nodes: list[dict[str, Any]], gold_nodes: list[dict[str, Any]]
) -> tuple[Counter[str], Counter[str], Counter[str], Counter[str]]:
    """(pred names, gold names, pred values, gold values); null gold values are name-only."""
    pn: Counter[str] = Counter()
    gn: Counter[str] = Counter()
    pv: Counter[str] = Counter()
    gv: Counter[str] = Counter()
    name_only: set[str] = set()
    for node in gold_nodes:
        for arg in node.get("arguments") or []:
            key = f"{node.get('task')}|{arg.get('name')}"
            gn[key] += 1
            if arg.get("value") is None:
                name_only.add(key)
            else:
                gv[f"{key}|{canonical(arg['value'])}"] += 1
    for node in pred_nodes:
        for arg in node["arguments"]:
            key = f"{node['task']}|{arg['name']}"
            pn[key] += 1
            if key not in name_only:
                pv[f"{key}|{canonical(arg['value'])}"] += 1
    return pn, gn, pv, gv


class _Accumulator:
    def __init__(self) -> None:
        self.nodes, self.links, self.names, self.values = _Tally(), _Tally(), _Tally(), _Tally()
        self.n = self.exact = self.valid = self.planned = 0
        self.with_args = 0
        self.latencies: list[float] = []

    def add(
        self,
        gold: GoldRecord,
        pred_nodes: list[dict[str, Any]],
        pred_links: list[tuple[str, str]],
        valid: bool,
        planned: bool,
        latency_ms: float,
    ) -> None:
        self.n += 1
        self.latencies.append(latency_ms)
        self.valid += valid
        self.planned += planned
        pn_c = Counter(n["task"] for n in pred_nodes)
        gn_c = Counter(str(n.get("task")) for n in gold.task_nodes)
        pl_c = Counter(f"{s}->{t}" for s, t in pred_links)
        gl_c = Counter(f"{x.get('source')}->{x.get('target')}" for x in gold.task_links)
        self.nodes.add(pn_c, gn_c)
        self.links.add(pl_c, gl_c)
        exact = pn_c == gn_c and pl_c == gl_c
        if gold.has_arguments:
            self.with_args += 1
            pn, gn, pv, gv = _arg_counters(pred_nodes, gold.task_nodes)
            self.names.add(pn, gn)
            self.values.add(pv, gv)
            exact = exact and pn == gn and pv == gv
        self.exact += exact

    def metrics(self) -> Metrics:
        if not self.n:
            return Metrics()
        node_p, node_r, node_f = self.nodes.prf()
        return Metrics(
            n=self.n,
            node_precision=round(node_p, 4),
            node_recall=round(node_r, 4),
            node_f1=round(node_f, 4),
            link_f1=round(self.links.prf()[2], 4),
            arg_name_f1=round(self.names.prf()[2], 4) if self.with_args else None,
            arg_value_f1=round(self.values.prf()[2], 4) if self.with_args else None,
            exact_match=round(self.exact / self.n, 4),
            valid_plan_rate=round(self.valid / self.n, 4),
            planned_rate=round(self.planned / self.n, 4),
            latency_p50_ms=round(percentile(self.latencies, 50), 2),
            latency_p95_ms=round(percentile(self.latencies, 95), 2),
        )


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (0 for no values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def _is_valid(spec: WorkflowSpec, catalog: Catalog, diagnostics: Iterable[Any]) -> bool:
    return not any(
        getattr(d, "is_error", False) and d.code not in _IGNORED_CODES for d in diagnostics
    )


def evaluate(records: Iterable[GoldRecord], catalog: Catalog, planner: Planner) -> EvalReport:
    """Plan every record's request over `catalog` and score the plans against the gold."""
    from app.workflow.validator import validate

    records = list(records)
    if records:  # warm-up: the one-time catalog index (and model load) is not planning latency
        planner(records[0].user_request, catalog)
    overall = _Accumulator()
    by_type: dict[str, _Accumulator] = {}
    predictions: list[Prediction] = []
    for record in records:
        start = time.perf_counter()
        result = planner(record.user_request, catalog)
        latency = (time.perf_counter() - start) * 1000
        spec: WorkflowSpec | None = getattr(result, "spec", None)
        error = getattr(result, "error", None)
        nodes: list[dict[str, Any]] = []
        links: list[tuple[str, str]] = []
        valid = False
        if spec is not None:
            nodes, links = spec_graph(spec)
            valid = _is_valid(spec, catalog, validate(spec, catalog))
        for acc in (overall, by_type.setdefault(record.type or "all", _Accumulator())):
            acc.add(record, nodes, links, valid, spec is not None, latency)
        predictions.append(
            Prediction(
                id=record.id,
                spec=spec.to_data() if spec is not None else None,
                error=_error_dict(error),
                latency_ms=round(latency, 3),
                valid=valid,
            )
        )
    return EvalReport(
        overall=overall.metrics(),
        by_type={k: v.metrics() for k, v in sorted(by_type.items())},
        predictions=predictions,
    )


def _error_dict(error: Any) -> dict[str, Any] | None:
    if error is None:
        return None
    if isinstance(error, BaseModel):
        return error.model_dump(mode="json")
    if isinstance(error, dict):
        return error
    return {"message": str(error)}


def write_predictions(report: EvalReport, path: str | Path) -> None:
    """One `{"id", "spec", "error", "latency_ms"}` JSON object per line."""
    with Path(path).open("w", encoding="utf-8") as out:
        for p in report.predictions:
            line = {"id": p.id, "spec": p.spec, "error": p.error, "latency_ms": p.latency_ms}
            out.write(json.dumps(line, ensure_ascii=False) + "\n")

"""Optional: priors learned from a catalog's own training examples (TaskBench records).

Off unless attached. When a catalog folder ships TaskBench records (`data.json`) *and* a
`split_ids.json` naming its test ids, the records outside the test split are that catalog's
training examples. From them the planner learns, generically (no catalog-specific code):
- tool votes: the tools of the nearest training requests (wordllama cosine, top `K`), weighted
  by similarity, as extra evidence when ranking tools for a clause and for implied steps;
- transitions: how often tool b directly follows tool a, added to the chain decoding.
Without a test split the records are not used (they could be the evaluation data itself).
Enable with `attach(catalog, load_examples(catalog_path))`, or with the setting
`FLOWWRIGHT_PLANNER_EXAMPLES=true` for `flowwright plan/eval --catalog` (plan_cmd).
"""

from __future__ import annotations

import json
import weakref
from collections import Counter
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np

from agents.planner import embed
from app.tools.registry import Catalog

K = 8
DATA_FILE, SPLIT_FILE = "data.json", "split_ids.json"


@dataclass
class ExampleBank:
    requests: list[str]
    chains: list[list[str]]
    vectors: Any = None
    follows: Counter[tuple[str, str]] = field(default_factory=Counter)
    starts: Counter[str] = field(default_factory=Counter)
    outgoing: Counter[str] = field(default_factory=Counter)
    leave_one_out: bool = False  # for measuring on the examples themselves: skip exact matches

    @classmethod
    def build(cls, records: list[dict[str, Any]]) -> ExampleBank:
        requests, chains = [], []
        for rec in records:
            tools = [str(n.get("task")) for n in rec.get("task_nodes") or [] if n.get("task")]
            if tools and str(rec.get("user_request", "")).strip():
                requests.append(str(rec["user_request"]).strip())
                chains.append(tools)
        bank = cls(requests, chains, embed.embed(requests) if requests else None)
        for tools in chains:
            bank.starts[tools[0]] += 1
            for a, b in pairwise(tools):
                bank.follows[(a, b)] += 1
                bank.outgoing[a] += 1
        return bank

    def transition(self, a: str, b: str) -> float:
        """P(b directly follows a) in the examples (0 when a was never followed)."""
        total = self.outgoing.get(a, 0)
        return self.follows.get((a, b), 0) / total if total else 0.0

    def votes(self, text: str, k: int = K) -> dict[str, float]:
        """Share of the `k` nearest examples (similarity-weighted) whose chain uses each tool."""
        if self.vectors is None or not text.strip():
            return {}
        q = embed.embed([text])
        if q is None:
            return {}
        sims = self.vectors @ q[0]
        if self.leave_one_out:
            sims = np.where(np.array([r == text.strip() for r in self.requests]), -1.0, sims)
        top = np.argsort(-sims, kind="stable")[:k]
        weight = float(sum(max(0.0, float(sims[i])) for i in top)) or 1.0
        out: dict[str, float] = {}
        for i in top:
            for tool in set(self.chains[i]):
                out[tool] = out.get(tool, 0.0) + max(0.0, float(sims[i])) / weight
        return out


def load_examples(catalog_path: str | Path | None) -> ExampleBank | None:
    """Training examples next to a TaskBench catalog: `data.json` minus the test split."""
    if catalog_path is None:
        return None
    folder = Path(catalog_path).parent
    data, split = folder / DATA_FILE, folder / SPLIT_FILE
    if not data.is_file() or not split.is_file():
        return None
    try:
        text = data.read_text(encoding="utf-8")
        stripped = text.lstrip()
        raw = (
            json.loads(stripped)
            if stripped.startswith("[")
            else [json.loads(line) for line in text.splitlines() if line.strip()]
        )
        ids = json.loads(split.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    ids = ids.get("test_ids", ids) if isinstance(ids, dict) else ids
    if isinstance(ids, dict):
        test = {str(i) for v in ids.values() for i in v}
    else:
        test = {str(i) for i in ids}
    train = [r for r in raw if isinstance(r, dict) and str(r.get("id")) not in test]
    return ExampleBank.build(train) if train else None


_ATTACHED: weakref.WeakKeyDictionary[Catalog, ExampleBank] = weakref.WeakKeyDictionary()


def attach(catalog: Catalog, bank: ExampleBank | None) -> None:
    if bank is None:
        _ATTACHED.pop(catalog, None)
    else:
        _ATTACHED[catalog] = bank


def attached(catalog: Catalog) -> ExampleBank | None:
    return _ATTACHED.get(catalog)

"""A catalog's tool graph: which tool can feed which (TaskBench `graph_desc.json`).

TaskBench-format catalog folders ship `graph_desc.json` next to `tool_desc.json`:
`{"nodes": [...], "links": [{"source": a, "target": b}, ...]}`. It is catalog metadata, like the
tools' parameters. The planner uses it, when present, to choose a chain of tools that can actually
feed each other (joint decoding over the clauses), and to add a step the chain implies: a lookup
tool of the same entity that feeds the first step, the list tool whose one item the first step
works on ("the keywords of the most popular movie"), or the follower of a last list step whose
one item the request asks about. Nothing here depends on one catalog's wording.

A graph reaches the planner in one of two ways: `plan(..., tool_graph=g)`, or `attach(catalog, g)`
once after loading the catalog (what `flowwright plan/eval --catalog` do).
"""

from __future__ import annotations

import json
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.tools.registry import Catalog

GRAPH_FILE = "graph_desc.json"


@dataclass
class ToolGraph:
    """Directed edges between tool names, with successor/predecessor lookups."""

    edges: set[tuple[str, str]] = field(default_factory=set)
    succ: dict[str, set[str]] = field(default_factory=dict)
    pred: dict[str, set[str]] = field(default_factory=dict)

    @classmethod
    def from_links(cls, links: list[tuple[str, str]]) -> ToolGraph:
        graph = cls()
        for source, target in links:
            if source == target:
                continue
            graph.edges.add((source, target))
            graph.succ.setdefault(source, set()).add(target)
            graph.pred.setdefault(target, set()).add(source)
        return graph

    def has(self, source: str, target: str) -> bool:
        return (source, target) in self.edges

    def density(self, n_tools: int) -> float:
        """Edges over possible edges: a (near-)complete graph says nothing about order."""
        return len(self.edges) / max(1, n_tools * (n_tools - 1))


def parse(data: Any) -> ToolGraph | None:
    links = data.get("links") if isinstance(data, dict) else None
    if not isinstance(links, list):
        return None
    pairs = [
        (str(x["source"]), str(x["target"]))
        for x in links
        if isinstance(x, dict) and "source" in x and "target" in x
    ]
    return ToolGraph.from_links(pairs)


def load_tool_graph(catalog_path: str | Path | None) -> ToolGraph | None:
    """The graph next to a TaskBench `tool_desc.json` (or the graph file itself), if any."""
    if catalog_path is None:
        return None
    path = Path(catalog_path)
    candidate = path if path.name == GRAPH_FILE else path.with_name(GRAPH_FILE)
    if not candidate.is_file():
        return None
    try:
        return parse(json.loads(candidate.read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return None


_ATTACHED: weakref.WeakKeyDictionary[Catalog, ToolGraph] = weakref.WeakKeyDictionary()


def attach(catalog: Catalog, graph: ToolGraph | None) -> None:
    """Make `graph` the default tool graph of `catalog` for `plan()`."""
    if graph is None:
        _ATTACHED.pop(catalog, None)
    else:
        _ATTACHED[catalog] = graph


def attached(catalog: Catalog) -> ToolGraph | None:
    return _ATTACHED.get(catalog)

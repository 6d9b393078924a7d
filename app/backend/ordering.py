"""Create order: tables sorted so every foreign key's target exists first; cycles are broken.

A cycle (a → b → a) cannot be created table by table, so one foreign key per cycle is deferred:
the model marks it `use_alter` and the migration adds it after the tables exist.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from app.backend.model import DataModel
from app.backend.resolve import ref_target


@dataclass
class TableOrder:
    """Entities in create order and the (entity, field) foreign keys added after creation."""

    entities: list[str]
    deferred: set[tuple[str, str]] = field(default_factory=set)


def fk_edges(model: DataModel) -> dict[str, list[tuple[str, str]]]:
    """entity → [(fk field, target entity)], self-references excluded (they never block)."""
    edges: dict[str, list[tuple[str, str]]] = {e.name: [] for e in model.entities}
    for entity in model.entities:
        for f in entity.fields:
            hit = ref_target(model, f)
            if hit and hit[0].name != entity.name:
                edges[entity.name].append((f.name, hit[0].name))
    return edges


def create_order(model: DataModel) -> TableOrder:
    """Kahn's algorithm, stable in declaration order; when stuck, defer the first blocked FKs."""
    edges = fk_edges(model)
    remaining = [e.name for e in model.entities]
    done: set[str] = set()
    order = TableOrder([])
    while remaining:
        ready = next((n for n in remaining if all(t in done for _, t in edges[n])), None)
        if ready is None:  # a cycle: defer the pending FKs of the first remaining entity
            ready = remaining[0]
            order.deferred |= {(ready, f) for f, t in edges[ready] if t not in done}
        order.entities.append(ready)
        done.add(ready)
        remaining.remove(ready)
    return order


def find_cycles(model: DataModel, *, required_only: bool = False) -> list[list[str]]:
    """Strongly connected groups (size > 1, or a required self-reference) of the FK graph."""
    graph: dict[str, set[str]] = {e.name: set() for e in model.entities}
    selfs: list[list[str]] = []
    for entity in model.entities:
        for f in entity.fields:
            hit = ref_target(model, f)
            if not hit or (required_only and f.is_nullable):
                continue
            if hit[0].name == entity.name:
                if required_only:
                    selfs.append([entity.name])
            else:
                graph[entity.name].add(hit[0].name)
    return selfs + [c for c in _scc(graph) if len(c) > 1]


def _scc(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components, iteratively (models may be large)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    result: list[list[str]] = []
    counter = 0
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    top = stack.pop()
                    on_stack.discard(top)
                    group.append(top)
                    if top == node:
                        break
                result.append(group)
    return result

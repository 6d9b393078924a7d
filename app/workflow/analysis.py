"""Static analysis of a workflow, shared by the validator and the engine (DESIGN §2).

Dependencies are `depends_on` ∪ every `steps.<id>` an expression in `params`, `when` or `for_each`
reads; graph algorithms here are iterative, so they are safe on any spec size. Value types say what
a `{{ path }}` expression yields, from declared inputs and the tools' output schemas.
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from app.workflow.diagnostics import pointer
from app.workflow.expressions import collect_strings, references, single_expression
from app.workflow.spec import InputType, StepSpec, WorkflowSpec

if TYPE_CHECKING:
    from app.tools.registry import Catalog


def step_expressions(step: StepSpec) -> Iterator[tuple[str, str]]:
    """Every template string of a step with its pointer relative to the step (`/params/x`)."""
    sources: list[tuple[str, Any]] = [("params", step.params)]
    if step.when is not None:
        sources.append(("when", step.when))
    if step.for_each is not None:
        sources.append(("for_each", step.for_each))
    for name, value in sources:
        for path, text in collect_strings(value):
            yield pointer(name, *path), text


def referenced_steps(text: str) -> list[str]:
    """Step ids a template reads through `steps.<id>`, in order of appearance."""
    return [
        str(ref.path[0])
        for ref in references(text)
        if ref.root == "steps" and ref.path and isinstance(ref.path[0], str)
    ]


def step_references(step: StepSpec) -> set[str]:
    """Step ids referenced through `steps.<id>` in the step's params, `when` and `for_each`."""
    return {sid for _, text in step_expressions(step) for sid in referenced_steps(text)}


def step_dependencies(spec: WorkflowSpec) -> dict[str, set[str]]:
    """Step id → ids it waits for: `depends_on` ∪ referenced steps, restricted to existing ids.

    A self-reference is kept (it is a cycle); duplicate ids merge their dependencies.
    """
    ids = {step.id for step in spec.steps}
    deps: dict[str, set[str]] = {}
    for step in spec.steps:
        wanted = set(step.depends_on) | step_references(step)
        deps.setdefault(step.id, set()).update(wanted & ids)
    return deps


def strongly_connected(deps: Mapping[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components, iteratively; nodes ordered as in `deps`."""
    order = {node: i for i, node in enumerate(deps)}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []
    for root in deps:
        if root in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(root, _successors(deps, root, order))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, successors = work[-1]
            advanced = False
            for nxt in successors:
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, _successors(deps, nxt, order)))
                    advanced = True
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component: list[str] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                components.append(sorted(component, key=lambda n: order.get(n, len(order))))
    return components


def _successors(deps: Mapping[str, set[str]], node: str, order: dict[str, int]) -> Iterator[str]:
    return iter(sorted(deps.get(node, ()), key=lambda n: order.get(n, len(order))))


def find_cycles(deps: Mapping[str, set[str]]) -> list[list[str]]:
    """One cycle per cyclic component, as `[a, b, c]` meaning a → b → c → a.

    A self-dependency is the cycle `[a]`. Cycles start at their earliest-declared step and come
    in declaration order.
    """
    order = {node: i for i, node in enumerate(deps)}
    cycles: list[list[str]] = []
    for component in strongly_connected(deps):
        start = component[0]
        if len(component) == 1:
            if start in deps.get(start, ()):
                cycles.append([start])
            continue
        cycles.append(_shortest_cycle(deps, start, set(component), order))
    return sorted(cycles, key=lambda c: order.get(c[0], len(order)))


def _shortest_cycle(
    deps: Mapping[str, set[str]], start: str, members: set[str], order: dict[str, int]
) -> list[str]:
    """Breadth-first search from `start` back to itself inside one component."""
    parent: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following: list[str] = []
        for node in frontier:
            for nxt in sorted(deps.get(node, ()) & members, key=order.__getitem__):
                if nxt == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(parent[path[-1]])
                    return path[::-1]
                if nxt not in parent:
                    parent[nxt] = node
                    following.append(nxt)
        frontier = following
    return [start]  # unreachable for a real component; keeps the type honest


def format_cycle(cycle: list[str]) -> str:
    """`a → b → a`."""
    return " → ".join([*cycle, cycle[0]])


def topological_sort(deps: Mapping[str, set[str]]) -> list[str]:
    """Kahn's algorithm; ties keep the order of `deps`. Raises ValueError on a cycle."""
    order = {node: i for i, node in enumerate(deps)}
    waiting = {node: len(set(deps[node]) & order.keys()) for node in deps}
    dependents: dict[str, list[str]] = {node: [] for node in deps}
    for node, needs in deps.items():
        for need in needs:
            if need in dependents:
                dependents[need].append(node)
    ready = [order[node] for node, count in waiting.items() if count == 0]
    heapq.heapify(ready)
    nodes = list(deps)
    result: list[str] = []
    while ready:
        node = nodes[heapq.heappop(ready)]
        result.append(node)
        for dependent in dependents[node]:
            waiting[dependent] -= 1
            if waiting[dependent] == 0:
                heapq.heappush(ready, order[dependent])
    if len(result) != len(nodes):
        cycles = find_cycles(deps)
        shown = "; ".join(format_cycle(c) for c in cycles) or "unknown"
        raise ValueError(f"the steps form a dependency cycle: {shown}")
    return result


def topological_order(spec: WorkflowSpec) -> list[str]:
    """Step ids in an order that runs every step after its dependencies (stable, declaration
    order on ties). Raises ValueError when the steps form a cycle."""
    return topological_sort(step_dependencies(spec))


# -- value types: what a `{{ path }}` expression yields, from inputs and tools' output schemas ----

JSON_TYPES: dict[type, str] = {
    bool: "boolean", int: "integer", float: "number", str: "string", list: "array",
    dict: "object", type(None): "null",
}  # fmt: skip
TYPE_LABELS = {
    "string": "a string", "integer": "an integer", "number": "a number", "null": "null",
    "boolean": "a boolean", "array": "a list", "object": "an object",
}  # fmt: skip
_PLURALS = {
    "string": "strings", "integer": "integers", "number": "numbers", "null": "nulls",
    "boolean": "booleans", "array": "lists", "object": "objects",
}  # fmt: skip
_PATH_EXPR = re.compile(r"^[A-Za-z_]\w*(?:\.[A-Za-z_]\w*|\[\s*(?:\d+|'[^']*'|\"[^\"]*\")\s*\])*$")
MAX_SCHEMA_DEPTH = 32


@dataclass(frozen=True)
class TypedSchema:
    """A JSON schema together with the `$defs` its `$ref`s point into."""

    schema: dict[str, Any]
    defs: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, schema: dict[str, Any]) -> TypedSchema:
        return cls(schema, schema.get("$defs") or {})

    def resolved(self) -> dict[str, Any]:
        """The schema with `$ref`s into `$defs` followed (a bounded number of times)."""
        schema: Any = self.schema
        for _ in range(MAX_SCHEMA_DEPTH):
            ref = schema.get("$ref") if isinstance(schema, dict) else None
            if not (isinstance(ref, str) and ref.startswith("#/$defs/")):
                break
            schema = self.defs.get(ref.removeprefix("#/$defs/"), {})
        return schema if isinstance(schema, dict) else {}

    def child(self, schema: Any) -> TypedSchema | None:
        return TypedSchema(schema, self.defs) if isinstance(schema, dict) else None

    def branches(self) -> list[TypedSchema]:
        schema = self.resolved()
        options = schema.get("anyOf") or schema.get("oneOf") or []
        return [TypedSchema(b, self.defs) for b in options if isinstance(b, dict)]

    def types(self, depth: int = 0) -> set[str] | None:
        """The JSON types the schema admits, or None when any value may pass."""
        schema = self.resolved()
        if "type" in schema:
            declared = schema["type"]
            return set(declared) if isinstance(declared, list) else {declared}
        if isinstance(schema.get("enum"), list):
            return {JSON_TYPES.get(type(v), "string") for v in schema["enum"]}
        branches = self.branches()
        if not branches or depth > MAX_SCHEMA_DEPTH:
            return None
        found: set[str] = set()
        for branch in branches:
            kinds = branch.types(depth + 1)
            if kinds is None:
                return None
            found |= kinds
        return found

    def solid(self) -> TypedSchema:
        """The one non-null branch of an optional (`anyOf [X, null]`), else itself."""
        branches = [b for b in self.branches() if b.types() != {"null"}]
        return branches[0] if len(branches) == 1 and len(self.branches()) > 1 else self

    def member(self, key: str | int) -> TypedSchema | None:
        """The schema of `value[key]` (items for an index, properties for a name)."""
        solid = self.solid()
        schema = solid.resolved()
        if isinstance(key, int):
            return solid.child(schema.get("items"))
        properties = schema.get("properties") or {}
        if key in properties:
            return solid.child(properties[key])
        return solid.child(schema.get("additionalProperties"))

    def walk(self, path: Iterable[str | int]) -> TypedSchema | None:
        current: TypedSchema | None = self
        for key in path:
            if current is None:
                return None
            current = current.member(key)
        return current

    def label(self) -> str:
        """Plain words for messages: `a string`, `a list of strings`, `an integer or null`."""
        kinds = self.types()
        if not kinds:
            return "any value"
        if kinds == {"array"} and (items := self.member(0)) and (inner := items.types()):
            return "a list of " + " or ".join(_PLURALS.get(k, k) for k in sorted(inner))
        return " or ".join(TYPE_LABELS.get(k, k) for k in sorted(kinds))


def types_fit(value: set[str] | None, wanted: set[str] | None) -> bool:
    """Lenient JSON-type compatibility: unknown fits anything; integer and number both ways."""
    if value is None or wanted is None:
        return True
    widen = {"integer": {"integer", "number"}, "number": {"number", "integer"}}
    return any(widen.get(kind, {kind}) & wanted for kind in value)


def expression_schema(
    spec: WorkflowSpec, catalog: Catalog, value: str, step: StepSpec | None = None
) -> TypedSchema | None:
    """The schema of a value that is exactly `{{ inputs.x }}`, `{{ steps.x.output[.path] }}` or
    `{{ item[.path] }}` (inside `step`'s for_each), when it can be known; else None."""
    expr = single_expression(value)
    if expr is None or not _PATH_EXPR.match(expr):
        return None
    refs = references(value)
    if len(refs) != 1:
        return None
    root, path = refs[0].root, refs[0].path
    if root == "inputs" and len(path) == 1:
        declared = spec.inputs.get(str(path[0]))
        if declared is None or declared.type is InputType.ANY:
            return None
        return TypedSchema({"type": declared.type.value})
    if root == "steps" and len(path) >= 2 and (producer := spec.step(str(path[0]))):
        if path[1] == "status":
            return TypedSchema({"type": "string"}) if len(path) == 2 else None
        if path[1] != "output" or producer.tool not in catalog:
            return None
        output = catalog.info(producer.tool).output_schema
        typed = TypedSchema.of(output)
        if producer.for_each is not None:  # one result per item
            typed = TypedSchema({"type": "array", "items": output}, typed.defs)
        return typed.walk(path[2:])
    if root == "item" and step is not None and isinstance(step.for_each, str):
        source = expression_schema(spec, catalog, step.for_each)
        items = source.member(0) if source else None
        return items.walk(path) if items else None
    return None

"""Data flow between steps, chosen by the tools' input and output types.

A parameter that no literal fills takes the output of the closest earlier step whose output (or
one field of it) has the parameter's type; a list feeding a one-value parameter becomes a
`for_each` over the list. A parameter that says *where* data is (a file path, a URL) takes only
a value of the same kind (a `path` field, a `url` field), never content that merely is a string.
Steps whose output is a verdict (a `valid` flag, a `label`) gate later steps instead of feeding
them content. What nothing produces becomes a workflow input.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from agents.planner.params import param_types
from agents.planner.text import stem, words
from app.tools.base import ToolInfo
from app.workflow.analysis import TypedSchema, types_fit

_TEXT_FIELDS = ("text", "content", "body", "message", "summary", "result", "iso", "output")
# Names that *are* a location. Narrower than `params.KIND_WORDS` (words that make a parameter
# fit a file or URL literal) on purpose: `document`, `page` or `site` in a tool or field name
# usually mean content (`create_document`, `fetch_page`), which must not fill a path or URL.
LOCATION_KINDS = {
    "file": frozenset({"path", "file", "filename", "filepath", "directory", "dir", "folder"}),
    "url": frozenset({"url", "uri", "link", "endpoint", "href", "webhook"}),
}


def location_kind(text: str) -> str | None:
    """`file` or `url` when a parameter or field name says where data is, else None."""
    names = {w for word in words(text) for w in (word, stem(word))}
    return next((kind for kind, marks in LOCATION_KINDS.items() if names & marks), None)


@dataclass
class Draft:
    """A step being planned: the tool, the clause it came from and the params found so far."""

    id: str
    info: ToolInfo
    clause: int
    params: dict[str, Any] = field(default_factory=dict)
    when: str | None = None
    for_each: str | None = None
    depends_on: list[str] = field(default_factory=list)
    per_item: bool = False
    item_field: str | None = None
    source: bool = False  # inserted reader/fetcher feeding the clause's step
    group: int = 0

    def refs(self) -> bool:
        text = repr(self.params) + repr(self.when) + repr(self.for_each)
        return "steps." in text


def output_of(step: Draft) -> TypedSchema | None:
    """The step's output schema; `{}` (any value) counts only for runnable tools."""
    schema = step.info.output_schema
    if not schema and step.info.planning_only:
        return None
    typed = TypedSchema.of(schema)
    if step.for_each is not None:
        return TypedSchema({"type": "array", "items": schema}, typed.defs)
    return typed


def is_verdict(step: Draft) -> bool:
    """Outputs that judge (a boolean flag or a label) rather than carry content."""
    out = output_of(step)
    if out is None or out.types() != {"object"}:
        return False
    props = out.resolved().get("properties") or {}
    has_flag = any(TypedSchema.of(p).types() == {"boolean"} for p in props.values())
    return (has_flag or "label" in props) and not any(f in props for f in _TEXT_FIELDS[:4])


def _field_for(out: TypedSchema, name: str, wanted: set[str] | None) -> str | None:
    props = out.resolved().get("properties") or {}
    order = [name, *_TEXT_FIELDS, *props]
    if (kind := location_kind(name)) is not None:
        order = [key for key in props if location_kind(key) == kind]
    for key in order:
        child = out.child(props[key]) if key in props else None
        if child is None or not types_fit(child.types(), wanted):
            continue
        if wanted != {"string"} or child.types() == {"string"}:
            return key
    return None


def bind_from(
    step: Draft, name: str, schema: dict[str, Any], earlier: list[Draft], oldest: bool = False
) -> bool:
    """Fill `name` from the closest fitting earlier step (the oldest unused one when a step takes
    several inputs of one type, e.g. left/right); may turn `step` into a for_each."""
    wanted = param_types(schema)
    location = location_kind(name)
    taken = {v for v in map(repr, step.params.values())}
    for producer in earlier if oldest else reversed(earlier):
        if any(f"steps.{producer.id}." in t for t in taken):
            continue
        if is_verdict(producer) and not (
            wanted and wanted & {"object", "array"} and "string" not in wanted
        ):
            continue
        out = output_of(producer)
        if out is None:
            continue
        ref = f"steps.{producer.id}.output"
        kinds = out.types()
        if location is not None and kinds != {"object"} and _says_where(producer) != location:
            continue  # a list or value that is not itself paths or URLs cannot say where
        scalar_wanted = wanted is not None and "array" not in wanted
        if wanted and wanted & {"object"} and not step.per_item:
            scalar_wanted = False
        # "validate each one" of an output of unknown type (json_query's): iterate it
        listed = kinds == {"array"} or (kinds is None and step.per_item)
        if listed and scalar_wanted and step.for_each is None:
            items = out.member(0)
            item_types = items.types() if items else None
            step.for_each = "{{ " + ref + " }}"
            if item_types == {"object"} or (item_types is None and step.item_field):
                step.params[name] = "{{ item." + (step.item_field or name) + " }}"
            else:
                step.params[name] = "{{ item }}"
            return True
        if kinds == {"object"} and wanted is not None and "object" not in wanted:
            key = _field_for(out, name, wanted)
            if key is None:
                continue
            step.params[name] = "{{ " + f"{ref}.{key}" + " }}"
            return True
        if wanted == {"object"} and kinds is not None and "object" not in kinds:
            step.params[name] = {"value": "{{ " + ref + " }}"}
            return True
        if types_fit(kinds, wanted):
            step.params[name] = "{{ " + ref + " }}"
            return True
        if wanted == {"string"}:
            step.params[name] = "{{ " + ref + " | string }}"
            return True
    return False


def _says_where(step: Draft) -> str | None:
    """The location kind a step's whole output holds, from the tool's name and the output's
    title and description (`extract_urls` gives URLs; `detect_tech_stack` gives names)."""
    schema = step.info.output_schema or {}
    return location_kind(
        f"{step.info.name} {schema.get('title', '')} {schema.get('description', '')}"
    )

"""Example inputs and workspace fixtures, so a plan can be tried before anyone supplies data.

The rules planner declares inputs for what the request left open, often without an example. A dry
run (and the generated tests) need concrete values, so each input gets one from its name and type:
an input called `email` gets an address, `url` a URL, and so on. Files a workflow reads get small
fixtures whose columns are the fields the later steps name, which keeps generated tests
self-contained instead of depending on the user's workspace.
"""

from __future__ import annotations

import csv
import io
import json
import re
from typing import Any

from app.tools.registry import Catalog
from app.workflow import expressions
from app.workflow.spec import InputType, WorkflowSpec

SAMPLE_TEXT = (
    "Ada Lovelace (ada@example.com, +1 415 555 0100) reviewed https://example.com/report. "
    "The results were great and the team is happy. Grace will follow up next week."
)
_BY_NAME: tuple[tuple[str, Any], ...] = (
    (r"email|recipient|^to$", "ada@example.com"),
    (r"webhook", "https://hooks.example.com/flowwright"),
    (r"url|link|website|site|page", "https://example.com"),
    (r"domain|host", "example.com"),
    (r"phone|number|mobile", "+1 415 555 0100"),
    (r"csv", "data.csv"),
    (r"json", "data.json"),
    (r"path|file", "data.txt"),
    (r"region|country", "US"),
    (r"timezone|tz", "UTC"),
    (r"language|lang", "French"),
    (r"subject|title", "Flowwright report"),
    (r"query|sql", "SELECT 1 AS one"),
    (r"pattern|regex", r"\d+"),
    (r"label", ["positive", "negative"]),
    (r"name", "Ada Lovelace"),
)
_BY_TYPE: dict[InputType, Any] = {
    InputType.INTEGER: 3,
    InputType.NUMBER: 1.5,
    InputType.BOOLEAN: True,
    InputType.ARRAY: [],
    InputType.OBJECT: {},
}
_ROW_PARAMS = ("key", "by", "group_by", "field", "on", "fields")
_ROW_FIELD = re.compile(r"\brow\.([A-Za-z_]\w*)|\brow\[['\"]([^'\"]+)['\"]\]")
_ITEM_FIELD = re.compile(r"\bitem\.([A-Za-z_]\w*)|\bitem\[['\"]([^'\"]+)['\"]\]")
READ_PATH_TOOLS = {"read_csv": "csv", "read_json": "json", "read_file": "text"}


def example_for(name: str, kind: InputType, fields: list[str] | None = None) -> Any:
    """A plausible value for an input named `name` of type `kind`.

    An input naming a row field (`key`, `by`, `group_by`...) gets a field another step already
    names (`fields`), so the rows flowing through the workflow actually have it.
    """
    if name.lower() in _ROW_PARAMS or name.lower() in ("column", "sort_by", "columns"):
        field = (fields or ["name"])[0]
        return [field] if kind is InputType.ARRAY or name.lower().endswith("s") else field
    if kind in _BY_TYPE:
        if kind is InputType.ARRAY and re.search("label", name, re.I):
            return ["positive", "negative"]
        return _BY_TYPE[kind]
    for pattern, value in _BY_NAME:
        if re.search(pattern, name, re.I):
            if kind in (InputType.STRING,) and not isinstance(value, str):
                continue
            return value
    return SAMPLE_TEXT if kind in (InputType.STRING, InputType.ANY) else None


def with_examples(spec: WorkflowSpec) -> WorkflowSpec:
    """The spec with an `example` on every input that has neither an example nor a default."""
    inputs = {}
    fields = _row_fields(spec)
    for name, decl in spec.inputs.items():
        if decl.example is None and decl.default is None:
            decl = decl.model_copy(update={"example": example_for(name, decl.type, fields)})
        inputs[name] = decl
    return spec.model_copy(update={"inputs": inputs})


def example_inputs(spec: WorkflowSpec) -> dict[str, Any]:
    """Input values for a trial run: examples first, then defaults, then synthesized values."""
    values: dict[str, Any] = {}
    fields = _row_fields(spec)
    for name, decl in spec.inputs.items():
        if decl.example is not None:
            values[name] = decl.example
        elif decl.default is not None:
            values[name] = decl.default
        else:
            values[name] = example_for(name, decl.type, fields)
    return {k: v for k, v in values.items() if v is not None}


def _row_fields(spec: WorkflowSpec) -> list[str]:
    """Field names the steps mention (`key`, `by`, `row.country`...): the fixture's columns."""
    found: list[str] = []
    for step in spec.steps:
        for param, value in step.params.items():
            if param in _ROW_PARAMS:
                items = value if isinstance(value, list) else [value]
                found += [
                    v for v in items if isinstance(v, str) and not expressions.is_expression(v)
                ]
            elif param == "where" and isinstance(value, str):
                found += [a or b for a, b in _ROW_FIELD.findall(value)]
        if step.for_each is not None:  # `{{ item.ticket }}` over rows: rows have `ticket`
            for _, text in expressions.collect_strings(step.params):
                found += [a or b for a, b in _ITEM_FIELD.findall(text) if (a or b) != "value"]
    return list(dict.fromkeys(f for f in found if f and len(f) <= 64))


def _rows(fields: list[str]) -> list[dict[str, str]]:
    """Three sample records with the fields the workflow names (plus a few common ones)."""
    columns = list(dict.fromkeys([*fields, "id", "name", "email", "country", "amount"]))
    values = {
        "id": ("1", "2", "3"), "name": ("Ada", "Grace", "Ada"),
        "email": ("ada@example.com", "grace@example.com", "ada@example.com"),
        "country": ("DE", "US", "DE"), "amount": ("10", "25.5", "7"),
    }  # fmt: skip
    return [
        {c: values.get(c, (f"{c}-a", f"{c}-b", f"{c}-a"))[i] for c in columns} for i in range(3)
    ]


def _csv(fields: list[str]) -> str:
    rows = _rows(fields)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def read_paths(spec: WorkflowSpec, catalog: Catalog) -> dict[str, str]:
    """Step id → the workspace path it reads, for reads whose path is known before running."""
    context = {"inputs": example_inputs(spec), "steps": {}}
    paths: dict[str, str] = {}
    for step in spec.steps:
        if step.tool not in READ_PATH_TOOLS or step.tool not in catalog or step.for_each:
            continue
        try:
            path = expressions.evaluate(step.params.get("path"), context)
        except expressions.ExpressionError:
            continue  # the path comes from another step: nothing to prepare
        if isinstance(path, str) and path.strip() and not path.startswith(("/", "..")):
            paths[step.id] = path
    return paths


def fixtures(spec: WorkflowSpec, catalog: Catalog) -> dict[str, str]:
    """Workspace-relative path → content for every file the workflow reads at a known path."""
    fields = _row_fields(spec)
    files: dict[str, str] = {}
    for step_id, path in read_paths(spec, catalog).items():
        kind = READ_PATH_TOOLS[spec.step(step_id).tool]  # type: ignore[union-attr]
        if kind == "csv":
            files[path] = _csv(fields)
        elif kind == "json":  # a list of records: what row tools and JMESPath both accept
            files[path] = json.dumps(_rows(fields), indent=2) + "\n"
        else:
            files[path] = SAMPLE_TEXT + "\n"
    return files

"""Row tools: filter, sort, dedupe, select, aggregate and join lists of dicts, plus JMESPath.

Rows often come from CSV files, where every value is a string: sorting, aggregating and joining
treat numeric strings as numbers so "10" sorts after "9" and "3" joins with 3.
"""

from __future__ import annotations

import difflib
import json
import math
from collections.abc import Callable
from typing import Annotated, Any, Literal

from pydantic import Field

from app.errors import SecurityError, ToolInputError
from app.tools.base import SideEffect, flow_tool

Rows = Annotated[list[dict[str, Any]], Field(description="The rows: a list of dicts.")]
FieldNames = str | list[str]
MAX_QUERY_CHARS = 10_000
_MISSING = object()


def _require_known_fields(rows: list[dict[str, Any]], names: list[str], what: str) -> None:
    """A field that no row has is a typo, not data: say so instead of silently doing nothing."""
    if not rows:
        return
    seen = {key for row in rows for key in row}
    for name in names:
        if name not in seen:
            close = difflib.get_close_matches(name, sorted(seen), n=1) or sorted(
                k for k in seen if name.lower() in k.lower()
            )
            hint = f"Did you mean {close[0]!r}?" if close else f"Fields: {', '.join(sorted(seen))}."
            raise ToolInputError(f"no row has a field {name!r} ({what})", hint=hint)


def _names(value: FieldNames, what: str) -> list[str]:
    names = [value] if isinstance(value, str) else list(value)
    if not names or not all(isinstance(n, str) and n for n in names):
        raise ToolInputError(f"`{what}` needs a field name or a list of field names")
    return names


def _number(value: Any) -> int | float | None:
    """A number for ints, floats and numeric strings; None for anything else."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float):
        return value if not (isinstance(value, float) and math.isnan(value)) else None
    if isinstance(value, str):
        text = value.strip()
        try:
            return int(text)
        except ValueError:
            pass
        try:
            number = float(text)
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return None


def _canonical(value: Any) -> Any:
    """A hashable identity for a value: numbers and numeric strings compare by value."""
    number = _number(value)
    if number is not None and not isinstance(value, bool):
        return ("n", float(number))
    if isinstance(value, str):
        return ("s", value)
    return ("j", json.dumps(value, sort_keys=True, default=str))


class _Row(dict):  # type: ignore[type-arg]
    """A row whose missing fields read as None, so `row.x == 'a'` is false instead of an error."""

    def __missing__(self, key: str) -> None:
        return None


def _compile_where(where: str) -> Callable[..., Any]:
    from jinja2 import TemplateSyntaxError

    from app.workflow import expressions

    source = expressions.single_expression(where) or where.strip()
    if not source:
        raise ToolInputError("`where` is empty", hint="Write e.g. `row.country == 'DE'`.")
    if any(mark in source for mark in ("{{", "}}", "{%", "%}", "{#", "#}")):
        raise SecurityError(
            "`where` must be one expression, without template tags",
            hint="Write e.g. `row.country == 'DE'`.",
        )
    for issue in expressions.check("{{ " + source + " }}"):
        error = SecurityError if issue.code == "EXPR_UNSAFE" else ToolInputError
        raise error(f"`where` {source!r}: {issue.message}", hint=issue.hint)
    unknown = {ref.root for ref in expressions.references("{{ " + source + " }}")} - {"row"}
    if unknown:
        raise ToolInputError(
            f"`where` uses unknown name(s) {', '.join(sorted(unknown))}",
            hint="Refer to fields through `row`, e.g. `row.country == 'DE'`.",
        )
    try:
        return expressions.environment().compile_expression(source, undefined_to_none=False)
    except TemplateSyntaxError as exc:
        raise ToolInputError(f"`where` {source!r}: {exc.message}") from None


@flow_tool(
    category="data",
    side_effect=SideEffect.PURE,
    example={"rows": [{"country": "DE"}, {"country": "FR"}], "where": "row.country == 'DE'"},
)
def filter_rows(
    rows: Rows,
    where: Annotated[
        str,
        Field(description="Condition over `row`, e.g. `row.country == 'DE' and row.age|int > 30`."),
    ],
) -> list[dict[str, Any]]:
    """Keep only the rows that match a condition written as an expression over `row`.

    A field a row does not have reads as none, so such rows simply do not match.
    """
    from jinja2 import UndefinedError
    from jinja2.exceptions import SecurityError as JinjaSecurityError

    test = _compile_where(where)
    kept = []
    for index, row in enumerate(rows):
        try:
            if test(row=_Row(row)):
                kept.append(row)
        except UndefinedError:
            continue  # a nested field that is absent: the row does not match
        except JinjaSecurityError as exc:
            raise SecurityError(f"`where` refused: {exc}") from None
        except (TypeError, ValueError, ArithmeticError, LookupError) as exc:
            raise ToolInputError(
                f"`where` failed on row {index}: {exc}",
                hint="CSV values are strings: convert with `row.age | int > 30`.",
            ) from None
    return kept


@flow_tool(
    category="data",
    side_effect=SideEffect.PURE,
    example={"rows": [{"name": "b", "age": "9"}, {"name": "a", "age": "10"}], "by": "age"},
)
def sort_rows(
    rows: Rows,
    by: Annotated[FieldNames, Field(description="Field name, or list of names, to sort by.")],
    descending: Annotated[bool, Field(description="Largest first.")] = False,
) -> list[dict[str, Any]]:
    """Sort rows by one or more fields; numbers sort numerically and missing values go last."""

    def key(value: Any) -> tuple[int, Any]:
        number = _number(value)
        if number is not None:
            return (0, number)
        if isinstance(value, str):
            return (1, value)
        return (2, json.dumps(value, sort_keys=True, default=str))

    ordered = list(rows)
    names = _names(by, "by")
    _require_known_fields(ordered, names, "by")
    for name in reversed(names):  # stable passes, least significant key first
        present = [r for r in ordered if r.get(name) is not None]
        missing = [r for r in ordered if r.get(name) is None]
        present.sort(key=lambda r, n=name: key(r[n]), reverse=descending)
        ordered = present + missing
    return ordered


@flow_tool(
    category="data",
    side_effect=SideEffect.PURE,
    example={"rows": [{"email": "a@x.io"}, {"email": "a@x.io"}], "key": "email"},
)
def dedupe_rows(
    rows: Rows,
    key: Annotated[
        FieldNames, Field(description="Field name, or list of names, that identify a row.")
    ],
) -> list[dict[str, Any]]:
    """Remove duplicate rows that share the same key field(s), keeping the first one."""
    names = _names(key, "key")
    seen: set[tuple[Any, ...]] = set()
    kept = []
    for row in rows:
        identity = tuple(_canonical(row.get(name)) for name in names)
        if identity not in seen:
            seen.add(identity)
            kept.append(row)
    return kept


@flow_tool(
    category="data",
    side_effect=SideEffect.PURE,
    example={"rows": [{"name": "Ada", "email": "ada@example.com", "age": 36}], "fields": ["name"]},
)
def select_fields(
    rows: Rows,
    fields: Annotated[FieldNames, Field(description="The field names to keep, in output order.")],
) -> list[dict[str, Any]]:
    """Keep only the chosen fields (columns) of each row; a missing field becomes null."""
    names = _names(fields, "fields")
    return [{name: row.get(name) for name in names} for row in rows]


def _aggregate(op: str, values: list[Any], field: str) -> Any:
    if op == "count":
        return len(values)
    numbers = [_number(v) for v in values]
    textual = values and all(isinstance(v, str) for v in values)
    if op in ("min", "max") and textual and any(n is None for n in numbers):
        return min(values) if op == "min" else max(values)  # e.g. ISO dates compare as text
    bad = next((v for v, n in zip(values, numbers, strict=True) if n is None), _MISSING)
    if bad is not _MISSING:
        raise ToolInputError(
            f"{op} needs numbers, but field {field!r} has the value {bad!r}",
            hint="Filter those rows out first, or use op=count.",
        )
    present = [n for n in numbers if n is not None]
    if op == "sum":
        return sum(present)
    if not present:
        return None
    if op == "avg":
        return sum(present) / len(present)
    return min(present) if op == "min" else max(present)


@flow_tool(
    category="data",
    side_effect=SideEffect.PURE,
    example={
        "rows": [{"country": "DE", "amount": "10"}, {"country": "DE", "amount": "5"}],
        "group_by": "country",
        "op": "sum",
        "field": "amount",
    },
)
def aggregate_rows(
    rows: Rows,
    group_by: Annotated[
        FieldNames | None, Field(description="Field(s) to group by; null for one overall group.")
    ],
    op: Annotated[
        Literal["count", "sum", "avg", "min", "max"], Field(description="The aggregate to compute.")
    ],
    field: Annotated[
        str | None, Field(description="Field to aggregate; required except for count.")
    ] = None,
) -> list[dict[str, Any]]:
    """Group rows and count them or compute the sum/average/min/max of a field per group.

    Each result row holds the group field(s) and `count`, or `<op>_<field>` (e.g. `sum_amount`).
    Empty values are skipped; numeric strings count as numbers.
    """
    if op != "count" and not field:
        raise ToolInputError(f"op {op!r} needs a `field`", hint="Name the numeric field.")
    names = _names(group_by, "group_by") if group_by else []
    groups: dict[tuple[Any, ...], tuple[dict[str, Any], list[Any]]] = {}
    for row in rows:
        identity = tuple(_canonical(row.get(name)) for name in names)
        if identity not in groups:
            groups[identity] = ({name: row.get(name) for name in names}, [])
        if field is None:
            groups[identity][1].append(row)
        elif row.get(field) not in (None, ""):
            groups[identity][1].append(row[field])
    out_name = "count" if op == "count" else f"{op}_{field}"
    if not groups and not names:
        groups[()] = ({}, [])
    return [
        {**labels, out_name: _aggregate(op, values, field or "")}
        for labels, values in groups.values()
    ]


@flow_tool(
    category="data",
    side_effect=SideEffect.PURE,
    example={
        "left": [{"id": 1, "name": "Ada"}],
        "right": [{"id": "1", "plan": "pro"}],
        "on": "id",
    },
)
def join_rows(
    left: Annotated[list[dict[str, Any]], Field(description="The left rows.")],
    right: Annotated[list[dict[str, Any]], Field(description="The right rows.")],
    on: Annotated[str, Field(description="The field both sides share, e.g. `id`.")],
) -> list[dict[str, Any]]:
    """Combine two lists of rows that share a field value (inner join on one field).

    A non-key field on both sides keeps the left value; the right one is added as `<name>_right`.
    """
    index: dict[Any, list[dict[str, Any]]] = {}
    for row in right:
        if row.get(on) is not None:
            index.setdefault(_canonical(row[on]), []).append(row)
    joined = []
    for row in left:
        if row.get(on) is None:
            continue
        for match in index.get(_canonical(row[on]), []):
            merged = dict(row)
            for name, value in match.items():
                if name == on:
                    continue
                merged[f"{name}_right" if name in row else name] = value
            joined.append(merged)
    return joined


@flow_tool(
    category="data",
    side_effect=SideEffect.PURE,
    example={"data": {"people": [{"name": "Ada", "age": 36}]}, "expression": "people[*].name"},
)
def json_query(
    data: Annotated[Any, Field(description="JSON data (dict or list) to query.")],
    expression: Annotated[
        str, Field(description="JMESPath expression, e.g. `items[?price > `10`].name`.")
    ],
) -> Any:
    """Pick or reshape values from JSON data with a JMESPath query expression."""
    import jmespath
    from jmespath.exceptions import JMESPathError

    if len(expression) > MAX_QUERY_CHARS:
        raise ToolInputError(f"expression longer than {MAX_QUERY_CHARS} characters")
    try:
        compiled = jmespath.compile(expression)
    except JMESPathError as exc:
        raise ToolInputError(
            f"invalid JMESPath expression {expression!r}: {exc}",
            hint="See https://jmespath.org; e.g. `people[?age > `30`].name`.",
        ) from None
    try:
        return compiled.search(data)
    except JMESPathError as exc:
        raise ToolInputError(f"JMESPath expression {expression!r} failed: {exc}") from None


TOOLS = [filter_rows, sort_rows, dedupe_rows, select_fields, aggregate_rows, join_rows, json_query]

"""Row tools through `tool.invoke`: filtering in the sandbox, sorting, grouping, joining, JMESPath."""

from __future__ import annotations

import pytest

from app.errors import SecurityError, ToolInputError
from app.tools.base import SideEffect, tool_info
from app.tools.rows import (
    TOOLS,
    aggregate_rows,
    dedupe_rows,
    filter_rows,
    join_rows,
    json_query,
    select_fields,
    sort_rows,
)

PEOPLE = [
    {"name": "Ada", "country": "DE", "age": "36", "amount": "10.5"},
    {"name": "Bob", "country": "FR", "age": "9", "amount": "4"},
    {"name": "Cy", "country": "DE", "age": "41", "amount": 5},
    {"name": "Di", "age": "30"},
]


def test_all_row_tools_are_pure_data_tools_whose_examples_run() -> None:
    for tool in TOOLS:
        info = tool_info(tool)
        assert info.side_effect is SideEffect.PURE and info.category == "data"
        tool.invoke(info.example)


def test_filter_rows_by_expression() -> None:
    out = filter_rows.invoke({"rows": PEOPLE, "where": "row.country == 'DE'"})
    assert [r["name"] for r in out] == ["Ada", "Cy"]
    out = filter_rows.invoke({"rows": PEOPLE, "where": "row.age | int > 30 and row.country"})
    assert [r["name"] for r in out] == ["Ada", "Cy"]


def test_filter_rows_accepts_braces_and_missing_fields_do_not_match() -> None:
    out = filter_rows.invoke({"rows": PEOPLE, "where": "{{ row.country != 'FR' }}"})
    assert [r["name"] for r in out] == ["Ada", "Cy", "Di"]  # Di has no country: None != 'FR'
    out = filter_rows.invoke({"rows": [{"a": {"b": 1}}, {"a": {}}], "where": "row.a.b == 1"})
    assert out == [{"a": {"b": 1}}]


@pytest.mark.parametrize(
    "where",
    [
        "row.__class__",
        "row.name.__class__.__mro__",
        "row['__class__']",
        "row.name | attr('x')",
        "row.update({'a': 1})",
        "1 }}{% for x in range(10) %}{{ x",
    ],
)
def test_filter_rows_refuses_unsafe_expressions(where: str) -> None:
    with pytest.raises(SecurityError):
        filter_rows.invoke({"rows": PEOPLE, "where": where})


def test_filter_rows_errors_are_clear() -> None:
    with pytest.raises(ToolInputError, match="unknown name"):
        filter_rows.invoke({"rows": PEOPLE, "where": "country == 'DE'"})
    with pytest.raises(ToolInputError, match="cannot parse"):
        filter_rows.invoke({"rows": PEOPLE, "where": "row.country =="})
    with pytest.raises(ToolInputError, match="row 0") as info:
        filter_rows.invoke({"rows": PEOPLE, "where": "row.age > 30"})
    assert "| int" in (info.value.hint or "")


def test_sort_rows_numeric_strings_missing_last_and_mixed_types() -> None:
    out = sort_rows.invoke({"rows": PEOPLE, "by": "age"})
    assert [r["name"] for r in out] == ["Bob", "Di", "Ada", "Cy"]  # 9 < 30 < 36 < 41
    out = sort_rows.invoke({"rows": PEOPLE, "by": "country", "descending": True})
    assert [r["name"] for r in out] == ["Bob", "Ada", "Cy", "Di"]  # stable, missing last
    mixed = [{"v": "b"}, {"v": 2}, {}, {"v": None}, {"v": [1]}, {"v": "a"}, {"v": 1.5}]
    assert [r.get("v") for r in sort_rows.invoke({"rows": mixed, "by": "v"})] == [
        1.5, 2, "a", "b", [1], None, None,
    ]  # fmt: skip


def test_sort_rows_by_several_keys() -> None:
    out = sort_rows.invoke({"rows": PEOPLE, "by": ["country", "age"], "descending": True})
    assert [r["name"] for r in out] == ["Bob", "Cy", "Ada", "Di"]


def test_dedupe_rows_by_one_or_several_keys() -> None:
    rows = [{"e": "a", "n": 1}, {"e": "a", "n": 2}, {"e": "b", "n": 1}, {"e": "a", "n": "1"}]
    assert dedupe_rows.invoke({"rows": rows, "key": "e"}) == rows[:1] + rows[2:3]
    assert dedupe_rows.invoke({"rows": rows, "key": ["e", "n"]}) == rows[:3]  # "1" == 1


def test_select_fields() -> None:
    out = select_fields.invoke({"rows": PEOPLE[:2], "fields": ["name", "zip"]})
    assert out == [{"name": "Ada", "zip": None}, {"name": "Bob", "zip": None}]


def test_aggregate_rows_ops() -> None:
    def agg(**params: object) -> list[dict[str, object]]:
        return aggregate_rows.invoke({"rows": PEOPLE, **params})

    assert agg(group_by="country", op="count") == [
        {"country": "DE", "count": 2}, {"country": "FR", "count": 1}, {"country": None, "count": 1},
    ]  # fmt: skip
    assert agg(group_by="country", op="sum", field="amount")[0] == {
        "country": "DE",
        "sum_amount": 15.5,
    }
    assert agg(group_by=None, op="avg", field="age") == [{"avg_age": 29.0}]
    assert agg(group_by=None, op="max", field="age") == [{"max_age": 41}]
    assert agg(group_by=None, op="min", field="name") == [{"min_name": "Ada"}]  # text compare
    assert aggregate_rows.invoke({"rows": [], "group_by": None, "op": "count"}) == [{"count": 0}]


def test_aggregate_rows_errors() -> None:
    with pytest.raises(ToolInputError, match="needs a `field`"):
        aggregate_rows.invoke({"rows": PEOPLE, "group_by": "country", "op": "sum"})
    with pytest.raises(ToolInputError, match="'Ada'"):
        aggregate_rows.invoke({"rows": PEOPLE, "group_by": None, "op": "sum", "field": "name"})
    with pytest.raises(ValueError):  # op outside the Literal: schema validation
        aggregate_rows.invoke({"rows": PEOPLE, "group_by": None, "op": "median", "field": "age"})


def test_join_rows_inner_join_with_suffix_for_clashes() -> None:
    left = [{"id": 1, "name": "Ada"}, {"id": 2, "name": "Bob"}, {"name": "no id"}]
    right = [{"id": "1", "name": "ADA", "plan": "pro"}, {"id": 3, "plan": "free"}]
    assert join_rows.invoke({"left": left, "right": right, "on": "id"}) == [
        {"id": 1, "name": "Ada", "name_right": "ADA", "plan": "pro"}
    ]


def test_json_query() -> None:
    data = {"items": [{"n": "a", "price": 5}, {"n": "b", "price": 20}]}
    assert json_query.invoke({"data": data, "expression": "items[?price > `10`].n"}) == ["b"]
    assert json_query.invoke({"data": data, "expression": "length(items)"}) == 2
    with pytest.raises(ToolInputError, match="invalid JMESPath"):
        json_query.invoke({"data": data, "expression": "items[?"})
    with pytest.raises(ToolInputError, match="failed"):
        json_query.invoke({"data": data, "expression": "length(`1`)"})


def test_sort_by_a_field_no_row_has_is_an_error_with_a_suggestion() -> None:
    rows = [{"region": "EU", "sum_amount": 3}, {"region": "US", "sum_amount": 5}]
    with pytest.raises(ToolInputError, match="no row has a field 'sum'") as err:
        sort_rows.invoke({"rows": rows, "by": "sum"})
    assert err.value.hint == "Did you mean 'sum_amount'?"

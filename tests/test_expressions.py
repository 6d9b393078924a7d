"""Sandboxed expressions: native vs text rendering, reference extraction, and a hostile suite."""

from __future__ import annotations

import contextlib
import time
from typing import Any, ClassVar

import pytest

from app.workflow.expressions import (
    ExpressionError,
    Reference,
    check,
    collect_strings,
    evaluate,
    references,
    single_expression,
)


class Recorder:
    """An object whose every method records that it ran: nothing in the sandbox may call it."""

    calls: ClassVar[list[str]] = []

    def boom(self, *args: Any) -> str:
        Recorder.calls.append("boom")
        return "ran"

    def __init__(self) -> None:
        self.name = "rec"

    def __call__(self, *args: Any) -> str:
        Recorder.calls.append("__call__")
        return "ran"

    def __str__(self) -> str:
        return "recorder"


def context() -> dict[str, Any]:
    return {
        "inputs": {
            "email": "ada@example.com",
            "n": 5,
            "flag": True,
            "tags": ["a", "b"],
            "obj": Recorder(),
            "data": {"k": [1, 2]},
        },
        "steps": {"fetch": {"output": {"items": [{"name": "x"}, {"name": "y"}]}, "status": "ok"}},
        "item": {"id": 7},
    }


# -- rendering ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ inputs.tags }}", ["a", "b"]),
        ("{{ inputs.flag }}", True),
        ("{{ inputs.n }}", 5),
        ("  {{ inputs.data }}  ", {"k": [1, 2]}),
        ("{{ inputs.n + 1 }}", 6),
        ("{{ steps.fetch.output['items'][1].name }}", "y"),
        ("{{ steps.fetch.output['items'] | map(attribute='name') | list }}", ["x", "y"]),
        ("{{ item.id > 5 }}", True),
        ("{{ inputs.missing | default(none) }}", None),
        ("n={{ inputs.n }}", "n=5"),
        ("{{ inputs.n }}{{ inputs.n }}", "55"),
        ("{{ inputs.flag }} and more", "True and more"),
        ("plain text", "plain text"),
    ],
)
def test_native_types_vs_mixed_text(template: str, expected: Any) -> None:
    assert evaluate(template, context()) == expected
    assert type(evaluate(template, context())) is type(expected)


def test_evaluate_recurses_into_containers_and_leaves_non_strings() -> None:
    value = {"a": ["{{ inputs.n }}", 3, None], "b": {"c": "x{{ inputs.n }}"}, "d": False}
    assert evaluate(value, context()) == {"a": [5, 3, None], "b": {"c": "x5"}, "d": False}


def test_undefined_reference_is_an_expression_error() -> None:
    with pytest.raises(ExpressionError) as err:
        evaluate("{{ steps.nope.output }}", context())
    assert err.value.code == "EXPR_UNDEFINED"


def test_single_expression() -> None:
    assert single_expression("{{ steps.a.output }}") == "steps.a.output"
    assert single_expression("  {{ item }} ") == "item"
    assert single_expression("x {{ item }}") is None
    assert single_expression("{{ a }}{{ b }}") is None


# -- static analysis ------------------------------------------------------------------------------


def test_references_extraction() -> None:
    refs = references("{{ steps.fetch.output.items[0]['name'] ~ inputs.email }}")
    assert refs == [
        Reference("steps", ("fetch", "output", "items", 0, "name")),
        Reference("inputs", ("email",)),
    ]
    assert str(refs[0]) == "steps.fetch.output.items.0.name"


def test_references_computed_keys_names_and_globals() -> None:
    refs = references("{{ steps.a.output[inputs.key] }} {{ item }} {{ range(3) | list }}")
    assert Reference("steps", ("a", "output")) in refs
    assert Reference("inputs", ("key",)) in refs
    assert Reference("item") in refs
    assert all(r.root != "range" for r in refs)
    assert references("{{ steps.a.output | }}") == []


def test_collect_strings_paths() -> None:
    value = {"a": "{{ x }}", "b": ["plain", {"c": "y {{ z }}"}], "d": 1}
    assert collect_strings(value) == [(("a",), "{{ x }}"), (("b", 1, "c"), "y {{ z }}")]


def test_check_accepts_ordinary_expressions() -> None:
    for ok in ("{{ steps.a.output.valid }}", "{{ inputs.x | lower | trim }}",
               "{{ inputs.x.split(',') }}", "{{ (inputs.n * 2) ** 2 }}",
               "{{ inputs.d.get('k', 0) }}", "Hi {{ inputs.name | title }}!"):  # fmt: skip
        assert check(ok) == [], ok


def test_check_reports_syntax_errors() -> None:
    assert [i.code for i in check("{{ steps.a.output | }}")] == ["EXPR_SYNTAX"]
    assert [i.code for i in check("{{ unclosed")] == ["EXPR_SYNTAX"]


# -- hostile suite --------------------------------------------------------------------------------

HOSTILE = [
    "{{ ''.__class__.__mro__ }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ cycler.__init__.__globals__.os }}",
    "{{ self._TemplateReference__context }}",
    "{{ lipsum.__globals__ }}",
    "{{ request|attr('application') }}",
    "{{ inputs.email|attr('__class__') }}",
    "{{ range(10**9)|list }}",
    "{{ range(10**9)|length }}",
    "{{ 'a' * 10**9 }}",
    "{{ [0] * 10**9 }}",
    "{{ inputs.email * 10**6 }}",
    "{{ 2 ** 100000 }}",
    "{{ '%0999999999d' % 1 }}",
    "{{ '%s' % inputs.obj }}",
    "{{ '{:>999999999}'.format(1) }}",
    "{{ inputs.email.format(inputs.obj) }}",
    "{{ inputs.email.ljust(999999999) }}",
    "{% for x in range(3) %}{{ x }}{% endfor %}",
    "{% for %}",
    "{% set x = 1 %}{{ x }}",
    "{% macro m() %}{% endmacro %}",
    "{% include 'x' %}",
    "{% import 'os' as os %}",
    "{% extends 'base' %}",
    "{{ inputs.email['__class__'] }}",
    "{{ inputs['__class__'] }}",
    "{{ inputs.obj.__class__ }}",
    "{{ inputs.obj.boom() }}",
    "{{ inputs.obj() }}",
    "{{ inputs.obj.__init__() }}",
    "{{ inputs.tags.append(1) }}",
    "{{ inputs.data.update(k=1) }}",
    "{{ dict(a=1).pop('a') }}",
    "{{ inputs.email|format('x') }}",
    "{{ inputs.tags|selectattr('__class__')|list }}",
    "{{ inputs.tags|sort(attribute='__class__') }}",
    "{{ namespace() }}",
    "{{ joiner() }}",
    "{{ x" + " + x" * 5000 + " }}",
]


def _refused(template: str) -> bool:
    """True when the static check flags it, or evaluating it raises EXPR_UNSAFE."""
    if check(template):
        return True
    try:
        evaluate(template, context())
    except ExpressionError as exc:
        return exc.code == "EXPR_UNSAFE"
    return False


@pytest.mark.timeout(20)
@pytest.mark.parametrize("template", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_expressions_are_refused_fast(template: str) -> None:
    started = time.perf_counter()
    assert _refused(template)
    assert time.perf_counter() - started < 2


def test_evaluate_refuses_every_hostile_expression_with_expression_error() -> None:
    for template in HOSTILE:
        with pytest.raises(ExpressionError):
            evaluate(template, context())


def test_nothing_executes_on_hostile_input() -> None:
    Recorder.calls.clear()
    for template in HOSTILE:
        with contextlib.suppress(ExpressionError):
            evaluate(template, context())
    assert Recorder.calls == []
    # the recorder really records when called outside the sandbox
    Recorder().boom()
    assert Recorder.calls == ["boom"]
    Recorder.calls.clear()


# -- holes found in expressions.py (not owned here: reported for its owner to patch) -------------


def test_closed_hole_power_chain_builds_huge_integers() -> None:
    assert _refused("{{ (10 ** 1000) ** 1000 }}")


def test_closed_hole_join_amplification() -> None:
    assert _refused("{{ (['a' * 999999] * 100) | join | length }}")


def test_closed_hole_replace_amplification() -> None:
    assert _refused("{{ 'ab' | replace('a', 'a' * 999999) | replace('a', 'a' * 100) | length }}")


def test_closed_hole_private_attribute_via_map_is_not_refused() -> None:
    assert _refused("{{ range(3) | map(attribute='__class__') | list }}")


def test_closed_hole_filter_named_by_string_escapes_as_raw_jinja_error() -> None:
    with pytest.raises(ExpressionError):
        evaluate("{{ inputs.tags | map('attr', '__class__') | list }}", context())

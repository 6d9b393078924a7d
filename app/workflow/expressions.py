"""Sandboxed `{{ ... }}` expressions over `inputs`, `steps` and `item` (DESIGN §2).

Safety has two layers. Statically, an expression is parsed and refused before it ever runs when it
uses statements (`{% ... %}`), underscore attributes, method calls or filters outside an allowlist,
or constant ranges past the sandbox's limit. At run time, Jinja2's immutable sandbox checks every
attribute access and call again, and the size-multiplying operators are capped.
"""

from __future__ import annotations

import operator
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from jinja2 import (
    StrictUndefined,
    TemplateSyntaxError,
    Undefined,
    UndefinedError,
    nodes,
    pass_eval_context,
)
from jinja2.exceptions import SecurityError as JinjaSecurityError
from jinja2.exceptions import TemplateRuntimeError
from jinja2.filters import do_join
from jinja2.sandbox import MAX_RANGE, ImmutableSandboxedEnvironment

from app.errors import FlowwrightError

ROOT_NAMES = frozenset({"inputs", "steps", "item"})
MAX_EXPRESSION_CHARS = 10_000
MAX_RESULT_CHARS = 1_000_000
MAX_INT_BITS = 4096

SAFE_METHODS = frozenset(
    {
        "get", "keys", "values", "items",
        "lower", "upper", "title", "capitalize", "strip", "lstrip", "rstrip",
        "split", "rsplit", "splitlines", "startswith", "endswith", "count", "index", "find",
        "isdigit", "isalpha", "isalnum", "isspace",
    }
)  # fmt: skip
SAFE_FILTERS = frozenset(
    {
        "abs", "batch", "capitalize", "count", "default", "d", "dictsort", "first", "float",
        "groupby", "int", "items", "join", "last", "length", "list", "lower", "map", "max",
        "min", "reject", "rejectattr", "replace", "reverse", "round", "select", "selectattr",
        "slice", "sort", "string", "sum", "title", "tojson", "trim", "unique", "upper",
        "urlencode", "wordcount", "bool",
    }
)  # fmt: skip
SAFE_GLOBALS = frozenset({"range", "dict"})

_SINGLE = re.compile(r"^\s*\{\{(?P<expr>(?:(?!\{\{|\}\}).)*)\}\}\s*$", re.DOTALL)


class ExpressionError(FlowwrightError):
    """An expression that does not parse, is refused as unsafe, or fails when evaluated."""

    code = "EXPR_ERROR"


@dataclass(frozen=True)
class Reference:
    """A variable path an expression reads, e.g. root `steps`, path `("fetch", "output")`."""

    root: str
    path: tuple[str | int, ...] = ()

    def __str__(self) -> str:
        return ".".join([self.root, *map(str, self.path)])


@dataclass(frozen=True)
class Issue:
    """A static problem with an expression: `code` is EXPR_SYNTAX or EXPR_UNSAFE."""

    code: str
    message: str
    hint: str | None = None


class _Sandbox(ImmutableSandboxedEnvironment):
    """Immutable sandbox that also caps size-multiplying operators and refuses unlisted calls."""

    intercepted_binops = frozenset({"*", "**", "%"})

    def call_binop(self, context: Any, operator_name: str, left: Any, right: Any) -> Any:
        if operator_name == "**":
            if isinstance(left, int) and isinstance(right, int) and right > 0:
                if max(left.bit_length(), 1) * right > MAX_INT_BITS:
                    raise JinjaSecurityError("power result too large")
            elif isinstance(right, int | float) and abs(right) > 1000:
                raise JinjaSecurityError("exponent too large")
            return operator.pow(left, right)
        if operator_name == "*":
            for seq, n in ((left, right), (right, left)):
                repeated = isinstance(seq, str | list | tuple) and isinstance(n, int)
                if repeated and _size(seq) * n > MAX_RESULT_CHARS:
                    raise JinjaSecurityError("repetition result too large")
            both_ints = isinstance(left, int) and isinstance(right, int)
            if both_ints and left.bit_length() + right.bit_length() > MAX_INT_BITS:
                raise JinjaSecurityError("product too large")
            return operator.mul(left, right)
        if isinstance(left, str):
            raise JinjaSecurityError("%-formatting of strings is not allowed")
        return operator.mod(left, right)

    def call(self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        name = getattr(__obj, "__name__", "")
        if getattr(__obj, "__self__", None) is not None and name not in SAFE_METHODS:
            raise JinjaSecurityError(f"calling {name!r} is not allowed")
        return super().call(__context, __obj, *args, **kwargs)


def _size(value: Any) -> int:
    """Rough size in characters of a value built by an expression (strings dominate)."""
    if isinstance(value, str):
        return len(value)
    if isinstance(value, list | tuple):
        return sum(_size(v) for v in value) + len(value)
    if isinstance(value, dict):
        return sum(_size(k) + _size(v) for k, v in value.items()) + len(value)
    return 1


def _guard_size(value: Any) -> Any:
    if callable(value) or isinstance(value, Undefined):
        raise JinjaSecurityError("an expression must produce data, not a function")
    if _size(value) > MAX_RESULT_CHARS:
        raise JinjaSecurityError("expression result too large")
    return value


def _safe_replace(text: Any, old: str, new: str, count: int | None = None) -> str:
    """`replace` that refuses to grow text past the size limit before doing the work."""
    text = str(text)
    hits = text.count(old) if old else len(text) + 1
    hits = min(hits, count) if count is not None and count >= 0 else hits
    if len(text) + hits * (len(new) - len(old)) > MAX_RESULT_CHARS:
        raise JinjaSecurityError("replace result too large")
    return text.replace(old, new, -1 if count is None else count)


@pass_eval_context
def _safe_join(eval_ctx: Any, value: Any, d: str = "", attribute: Any = None) -> str:
    """`join` that refuses results past the size limit before joining."""
    items = list(value)
    if _size(items) + len(d) * len(items) > MAX_RESULT_CHARS:
        raise JinjaSecurityError("join result too large")
    return do_join(eval_ctx, items, d, attribute)


@lru_cache(maxsize=1)
def environment() -> _Sandbox:
    """The one sandbox used to parse and evaluate workflow expressions."""
    env = _Sandbox(undefined=StrictUndefined, autoescape=False)
    env.globals = {k: v for k, v in env.globals.items() if k in SAFE_GLOBALS}
    env.filters = {k: v for k, v in env.filters.items() if k in SAFE_FILTERS}
    env.filters["replace"] = _safe_replace
    env.filters["join"] = _safe_join
    return env


def is_expression(value: Any) -> bool:
    """True when a value is a string holding template syntax."""
    return isinstance(value, str) and ("{{" in value or "{%" in value or "{#" in value)


def single_expression(value: str) -> str | None:
    """The inner expression when `value` is exactly one `{{ ... }}`, else None."""
    match = _SINGLE.match(value)
    return match.group("expr").strip() if match else None


@lru_cache(maxsize=4096)
def _parse(source: str) -> nodes.Template:
    return environment().parse(source)


def check(source: str) -> list[Issue]:
    """Static problems of one template string; an empty list means it is safe to evaluate."""
    return list(_check(source))


@lru_cache(maxsize=4096)
def _check(source: str) -> tuple[Issue, ...]:
    """`check` memoised: a pure function of the source, and evaluation calls it on every use."""
    return tuple(_issues(source))


def _issues(source: str) -> list[Issue]:
    if len(source) > MAX_EXPRESSION_CHARS:
        return [Issue("EXPR_UNSAFE", f"expression longer than {MAX_EXPRESSION_CHARS} characters")]
    try:
        tree = _parse(source)
    except TemplateSyntaxError as exc:
        return [
            Issue(
                "EXPR_SYNTAX",
                f"cannot parse expression: {exc.message}",
                "Write `{{ steps.<id>.output }}`, `{{ inputs.<name> }}` or `{{ item }}`.",
            )
        ]
    return list(_unsafe_nodes(tree))


def _unsafe_nodes(tree: nodes.Template) -> Any:
    for node in tree.body:
        if not isinstance(node, nodes.Output):
            yield Issue(
                "EXPR_UNSAFE",
                f"statement `{{% {type(node).__name__.lower()} %}}` is not allowed in a workflow",
                "Use a single `{{ expression }}`; do loops with `for_each` on the step.",
            )
    for node in tree.find_all((nodes.Getattr, nodes.Getitem, nodes.Filter, nodes.Call)):
        if isinstance(node, nodes.Getattr) and node.attr.startswith("_"):
            yield Issue("EXPR_UNSAFE", f"access to private attribute `{node.attr}` is refused")
        elif isinstance(node, nodes.Getitem) and _is_private_key(node.arg):
            yield Issue("EXPR_UNSAFE", f"access to private key `{node.arg.value}` is refused")
        elif isinstance(node, nodes.Filter):
            yield from _unsafe_filter(node)
        elif isinstance(node, nodes.Call):
            yield from _unsafe_call(node)


_PRIVATE_NAME = re.compile(r"(^|\.)_[A-Za-z0-9_]")


def _unsafe_filter(node: nodes.Filter) -> Any:
    """Unlisted filters, filters named by string (`map('x')`), private attribute arguments."""
    if node.name not in SAFE_FILTERS:
        yield Issue(
            "EXPR_UNSAFE",
            f"filter `{node.name}` is not allowed",
            "Allowed filters: " + ", ".join(sorted(SAFE_FILTERS)),
        )
        return
    if node.name == "map" and node.args:
        first = node.args[0]
        if not (isinstance(first, nodes.Const) and first.value in SAFE_FILTERS):
            yield Issue("EXPR_UNSAFE", "map() may only apply an allowed filter")
    for arg in [*node.args, *(kw.value for kw in node.kwargs)]:
        is_text = isinstance(arg, nodes.Const) and isinstance(arg.value, str)
        if is_text and _PRIVATE_NAME.search(arg.value):
            yield Issue("EXPR_UNSAFE", f"access to private attribute `{arg.value}` is refused")


def _is_private_key(arg: nodes.Node) -> bool:
    return isinstance(arg, nodes.Const) and isinstance(arg.value, str) and arg.value.startswith("_")


def _unsafe_call(node: nodes.Call) -> Any:
    target = node.node
    if isinstance(target, nodes.Getattr):
        if target.attr not in SAFE_METHODS:
            yield Issue("EXPR_UNSAFE", f"calling method `{target.attr}` is not allowed")
        return
    if not (isinstance(target, nodes.Name) and target.name in SAFE_GLOBALS):
        yield Issue("EXPR_UNSAFE", "only `range(...)` and `dict(...)` may be called")
        return
    if target.name == "range":
        bounds = [a.value for a in node.args if isinstance(a, nodes.Const)]
        if any(isinstance(b, int) and abs(b) > MAX_RANGE for b in bounds):
            yield Issue("EXPR_UNSAFE", f"range larger than {MAX_RANGE} items is refused")


def references(source: str) -> list[Reference]:
    """Every variable path the template reads, outermost access first; [] if it does not parse."""
    try:
        tree = _parse(source)
    except TemplateSyntaxError:
        return []
    found: list[Reference] = []
    chain_inner: set[int] = set()
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        if id(node) in chain_inner:
            continue
        ref = _chain(node, chain_inner)
        if ref:
            found.append(ref)
    for name in tree.find_all(nodes.Name):
        if name.ctx == "load" and id(name) not in chain_inner and name.name not in SAFE_GLOBALS:
            found.append(Reference(name.name))
    return found


def _chain(node: nodes.Node, seen: set[int]) -> Reference | None:
    path: list[str | int] = []
    while isinstance(node, nodes.Getattr | nodes.Getitem):
        seen.add(id(node))
        if isinstance(node, nodes.Getattr):
            path.append(node.attr)
        elif isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str | int):
            path.append(node.arg.value)
        else:
            path.clear()  # a computed key: only the prefix before it is known
        node = node.node
    if isinstance(node, nodes.Name):
        seen.add(id(node))
        return Reference(node.name, tuple(reversed(path)))
    return None


def collect_strings(value: Any) -> list[tuple[tuple[str | int, ...], str]]:
    """Every template string inside a nested value, with its relative path."""
    out: list[tuple[tuple[str | int, ...], str]] = []
    stack: list[tuple[tuple[str | int, ...], Any]] = [((), value)]
    while stack:
        path, current = stack.pop()
        if isinstance(current, dict):
            stack.extend(((*path, k), v) for k, v in reversed(current.items()))
        elif isinstance(current, list):
            stack.extend(((*path, i), v) for i, v in reversed(list(enumerate(current))))
        elif is_expression(current):
            out.append((path, current))
    return out


@lru_cache(maxsize=4096)
def _compiled_expression(expr: str) -> Any:
    return environment().compile_expression(expr, undefined_to_none=False)


@lru_cache(maxsize=4096)
def _compiled_template(source: str) -> Any:
    return environment().from_string(source)


def evaluate(value: Any, context: dict[str, Any]) -> Any:
    """Evaluate every expression inside `value` (nested dicts and lists included).

    A string that is exactly one `{{ expr }}` keeps the native type of its result; mixed text
    renders to a string. Unsafe or failing expressions raise `ExpressionError`.
    """
    if isinstance(value, dict):
        return {k: evaluate(v, context) for k, v in value.items()}
    if isinstance(value, list):
        return [evaluate(v, context) for v in value]
    if not is_expression(value):
        return value
    issues = _check(value)
    if issues:
        raise ExpressionError(issues[0].message, hint=issues[0].hint, code=issues[0].code)
    try:
        expr = single_expression(value)
        if expr is not None:
            native = _compiled_expression(expr)(**context)
            if isinstance(native, Undefined):
                native._fail_with_undefined_error()
            return _guard_size(native)
        result = _compiled_template(value).render(**context)
    except UndefinedError as exc:
        raise ExpressionError(
            f"{value.strip()}: {exc.message}",
            code="EXPR_UNDEFINED",
            hint="Check the step id and output field; use `| default(...)` for optional fields.",
        ) from exc
    except JinjaSecurityError as exc:
        raise ExpressionError(f"{value.strip()}: {exc}", code="EXPR_UNSAFE") from exc
    except (OverflowError, MemoryError, RecursionError) as exc:
        raise ExpressionError(f"{value.strip()}: {exc}", code="EXPR_UNSAFE") from exc
    except TemplateRuntimeError as exc:
        raise ExpressionError(f"{value.strip()}: {exc}", code="EXPR_RUNTIME") from exc
    except (TypeError, ValueError, ArithmeticError, LookupError) as exc:
        raise ExpressionError(f"{value.strip()}: {exc}", code="EXPR_RUNTIME") from exc
    if len(result) > MAX_RESULT_CHARS:
        raise ExpressionError("expression result too large", code="EXPR_UNSAFE")
    return result

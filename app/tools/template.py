"""`render_template`: a sandboxed Jinja2 template filled with data, bounded in size and time."""

from __future__ import annotations

import time as _time
from typing import Annotated, Any

from pydantic import Field

from app.errors import SecurityError, ToolInputError
from app.tools.base import SideEffect, flow_tool

MAX_TEMPLATE_CHARS = 100_000
MAX_OUTPUT_CHARS = 1_000_000
MAX_LOOP_ITEMS = 100_000
TEMPLATE_DEADLINE_S = 5.0


@flow_tool(
    category="text",
    side_effect=SideEffect.PURE,
    example={"template": "Hello {{ name }}! {% for i in items %}[{{ i }}]{% endfor %}",
             "data": {"name": "Ada", "items": [1, 2]}},
)  # fmt: skip
def render_template(
    template: Annotated[str, Field(description="Jinja2 template text ({{ var }}, {% for %}...).")],
    data: Annotated[dict[str, Any], Field(description="Variables for the template.")],
) -> str:
    """Fill a text template (Jinja2: variables, loops, conditions) with data; sandboxed.

    The data's keys are variables, and `data` is the whole dict. Output is capped in size.
    """
    from jinja2 import TemplateError
    from jinja2.exceptions import SecurityError as JinjaSecurityError

    from app.workflow.expressions import environment

    if len(template) > MAX_TEMPLATE_CHARS:
        raise ToolInputError(f"template longer than {MAX_TEMPLATE_CHARS} characters")
    loop_items = 0

    def bounded_range(*args: int) -> range:
        nonlocal loop_items
        items = range(*args)
        loop_items += len(items)
        if loop_items > MAX_LOOP_ITEMS:
            raise JinjaSecurityError(f"range() produced more than {MAX_LOOP_ITEMS} items")
        return items

    context = {"data": data, **{str(k): v for k, v in data.items()}, "range": bounded_range}
    try:
        private = _private_access(environment().parse(template))
        if private:  # refused statically as well as by the sandbox at run time
            raise SecurityError(f"template refused: access to private name `{private}`")
        compiled = environment().from_string(template)
    except TemplateError as exc:
        line = getattr(exc, "lineno", None)
        raise ToolInputError(f"template does not parse (line {line}): {exc}") from None
    deadline = _time.monotonic() + TEMPLATE_DEADLINE_S
    out: list[str] = []
    size = 0
    try:
        for chunk in compiled.generate(**context):
            size += len(chunk)
            out.append(chunk)
            if size > MAX_OUTPUT_CHARS or _time.monotonic() > deadline:
                raise ToolInputError(
                    f"template output exceeds {MAX_OUTPUT_CHARS} characters or "
                    f"{TEMPLATE_DEADLINE_S:g}s",
                    hint="Render less data, or split the template.",
                )
    except JinjaSecurityError as exc:
        raise SecurityError(f"template refused: {exc}") from None
    except (TemplateError, TypeError, ValueError, ArithmeticError, LookupError) as exc:
        where = f" (line {exc.lineno})" if getattr(exc, "lineno", None) else ""
        raise ToolInputError(
            f"template failed{where}: {getattr(exc, 'message', None) or exc}",
            hint=f"Available variables: {', '.join(sorted(set(context) - {'range'}))}.",
        ) from None
    except RecursionError:
        raise ToolInputError("template recursion too deep") from None
    return "".join(out)


def _private_access(tree: Any) -> str | None:
    """The first `_name` attribute or key a template reads (refused before it runs)."""
    from jinja2 import nodes

    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        key = node.attr if isinstance(node, nodes.Getattr) else getattr(node.arg, "value", None)
        if isinstance(key, str) and key.startswith("_"):
            return key
    return None


TOOLS = [render_template]

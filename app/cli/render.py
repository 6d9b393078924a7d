"""Terminal rendering shared by the commands: consoles, compiler-style diagnostics, schema types.

Kept free of pydantic, LangChain and the tools so any command can use it without slowing
`flowwright --help`; rich is imported here, and this module is imported inside commands only.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from rich.console import Console
from rich.text import Text

SEVERITY_STYLE = {"error": "bold red", "warning": "bold yellow", "info": "bold cyan"}


class DiagnosticLike(Protocol):
    """What rendering needs from a diagnostic (the validator's `Diagnostic` model fits)."""

    code: str
    path: str
    message: str
    hint: str | None
    line: int | None
    column: int | None

    @property
    def severity(self) -> Any: ...


def out() -> Console:
    """A console on the *current* stdout (test runners swap it), never wrapping long lines."""
    return Console(file=sys.stdout, soft_wrap=True, highlight=False)


def err() -> Console:
    """A console on the current stderr, for errors about the command itself."""
    return Console(file=sys.stderr, soft_wrap=True, highlight=False)


def print_json(data: Any) -> None:
    """Machine output: plain JSON on stdout, no colour and no wrapping."""
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")


def severity_of(diag: DiagnosticLike) -> str:
    return str(getattr(diag.severity, "value", diag.severity))


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def diagnostic_text(diag: DiagnosticLike, source: str, lines: Sequence[str] | None) -> Text:
    """One diagnostic the way compilers print it.

    `file:12:7: error[CODE]: message`, then the source line with a caret under the column and
    `= hint: ...`; without a position, the JSON pointer says where the problem is.
    """
    severity = severity_of(diag)
    where = source
    if diag.line:
        where += f":{diag.line}"
        if diag.column:
            where += f":{diag.column}"
    text = Text()
    text.append(f"{where}: ", style="bold")
    text.append(f"{severity}[{diag.code}]", style=SEVERITY_STYLE.get(severity, "bold"))
    text.append(f": {diag.message}\n")
    snippet = _snippet(lines, diag.line, diag.column)
    if snippet:
        number, code_line, caret = snippet
        gutter = " " * len(number)
        text.append(f" {number} | ", style="blue")
        text.append(code_line + "\n")
        text.append(f" {gutter} | ", style="blue")
        text.append(caret + "\n", style=SEVERITY_STYLE.get(severity, "bold"))
    elif diag.path:
        text.append("  = at: ", style="blue")
        text.append(diag.path + "\n")
    if diag.hint:
        text.append("  = hint: ", style="bold blue")
        text.append(diag.hint + "\n")
    return text


SNIPPET_WIDTH = 100  # long lines (minified JSON) are shown as a window around the column


def _snippet(
    lines: Sequence[str] | None, line: int | None, column: int | None
) -> tuple[str, str, str] | None:
    """(line number, the source line, the caret line) for a 1-based position, if available."""
    if not lines or not line or line > len(lines):
        return None
    code_line = lines[line - 1].rstrip("\r\n").expandtabs(1)
    if not column:
        cut = len(code_line) > SNIPPET_WIDTH
        return str(line), code_line[:SNIPPET_WIDTH] + ("…" if cut else ""), ""
    start = min(max(column - 1, 0), len(code_line))
    width = 0
    while start + width < len(code_line) and code_line[start + width] not in " \t,:}]":
        width += 1
    width = min(width, SNIPPET_WIDTH // 2)
    left = max(0, min(start - SNIPPET_WIDTH // 2, len(code_line) - SNIPPET_WIDTH))
    shown = code_line[left : left + SNIPPET_WIDTH]
    prefix = "…" if left else ""
    suffix = "…" if left + SNIPPET_WIDTH < len(code_line) else ""
    caret = " " * (start - left + len(prefix)) + "^" + "~" * max(width - 1, 0)
    return str(line), prefix + shown + suffix, caret


def summary_line(counts: Iterable[tuple[bool, int, int]]) -> str:
    """`3 files: 2 valid, 1 invalid (4 errors, 1 warning)` from (ok, errors, warnings) per file."""
    rows = list(counts)
    valid = sum(1 for ok, _, _ in rows if ok)
    errors = sum(e for _, e, _ in rows)
    warnings = sum(w for _, _, w in rows)
    return (
        f"{plural(len(rows), 'file')}: {valid} valid, {len(rows) - valid} invalid "
        f"({plural(errors, 'error')}, {plural(warnings, 'warning')})"
    )


def schema_type(schema: Any, defs: dict[str, Any] | None = None, depth: int = 0) -> str:
    """A JSON Schema as a short, readable type: `list[str]`, `{valid: bool, reason: str | null}`."""
    if not isinstance(schema, dict) or not schema:
        return "any"
    defs = defs if defs is not None else schema.get("$defs", {})
    if depth > 6:
        return "..."
    if "$ref" in schema:
        target = defs.get(str(schema["$ref"]).rsplit("/", 1)[-1])
        return schema_type(target, defs, depth + 1) if target else "any"
    for key in ("anyOf", "oneOf"):
        if key in schema:
            parts = [schema_type(s, defs, depth + 1) for s in schema[key]]
            return " | ".join(dict.fromkeys(parts))
    if "allOf" in schema and len(schema["allOf"]) == 1:
        return schema_type(schema["allOf"][0], defs, depth + 1)
    if "enum" in schema:
        return " | ".join(json.dumps(v) for v in schema["enum"])
    if "const" in schema:
        return json.dumps(schema["const"])
    kind = schema.get("type")
    if isinstance(kind, list):
        return " | ".join(schema_type({**schema, "type": k}, defs, depth) for k in kind)
    simple = {"string": "str", "integer": "int", "number": "float", "boolean": "bool"}
    if kind in simple:
        return simple[kind]
    if kind == "null":
        return "null"
    if kind == "array":
        return f"list[{schema_type(schema.get('items', {}), defs, depth + 1)}]"
    if kind == "object" or "properties" in schema:
        props = schema.get("properties") or {}
        if props:
            inner = ", ".join(f"{k}: {schema_type(v, defs, depth + 1)}" for k, v in props.items())
            return "{" + inner + "}"
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict) and extra:
            return f"dict[str, {schema_type(extra, defs, depth + 1)}]"
        return "dict"
    return "any"


def short(text: str | None, limit: int = 80) -> str:
    """The first sentence of a description, cut to `limit` characters."""
    if not text:
        return ""
    first = re.split(r"(?<=[.!?])\s+(?=[A-Z])", text.strip().split("\n", 1)[0], maxsplit=1)[0]
    return first if len(first) <= limit else first[: limit - 1].rstrip() + "…"

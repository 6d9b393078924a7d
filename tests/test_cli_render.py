"""Rendering helpers of the CLI: compiler-style diagnostics, summaries and readable schema types."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from app.cli.render import diagnostic_text, schema_type, short, summary_line
from app.workflow.diagnostics import Diagnostic


@dataclass
class Diag:
    code: str
    message: str
    severity: str = "error"
    path: str = ""
    hint: str | None = None
    line: int | None = None
    column: int | None = None


LINES = ["steps:", "  - id: check", "    tool: validate_emial", "    params: {}"]


def test_diagnostic_with_position_shows_line_caret_and_hint() -> None:
    diag = Diag(
        "TOOL_UNKNOWN",
        "unknown tool 'validate_emial'",
        path="/steps/0/tool",
        hint="did you mean validate_email?",
        line=3,
        column=11,
    )
    text = diagnostic_text(diag, "flow.yaml", LINES).plain.splitlines()
    assert text[0] == "flow.yaml:3:11: error[TOOL_UNKNOWN]: unknown tool 'validate_emial'"
    assert text[1] == " 3 |     tool: validate_emial"
    assert text[2] == "   |           ^" + "~" * 13
    assert text[3] == "  = hint: did you mean validate_email?"


def test_diagnostic_without_position_names_the_json_pointer() -> None:
    diag = Diag("PARAM_MISSING", "missing param", severity="warning", path="/steps/1/params")
    text = diagnostic_text(diag, "<stdin>", None).plain.splitlines()
    assert text == ["<stdin>: warning[PARAM_MISSING]: missing param", "  = at: /steps/1/params"]


def test_diagnostic_line_past_end_of_source_has_no_snippet() -> None:
    diag = Diag("X", "m", line=99, column=1)
    assert diagnostic_text(diag, "f", LINES).plain == "f:99:1: error[X]: m\n"


def test_summary_line_counts_and_pluralises() -> None:
    line = summary_line([(True, 0, 1), (True, 0, 0), (False, 4, 0)])
    assert line == "3 files: 2 valid, 1 invalid (4 errors, 1 warning)"
    assert summary_line([(True, 0, 0)]) == "1 file: 1 valid, 0 invalid (0 errors, 0 warnings)"


@pytest.mark.parametrize(
    ("schema", "expected"),
    [
        ({"type": "array", "items": {"type": "string"}}, "list[str]"),
        ({"anyOf": [{"type": "string"}, {"type": "null"}]}, "str | null"),
        (
            {
                "type": "object",
                "properties": {"valid": {"type": "boolean"}, "n": {"type": "integer"}},
            },
            "{valid: bool, n: int}",
        ),
        ({"type": "object", "additionalProperties": {"type": "number"}}, "dict[str, float]"),
        ({"enum": ["a", "b"]}, '"a" | "b"'),
        ({}, "any"),
        (
            {
                "$ref": "#/$defs/R",
                "$defs": {"R": {"type": "object", "properties": {"status": {"type": "integer"}}}},
            },
            "{status: int}",
        ),
        ({"type": "array", "items": {"type": "object"}}, "list[dict]"),
    ],
)
def test_schema_type(schema: dict, expected: str) -> None:
    assert schema_type(schema) == expected


def test_short_keeps_the_first_sentence() -> None:
    assert short("Validate an email. Optionally check DNS.") == "Validate an email."
    assert short("x" * 100, 10) == "x" * 9 + "…"


def test_very_long_source_lines_are_shown_as_a_window_around_the_column() -> None:
    line = "[" * 4000 + "x" + "]" * 4000
    diag = Diagnostic(code="SPEC_TOO_DEEP", path="", message="deep", line=1, column=4001)
    shown = diagnostic_text(diag, "deep.json", [line]).plain
    assert len(max(shown.splitlines(), key=len)) < 200
    code_line, caret_line = shown.splitlines()[1:3]
    assert code_line[caret_line.index("^")] == line[4000]
    assert "…" in code_line

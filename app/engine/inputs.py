"""Workflow inputs: defaults, required checks and coercion of CLI strings to declared types."""

from __future__ import annotations

import json
from typing import Any

from app.errors import FlowwrightError
from app.workflow.spec import InputType, WorkflowSpec


class InputError(FlowwrightError):
    """Inputs that do not fit the workflow's declared inputs (CLI exit code 2)."""

    code = "INPUT_INVALID"


_TRUE = {"true", "yes", "1", "on"}
_FALSE = {"false", "no", "0", "off"}


def coerce(name: str, kind: InputType, value: Any) -> Any:
    """Convert `value` (often a CLI string) to the declared type, or raise InputError."""
    if kind is InputType.ANY or value is None:
        return value
    try:
        if kind is InputType.STRING:
            if isinstance(value, dict | list):
                raise ValueError("expected text")
            return value if isinstance(value, str) else str(value)
        if kind is InputType.BOOLEAN:
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in _TRUE | _FALSE:
                return text in _TRUE
            raise ValueError("expected true or false")
        if kind is InputType.INTEGER:
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError("expected a whole number")
            return int(value)
        if kind is InputType.NUMBER:
            if isinstance(value, bool):
                raise ValueError("expected a number")
            return float(value) if not isinstance(value, int) else value
        parsed = json.loads(value) if isinstance(value, str) else value
        wanted = list if kind is InputType.ARRAY else dict
        if not isinstance(parsed, wanted):
            raise ValueError(f"expected a JSON {kind.value}")
        return parsed
    except (ValueError, TypeError) as exc:
        raise InputError(
            f"input {name!r}: {exc} (got {value!r:.60})",
            hint=f"Give {name} as {kind.value}, e.g. --input {name}=...",
        ) from exc


def prepare_inputs(spec: WorkflowSpec, given: dict[str, Any]) -> dict[str, Any]:
    """Declared inputs with defaults filled in; unknown or missing required ones are errors."""
    unknown = sorted(set(given) - set(spec.inputs))
    if unknown:
        raise InputError(
            f"unknown input(s): {', '.join(unknown)}",
            hint=f"This workflow takes: {', '.join(spec.inputs) or 'no inputs'}.",
        )
    prepared: dict[str, Any] = {}
    missing: list[str] = []
    for name, decl in spec.inputs.items():
        if name in given:
            prepared[name] = coerce(name, decl.type, given[name])
        elif decl.default is not None:
            prepared[name] = decl.default
        elif decl.required:
            missing.append(name)
        else:
            prepared[name] = None
    if missing:
        raise InputError(
            f"missing required input(s): {', '.join(missing)}",
            hint=" ".join(f"--input {m}=..." for m in missing),
        )
    return prepared

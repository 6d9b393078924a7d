"""Dry runs: a plausible output for a tool that is not executed, derived from its output schema."""

from __future__ import annotations

from typing import Any

_SCALARS: dict[str, Any] = {
    "string": "simulated",
    "integer": 0,
    "number": 0.0,
    "boolean": True,
    "null": None,
}
_FORMATS = {"date-time": "2026-01-01T00:00:00Z", "date": "2026-01-01", "uri": "https://example.com"}


def sample(schema: dict[str, Any], defs: dict[str, Any] | None = None, depth: int = 0) -> Any:
    """The simplest value matching `schema` (defaults and examples first, then by type)."""
    defs = defs if defs is not None else schema.get("$defs", {})
    if depth > 8:
        return None
    if "$ref" in schema:
        return sample(defs.get(schema["$ref"].rsplit("/", 1)[-1], {}), defs, depth + 1)
    if "default" in schema:
        return schema["default"]
    if schema.get("examples"):
        return schema["examples"][0]
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    for key in ("anyOf", "oneOf", "allOf"):
        options = [s for s in schema.get(key, []) if s.get("type") != "null"]
        if options:
            return sample(options[0], defs, depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object" or "properties" in schema:
        props = schema.get("properties", {})
        return {name: sample(sub, defs, depth + 1) for name, sub in props.items()}
    if kind == "array":
        return []
    if kind == "string" and schema.get("format") in _FORMATS:
        return _FORMATS[schema["format"]]
    return _SCALARS.get(kind) if isinstance(kind, str) else None

"""Load and validate a backend data model; every problem is a `MODEL_*` diagnostic, never raised.

Parsing reuses the workflow loader's safe YAML/JSON reader and its pointer → line map, so model
diagnostics render like spec diagnostics (`file:line:col: error[MODEL_FOREIGN_KEY]: ...`).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from app.backend import backbone
from app.backend.diagnostics import semantic_diagnostics
from app.backend.model import DataModel
from app.config import get_settings
from app.workflow.diagnostics import Diagnostic, Severity, pointer
from app.workflow.loader import _parse_json, _parse_yaml, _positions


@dataclass
class ModelReport:
    """What loading produced: the model when it is valid, diagnostics, and source positions."""

    source: str | None
    text: str | None = None
    model: DataModel | None = None
    diagnostics: list[Diagnostic] = field(default_factory=list)
    converted_from: str | None = None  # "backbone" when the input was BackBone-AI's format

    @property
    def ok(self) -> bool:
        return self.model is not None and not any(d.is_error for d in self.diagnostics)


def load_model_file(path: str | Path) -> ModelReport:
    """Read a YAML/JSON model file (size-checked first) and validate it."""
    path = Path(path)
    limit = get_settings().max_spec_bytes
    try:
        size = path.stat().st_size
        if size > limit:
            return _fail(
                str(path),
                "MODEL_TOO_LARGE",
                f"the model is {size:,} bytes; the limit is {limit:,}",
                "Split the model or raise FLOWWRIGHT_MAX_SPEC_BYTES.",
            )
        raw = path.read_bytes()
    except OSError as exc:
        return _fail(
            str(path), "MODEL_READ", f"cannot read {path}: {exc.strerror or exc}", "Check the path."
        )
    fmt = "json" if path.suffix.lower() == ".json" else "yaml"
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return _fail(
            str(path), "MODEL_PARSE", f"not UTF-8 text (byte {exc.start})", "Save as UTF-8."
        )
    return load_model_text(text, source=str(path), fmt=fmt)


def load_model_text(text: str, *, source: str | None = None, fmt: str | None = None) -> ModelReport:
    """Parse YAML/JSON text into a validated model, with line numbers on the diagnostics."""
    fmt = fmt or ("json" if text.lstrip().startswith("{") else "yaml")
    data, diags = _parse_json(text) if fmt == "json" else _parse_yaml(text)
    if diags:
        for d in diags:
            d.code = d.code.replace("SPEC_", "MODEL_", 1)
        return ModelReport(source, text, diagnostics=diags)
    positions, dups = _positions(text)
    for d in dups:
        d.code = "MODEL_PARSE"
    report = validate_data(data, source=source)
    report.text = text
    report.diagnostics = dups + report.diagnostics
    if dups:
        report.model = None
    for d in report.diagnostics:
        if d.line is None:
            path = d.path
            while path not in positions and path:
                path = path.rsplit("/", 1)[0]
            if path in positions:
                d.line, d.column = positions[path]
    return report


def validate_data(data: Any, *, source: str | None = None) -> ModelReport:
    """Validate parsed data (Flowwright or BackBone-AI format) or an existing `DataModel`."""
    if isinstance(data, DataModel):
        data = data.model_dump(mode="json", exclude_none=True)
    if not isinstance(data, dict):
        return _fail(
            source,
            "MODEL_NOT_MAPPING",
            "the model is not a mapping",
            "Start with `name:` and `entities:`.",
        )
    pointers: dict[str, str] = {}
    converted = None
    if backbone.is_backbone(data):
        try:
            data, pointers = backbone.convert(data)
        except (TypeError, AttributeError, KeyError) as exc:
            return _fail(source, "MODEL_SCHEMA", f"cannot read the BackBone-AI schema: {exc}")
        converted = "backbone"
    report = ModelReport(source, converted_from=converted)
    try:
        model = DataModel.model_validate(data)
    except ValidationError as exc:
        report.diagnostics = _schema_diagnostics(exc)
    else:
        report.diagnostics = semantic_diagnostics(model)
        report.model = model
    if pointers:
        for d in report.diagnostics:
            d.path = _remap(d.path, pointers)
    return report


def _remap(path: str, pointers: dict[str, str]) -> str:
    """Map a pointer into the converted model back to the source document's."""
    probe = path
    while probe:
        if probe in pointers:
            return pointers[probe]
        probe = probe.rsplit("/", 1)[0]
    return path


def _fail(source: str | None, code: str, message: str, hint: str | None = None) -> ModelReport:
    return ModelReport(source, diagnostics=[Diagnostic(code=code, message=message, hint=hint)])


def _schema_diagnostics(exc: ValidationError) -> list[Diagnostic]:
    """One MODEL_SCHEMA diagnostic per Pydantic error, with did-you-mean for unknown keys."""
    from app.backend.model import EntitySpec, FieldSpec, RelationSpec

    known = {"fields": FieldSpec, "relations": RelationSpec, "entities": EntitySpec}
    out: list[Diagnostic] = []
    for error in exc.errors():
        loc = [p for p in error["loc"] if not (isinstance(p, str) and "[" in p)]
        path = pointer(*loc)
        label = ".".join(str(p) for p in loc) or "the model"
        hint = None
        if error["type"] == "extra_forbidden":
            parent = next((known[str(p)] for p in reversed(loc[:-1]) if str(p) in known), None)
            names = list(parent.model_fields) if parent else list(DataModel.model_fields)
            close = difflib.get_close_matches(str(loc[-1]), names, n=1, cutoff=0.6)
            hint = f"Did you mean {close[0]!r}?" if close else "Allowed: " + ", ".join(names)
            message = f"unknown key {loc[-1]!r}"
        elif error["type"] == "missing":
            message = f"missing required key {loc[-1]!r}"
        else:
            message = f"{label}: {error['msg'][0].lower()}{error['msg'][1:]}"
            if error["type"] == "enum":
                hint = f"Expected one of: {error.get('ctx', {}).get('expected', '')}"
        out.append(
            Diagnostic(
                code="MODEL_SCHEMA", path=path, message=message, hint=hint, severity=Severity.ERROR
            )
        )
    return out

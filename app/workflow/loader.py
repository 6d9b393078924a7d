"""Safe text → `WorkflowSpec`: size, depth and YAML-safety limits, and line-aware diagnostics.

Loading never raises for bad input. Untrusted YAML is first scanned event by event (iteratively, so
nothing recurses) to refuse deep nesting, anchors/aliases (billion-laughs bombs) and non-standard
tags; only then is it composed into nodes, which also give every JSON pointer its line and column.
"""

from __future__ import annotations

import difflib
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ValidationError

from app.config import get_settings
from app.workflow.diagnostics import Diagnostic, pointer
from app.workflow.spec import (
    SPEC_VERSION,
    InputSpec,
    InputType,
    RetryPolicy,
    StepSpec,
    WorkflowSpec,
)

Format = Literal["yaml", "json"]
MAX_DEPTH = 64

_BaseLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_STANDARD_TAGS = frozenset(
    f"tag:yaml.org,2002:{name}" for name in ("str", "int", "float", "bool", "null", "seq", "map")
)
_JSON_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')


class _SpecLoader(_BaseLoader):  # type: ignore[misc,valid-type]
    """Safe loader that keeps dates as text: a spec is plain JSON data."""


_SpecLoader.add_constructor(
    "tag:yaml.org,2002:timestamp", lambda loader, node: loader.construct_scalar(node)
)


@dataclass
class LoadResult:
    """What loading produced: the parsed data, the spec if it is valid, and the diagnostics."""

    source: str | None
    text: str | None
    data: Any = None
    spec: WorkflowSpec | None = None
    diagnostics: list[Diagnostic] = field(default_factory=list)
    positions: dict[str, tuple[int, int]] = field(default_factory=dict, repr=False)

    @property
    def ok(self) -> bool:
        return self.spec is not None and not any(d.is_error for d in self.diagnostics)

    def locate(self, path: str) -> tuple[int, int] | None:
        """(line, column), 1-based, of a JSON pointer, or of its nearest ancestor that exists."""
        while True:
            if path in self.positions:
                return self.positions[path]
            if not path:
                return None
            path = path.rsplit("/", 1)[0]


def load_spec_file(path: str | Path, *, max_bytes: int | None = None) -> LoadResult:
    """Load a spec file (`-` reads stdin); the size is checked before anything is read."""
    limit = max_bytes if max_bytes is not None else get_settings().max_spec_bytes
    if str(path) == "-":
        stream = getattr(sys.stdin, "buffer", sys.stdin)
        return load_spec_text(stream.read(limit + 1), source="<stdin>", max_bytes=limit)
    path = Path(path)
    source = str(path)
    try:
        size = path.stat().st_size
        if size > limit:
            return LoadResult(source, None, diagnostics=[_too_large(size, limit)])
        with path.open("rb") as handle:
            raw = handle.read(limit + 1)  # also caps FIFOs and devices that report size 0
    except OSError as exc:
        reason = exc.strerror or str(exc)
        diag = _diag("SPEC_READ", f"cannot read {source}: {reason}", "Check the path.")
        return LoadResult(source, None, diagnostics=[diag])
    suffix = path.suffix.lower()
    fmt: Format | None = {".json": "json", ".yaml": "yaml", ".yml": "yaml"}.get(suffix)  # type: ignore[assignment]
    return load_spec_text(raw, fmt=fmt, source=source, max_bytes=limit)


def load_spec_text(
    text: str | bytes,
    *,
    fmt: Format | None = None,
    source: str | None = None,
    max_bytes: int | None = None,
) -> LoadResult:
    """Parse and schema-check spec text; every problem becomes a `SPEC_*` diagnostic."""
    limit = max_bytes if max_bytes is not None else get_settings().max_spec_bytes
    size = len(text) if isinstance(text, bytes) or len(text) > limit else len(text.encode())
    if size > limit:
        return LoadResult(source, None, diagnostics=[_too_large(size, limit)])
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            diag = _diag("SPEC_PARSE", f"not UTF-8 text (byte {exc.start})", "Save as UTF-8.")
            return LoadResult(source, None, diagnostics=[diag])
    text = text.removeprefix("\ufeff")
    result = LoadResult(source, text)
    sniffed = fmt is None
    fmt = fmt or ("json" if text.lstrip().startswith("{") else "yaml")
    data, diags = _parse_json(text) if fmt == "json" else _parse_yaml(text)
    if diags and sniffed and fmt == "json" and diags[0].code == "SPEC_PARSE":
        yaml_data, yaml_diags = _parse_yaml(text)  # a YAML flow mapping also starts with `{`
        if not yaml_diags:
            data, diags = yaml_data, yaml_diags
    if diags:
        result.diagnostics = diags
        return result
    result.data = data
    result.positions, dup = _positions(text)
    result.diagnostics = dup + _check_document(data, result)
    if dup:
        result.spec = None  # an ambiguous document is not a spec
    _place(result)
    return result


def _diag(
    code: str, message: str, hint: str | None = None, *, path: str = "", at: Any = None
) -> Diagnostic:
    """A diagnostic located by `at`: a YAML mark, a node, or a (line, column) pair."""
    mark = getattr(at, "start_mark", at)
    if mark is not None and not isinstance(mark, tuple):
        mark = (mark.line + 1, mark.column + 1)
    line, column = mark or (None, None)
    return Diagnostic(code=code, message=message, hint=hint, path=path, line=line, column=column)


def _too_large(size: int, limit: int) -> Diagnostic:
    hint = "Split the workflow, or raise FLOWWRIGHT_MAX_SPEC_BYTES."
    return _diag("SPEC_TOO_LARGE", f"the spec is {size:,} bytes; the limit is {limit:,}", hint)


def _parse_yaml(text: str) -> tuple[Any, list[Diagnostic]]:
    """Scan events for unsafe constructs first; compose and construct only a vetted document."""
    try:
        problem = _scan_yaml(text)
        if problem:
            return None, [problem]
        loader = _SpecLoader(text)
        try:
            return loader.get_single_data(), []
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        message = " ".join(p for p in (exc.context, exc.problem) if p) or str(exc)
        if "nesting depth" in message:  # libyaml's own limit can trip before our scan does
            return None, [_too_deep(exc.problem_mark)]
        hint = "Check indentation, colons and quoting near this line."
        at = exc.problem_mark or exc.context_mark
        return None, [_diag("SPEC_PARSE", f"YAML syntax error: {message}", hint, at=at)]
    except (yaml.YAMLError, ValueError, RecursionError) as exc:
        return None, [_diag("SPEC_PARSE", f"cannot parse YAML: {exc}")]


def _scan_yaml(text: str) -> Diagnostic | None:
    """Refuse deep nesting, anchors, aliases, foreign tags and extra documents, iteratively."""
    depth = documents = 0
    for event in yaml.parse(text, Loader=_BaseLoader):
        if isinstance(event, yaml.DocumentStartEvent):
            documents += 1
            if documents > 1:
                hint = "Keep one workflow per file; remove the extra `---`."
                return _diag("SPEC_PARSE", "more than one YAML document", hint, at=event)
        elif isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            message = "YAML anchors and aliases (`&name`, `*name`) are not allowed"
            hint = "Repeat the value instead; aliases can expand into huge documents."
            return _diag("SPEC_UNSAFE_YAML", message, hint, at=event)
        tag = getattr(event, "tag", None)
        if tag and tag != "!" and tag not in _STANDARD_TAGS:
            hint = "Use plain strings, numbers, booleans, lists and mappings."
            return _diag("SPEC_UNSAFE_YAML", f"YAML tag {tag!r} is not allowed", hint, at=event)
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                return _too_deep(event)
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
    return None


def _too_deep(at: Any) -> Diagnostic:
    hint = "Flatten the data; pass large structures through files instead."
    return _diag("SPEC_TOO_DEEP", f"the spec nests deeper than {MAX_DEPTH} levels", hint, at=at)


def _parse_json(text: str) -> tuple[Any, list[Diagnostic]]:
    depth = 0
    for token in _JSON_TOKENS.finditer(text):
        char = token.group()
        if char in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                start = token.start()
                line = text.count("\n", 0, start) + 1
                return None, [_too_deep((line, start - text.rfind("\n", 0, start)))]
        elif char in "]}":
            depth -= 1
    try:
        return json.loads(text, parse_constant=_no_constant), []
    except json.JSONDecodeError as exc:
        hint = "Check commas, quotes and brackets."
        at = (exc.lineno, exc.colno)
        return None, [_diag("SPEC_PARSE", f"JSON syntax error: {exc.msg}", hint, at=at)]
    except (ValueError, RecursionError) as exc:
        return None, [_diag("SPEC_PARSE", f"cannot parse JSON: {exc}")]


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def _positions(text: str) -> tuple[dict[str, tuple[int, int]], list[Diagnostic]]:
    """JSON pointer → (line, column) from YAML nodes (JSON included), plus duplicate-key errors."""
    try:
        loader = _SpecLoader(text)
        try:
            root = loader.get_single_node()
        finally:
            loader.dispose()
    except (yaml.YAMLError, ValueError, RecursionError):
        return {}, []
    if root is None:
        return {}, []
    positions: dict[str, tuple[int, int]] = {}
    duplicates: list[Diagnostic] = []
    stack: list[tuple[yaml.Node, str, tuple[int, int]]] = [(root, "", _pos(root))]
    while stack:
        node, path, pos = stack.pop()
        positions.setdefault(path, pos)
        if isinstance(node, yaml.MappingNode):
            seen: set[str] = set()
            for key, value in node.value:
                name = str(key.value) if isinstance(key, yaml.ScalarNode) else "?"
                child = path + pointer(name)
                if name in seen:
                    hint = "Each key may appear once; merge the two entries."
                    dup = _diag("SPEC_PARSE", f"duplicate key {name!r}", hint, path=child, at=key)
                    duplicates.append(dup)
                    continue
                seen.add(name)
                stack.append((value, child, _pos(key)))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((item, path + pointer(i), _pos(item)) for i, item in enumerate(node.value))
    return positions, duplicates


def _pos(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def _check_document(data: Any, result: LoadResult) -> list[Diagnostic]:
    """Mapping, version and schema checks on parsed data; sets `result.spec` when all pass."""
    if not isinstance(data, dict):
        kind = "empty" if data is None else f"a {type(data).__name__}, not a mapping"
        hint = 'Start with `flowwright: "1"`, `name:` and `steps:`.'
        return [_diag("SPEC_NOT_MAPPING", f"the spec is {kind}", hint)]
    diags = _key_diagnostics(data)
    version = data.get("flowwright")
    if version is None:
        hint = f'Add `flowwright: "{SPEC_VERSION}"` as the first line.'
        diags.append(_diag("SPEC_VERSION", "missing spec version `flowwright`", hint))
    elif version != SPEC_VERSION and not (type(version) is int and version == 1):
        message = f"unsupported spec version {version!r}"
        hint = f'This Flowwright reads spec version "{SPEC_VERSION}": write `flowwright: '
        hint += f'"{SPEC_VERSION}"` (or upgrade Flowwright for a newer version).'
        return [_diag("SPEC_VERSION", message, hint, path="/flowwright")]
    try:
        spec = WorkflowSpec.model_validate({**data, "flowwright": SPEC_VERSION})
    except ValidationError as exc:
        return diags + _schema_diagnostics(exc, data)
    if not diags:
        result.spec = spec
    return diags


def _key_diagnostics(data: Any) -> list[Diagnostic]:
    """Mapping keys that are not strings (YAML reads bare `on`, `yes`, `1` as non-strings)."""
    found: list[Diagnostic] = []
    stack: list[tuple[Any, str]] = [(data, "")]
    while stack:
        value, path = stack.pop()
        if isinstance(value, dict):
            for key, child in value.items():
                if not isinstance(key, str):
                    message = f"key {key!r} is a {type(key).__name__}, not a string"
                    hint = "Quote the key: YAML reads bare on/off/yes/no as booleans."
                    found.append(_diag("SPEC_SCHEMA", message, hint, path=path + pointer(str(key))))
                stack.append((child, path + pointer(str(key))))
        elif isinstance(value, list):
            stack.extend((child, path + pointer(i)) for i, child in enumerate(value))
    return found


def _place(result: LoadResult) -> None:
    for diag in result.diagnostics:
        if diag.line is None:
            found = result.locate(diag.path)
            if found:
                diag.line, diag.column = found


_TYPE_NAMES = {
    "string_type": "a string", "bool_type": "a boolean", "int_type": "an integer",
    "int_parsing": "an integer", "float_type": "a number", "float_parsing": "a number",
    "list_type": "a list", "dict_type": "a mapping", "model_type": "a mapping",
    "model_attributes_type": "a mapping", "none_required": "null",
}  # fmt: skip
_KINDS = {
    dict: "a mapping", list: "a list", str: "a string", bool: "a boolean", int: "an integer",
    float: "a number", type(None): "null",
}  # fmt: skip
_TYPE_ALIASES = {
    "str": "string", "int": "integer", "float": "number", "bool": "boolean", "list": "array",
    "dict": "object", "text": "string",
}  # fmt: skip
_MODELS: dict[tuple[str, ...], type[BaseModel]] = {
    (): WorkflowSpec, ("inputs", "*"): InputSpec, ("steps", "*"): StepSpec,
    ("steps", "*", "retry"): RetryPolicy,
}  # fmt: skip
_IDENTIFIER_HINT = (
    "Use letters, digits and underscores, not starting with a digit (e.g. `check_email`)."
)


def _schema_diagnostics(exc: ValidationError, data: Any) -> list[Diagnostic]:
    """One readable SPEC_SCHEMA diagnostic per Pydantic error (union branches merged)."""
    grouped: dict[str, list[tuple[dict[str, Any], list[str | int]]]] = {}
    for error in exc.errors():
        loc = list(error["loc"])
        if loc[-1:] == ["[key]"] and error["type"] == "string_type":
            continue  # reported by `_key_diagnostics`
        grouped.setdefault(pointer(*_data_path(loc, data, error["type"])), []).append((error, loc))
    diags = []
    for path, errors in grouped.items():
        label = ".".join(p.lstrip("/") for p in path.split("/")[1:]) or "the spec"
        error, loc = errors[0]
        kinds = [_TYPE_NAMES.get(e["type"]) for e, _ in errors]
        if len(errors) > 1 and all(kinds):
            names = list(dict.fromkeys(k for k in kinds if k))
            wanted = ", ".join(names[:-1]) + " or " + names[-1] if len(names) > 1 else names[0]
            message, hint = f"{label}: expected {wanted}, got {_kind(error['input'])}", None
        else:
            message, hint = _describe(error, loc, label)
        diags.append(Diagnostic(code="SPEC_SCHEMA", path=path, message=message, hint=hint))
    return diags


def _data_path(loc: list[str | int], data: Any, kind: str) -> list[str | int]:
    """The part of a Pydantic loc that exists in the data (drops union-branch tags)."""
    path: list[str | int] = []
    current = data
    for index, part in enumerate(loc):
        if (isinstance(current, dict) and part in current) or (
            isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current)
        ):
            current = current[part]
        elif part == "[key]":
            return path
        else:
            if kind == "missing" and index == len(loc) - 1:
                path.append(part)
            return path
        path.append(part)
    return path


def _describe(error: dict[str, Any], loc: list[str | int], label: str) -> tuple[str, str | None]:
    kind, value, ctx = error["type"], error["input"], error.get("ctx") or {}
    if kind == "extra_forbidden":
        known = _known_fields(loc[:-1])
        close = difflib.get_close_matches(str(loc[-1]), known, n=1, cutoff=0.6)
        hint = (
            f"Did you mean {close[0]!r}?"
            if close
            else ("Allowed fields: " + ", ".join(known) if known else None)
        )
        return f"extra field {loc[-1]!r} is not allowed", hint
    if kind == "missing":
        return f"missing required field {loc[-1]!r}", None
    if kind == "string_pattern_mismatch" and ctx.get("pattern", "").startswith("^[A-Za-z_]"):
        return f"{label}: {value!r} is not a valid identifier", _IDENTIFIER_HINT
    if kind == "enum" and isinstance(value, str):
        options = [t.value for t in InputType]
        guess = _TYPE_ALIASES.get(value.lower()) or next(
            iter(difflib.get_close_matches(value, options, n=1, cutoff=0.5)), None
        )
        hint = f"Did you mean {guess!r}?" if guess else None
        return f"{label}: {value!r} is not one of {', '.join(options)}", hint
    if kind in _TYPE_NAMES:
        return f"{label}: expected {_TYPE_NAMES[kind]}, got {_kind(value)}", None
    return f"{label}: {error['msg'][0].lower()}{error['msg'][1:]}", None


def _kind(value: Any) -> str:
    return _KINDS.get(type(value), type(value).__name__)


def _known_fields(loc: list[str | int]) -> list[str]:
    """Field names of the spec model at a loc, for did-you-mean hints."""
    shape = tuple("*" if isinstance(p, int) or (i == 1 and loc[0] == "inputs") else str(p)
                  for i, p in enumerate(loc))  # fmt: skip
    model = _MODELS.get(shape)
    return list(model.model_fields) if model else []

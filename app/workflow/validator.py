"""Semantic validation of a workflow spec against a tool catalog (DESIGN §2).

`validate` never raises: every finding is a `Diagnostic` located by JSON pointer, and the text
entry points add line numbers from the loader's pointer map. Types come from the tools' JSON
schemas; anything unknown is trusted, so a diagnostic always points at a real problem.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from app.config import Settings, get_settings
from app.tools.base import Requirement, SideEffect, ToolInfo
from app.tools.registry import Catalog
from app.workflow.analysis import (
    JSON_TYPES,
    MAX_SCHEMA_DEPTH,
    TYPE_LABELS,
    TypedSchema,
    expression_schema,
    find_cycles,
    format_cycle,
    step_dependencies,
    step_expressions,
    strongly_connected,
    types_fit,
)
from app.workflow.diagnostics import Diagnostic, Severity, pointer
from app.workflow.expressions import (
    ROOT_NAMES,
    check,
    collect_strings,
    is_expression,
    references,
    single_expression,
)
from app.workflow.loader import LoadResult, load_spec_file, load_spec_text
from app.workflow.spec import StepSpec, WorkflowSpec

STEP_FIELDS = ("output", "status", "error")
_REQUIREMENTS = {
    Requirement.LLM: ("llm_model", "an LLM", "FLOWWRIGHT_LLM_MODEL (e.g. `openai:gpt-4o-mini`)"),
    Requirement.SMTP: ("smtp_host", "an SMTP server", "FLOWWRIGHT_SMTP_HOST"),
    Requirement.DATABASE: ("sql_url", "a database", "FLOWWRIGHT_SQL_URL"),
}


class ValidationReport(BaseModel):
    """The outcome of validating one source: the spec (when it loaded) and every diagnostic."""

    source: str | None = None
    spec: WorkflowSpec | None = None
    diagnostics: list[Diagnostic] = Field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing has error severity (warnings and infos are allowed)."""
        return not any(d.is_error for d in self.diagnostics)


def validate(
    spec: WorkflowSpec, catalog: Catalog, settings: Settings | None = None
) -> list[Diagnostic]:
    """Every semantic problem of a schema-valid spec, in discovery order (no line numbers)."""
    return _Checker(spec, catalog, settings or get_settings()).run()


def validate_text(
    text: str | bytes,
    catalog: Catalog,
    *,
    fmt: Literal["yaml", "json"] | None = None,
    source: str | None = None,
    settings: Settings | None = None,
) -> ValidationReport:
    """Load then validate spec text; diagnostics carry lines and are sorted by line."""
    settings = settings or get_settings()
    loaded = load_spec_text(text, fmt=fmt, source=source, max_bytes=settings.max_spec_bytes)
    return _report(loaded, catalog, settings)


def validate_file(
    path: str | Path, catalog: Catalog, *, settings: Settings | None = None
) -> ValidationReport:
    """Load then validate a spec file (`-` for stdin); the size limit applies before reading."""
    settings = settings or get_settings()
    return _report(load_spec_file(path, max_bytes=settings.max_spec_bytes), catalog, settings)


def _report(loaded: LoadResult, catalog: Catalog, settings: Settings) -> ValidationReport:
    diagnostics = list(loaded.diagnostics)
    if loaded.spec is not None:
        diagnostics.extend(validate(loaded.spec, catalog, settings))
    for diag in diagnostics:
        if diag.line is None and (found := loaded.locate(diag.path)):
            diag.line, diag.column = found
    diagnostics.sort(key=lambda d: (d.line is None, d.line or 0, d.path))
    return ValidationReport(source=loaded.source, spec=loaded.spec, diagnostics=diagnostics)


def _close(name: str, options: Iterable[str]) -> str | None:
    found = difflib.get_close_matches(name, list(options), n=1, cutoff=0.6)
    return found[0] if found else None


class _Checker:
    """One validation pass; collects diagnostics, defers forward-reference warnings to cycles."""

    def __init__(self, spec: WorkflowSpec, catalog: Catalog, settings: Settings):
        self.spec, self.catalog, self.settings = spec, catalog, settings
        self.index: dict[str, int] = {}
        for i, step in enumerate(spec.steps):
            self.index.setdefault(step.id, i)
        self.diags: list[Diagnostic] = []
        self.edges: dict[tuple[str, str], str] = {}
        self.forward: list[tuple[str, str, str]] = []

    def add(
        self,
        code: str,
        path: str,
        message: str,
        hint: str | None = None,
        severity: Severity = Severity.ERROR,
    ) -> Diagnostic:
        diag = Diagnostic(code=code, severity=severity, path=path, message=message, hint=hint)
        if not any(d.code == code and d.path == path and d.message == message for d in self.diags):
            self.diags.append(diag)
        return diag

    def run(self) -> list[Diagnostic]:
        for i, step in enumerate(self.spec.steps):
            if self.index[step.id] != i:
                first = self.index[step.id]
                self.add(
                    "STEP_DUPLICATE_ID",
                    pointer("steps", i, "id"),
                    f"step id `{step.id}` is already used by step {first + 1}",
                    "Give every step a unique id.",
                )
            self.check_step(i, step)
        for name, value in self.spec.outputs.items():
            for path, text in collect_strings(value):
                self.check_expression(pointer("outputs", name, *path), text, None)
        self.check_cycles()
        return self.diags

    # -- steps ---------------------------------------------------------------------------------

    def check_step(self, i: int, step: StepSpec) -> None:
        base = pointer("steps", i)
        info = self.check_tool(base, step)
        if info is not None:
            self.check_params(base, step, info)
        for j, target in enumerate(step.depends_on):
            self.check_step_ref(pointer("steps", i, "depends_on", j), i, target)
        for rel, text in step_expressions(step):
            self.check_expression(base + rel, text, i)
        if isinstance(step.for_each, str):
            self.check_for_each(base + "/for_each", step)

    def check_tool(self, base: str, step: StepSpec) -> ToolInfo | None:
        path = base + "/tool"
        if step.tool not in self.catalog:
            close = self.catalog.suggest(step.tool)
            hint = f"Did you mean `{close[0]}`?" if close else "See `flowwright tools list`."
            self.add("TOOL_UNKNOWN", path, f"unknown tool `{step.tool}`", hint)
            return None
        info = self.catalog.info(step.tool)
        if info.planning_only:
            self.add(
                "TOOL_PLANNING_ONLY",
                path,
                f"tool `{step.tool}` comes from a planning-only catalog and cannot run",
                "Map it to an executable tool before running the workflow.",
            )
        for requirement in info.requires:
            attr, what, env = _REQUIREMENTS[requirement]
            if not getattr(self.settings, attr, None):
                self.add(
                    "TOOL_NEEDS_CONFIG",
                    path,
                    f"tool `{step.tool}` needs {what}, which is not configured",
                    f"Set {env}.",
                    Severity.WARNING,
                )
        if step.approval and info.side_effect is SideEffect.PURE:
            self.add(
                "APPROVAL_ON_PURE",
                base + "/approval",
                f"`{step.tool}` has no side effects, so approving it protects nothing",
                "Put `approval: true` on the step that writes or sends.",
                Severity.INFO,
            )
        return info

    def check_params(self, base: str, step: StepSpec, info: ToolInfo) -> None:
        schema = TypedSchema.of(info.input_schema)
        known = info.params
        for name in info.required_params:
            if name not in step.params:
                self.add(
                    "PARAM_MISSING",
                    f"{base}/params/{name}",
                    f"`{step.tool}` needs the param `{name}`",
                    f"Add `{name}:` under `params`.",
                )
        open_schema = info.input_schema.get("additionalProperties") not in (None, False)
        for name, value in step.params.items():
            path = base + pointer("params", name)
            if name not in known:
                if not open_schema:
                    close = _close(name, known)
                    hint = (
                        f"Did you mean `{close}`?"
                        if close
                        else ("Accepted params: " + ", ".join(known) if known else None)
                    )
                    self.add("PARAM_UNKNOWN", path, f"`{step.tool}` has no param `{name}`", hint)
                continue
            param = schema.child(known[name])
            if param is not None:
                self.check_value(path, f"param `{name}`", value, param, step, 0)

    def check_value(
        self, path: str, what: str, value: Any, schema: TypedSchema, step: StepSpec, depth: int
    ) -> None:
        """PARAM_TYPE for literals, TYPE_MISMATCH for `{{ path }}` values, recursing into
        literal lists and mappings."""
        if depth > MAX_SCHEMA_DEPTH:
            return
        if value is not None and (solid := schema.solid()) is not schema:
            return self.check_value(path, what, value, solid, step, depth + 1)
        wanted = schema.types()
        if isinstance(value, str) and is_expression(value):
            if single_expression(value) is None:
                if not types_fit({"string"}, wanted):
                    self.add(
                        "PARAM_TYPE",
                        path,
                        f"{what} expects {schema.label()}, but text "
                        "with embedded `{{ }}` always renders to a string",
                        "Make the value exactly one `{{ expression }}`.",
                    )
                return
            produced = expression_schema(self.spec, self.catalog, value, step)
            if produced is not None and not types_fit(produced.types(), wanted):
                self.mismatch(path, what, value, produced, schema)
            return
        kind = JSON_TYPES.get(type(value))
        if kind is not None and not types_fit({kind}, wanted):
            self.add(
                "PARAM_TYPE",
                path,
                f"{what} expects {schema.label()}, got {TYPE_LABELS[kind]} ({value!r:.60})",
            )
            return
        enum = schema.resolved().get("enum")
        if isinstance(enum, list) and value not in enum:
            close = _close(str(value), [str(e) for e in enum])
            self.add(
                "PARAM_TYPE",
                path,
                f"{what} must be one of {', '.join(map(repr, enum))}, got {value!r:.60}",
                f"Did you mean {close!r}?" if close else None,
            )
        elif isinstance(value, list):
            for i, item in enumerate(value):
                if (member := schema.member(i)) is not None:
                    self.check_value(
                        f"{path}/{i}", f"{what} item {i}", item, member, step, depth + 1
                    )
        elif isinstance(value, dict):
            properties = schema.resolved().get("properties") or {}
            for key, item in value.items():
                if key in properties and (member := schema.child(properties[key])):
                    self.check_value(
                        path + pointer(key), f"{what} field `{key}`", item, member, step, depth + 1
                    )

    def mismatch(
        self, path: str, what: str, value: str, produced: TypedSchema, wanted: TypedSchema
    ) -> None:
        expr = single_expression(value) or value
        hint = None
        items = produced.member(0) if produced.types() == {"array"} else None
        if items is not None and types_fit(items.types(), wanted.types()) and "item" not in expr:
            loop = f'for_each: "{{{{ {expr} }}}}"'
            hint = f"To run once per element, set `{loop}` and pass `{{{{ item }}}}`."
        elif produced.types() == {"array"} and wanted.types() == {"string"}:
            hint = f"Join it into text: `{{{{ {expr} | join(', ') }}}}`."
        self.add(
            "TYPE_MISMATCH",
            path,
            f"{what} expects {wanted.label()}, but `{expr}` is {produced.label()}",
            hint,
        )

    def check_for_each(self, path: str, step: StepSpec) -> None:
        value = step.for_each
        assert isinstance(value, str)
        if not is_expression(value) or single_expression(value) is None:
            self.add(
                "TYPE_MISMATCH",
                path,
                "`for_each` needs a list, but this is text",
                'Give a list, or one expression such as `"{{ steps.x.output }}"`.',
            )
            return
        produced = expression_schema(self.spec, self.catalog, value, step)
        if produced is not None and not types_fit(produced.types(), {"array"}):
            expr = single_expression(value)
            self.add(
                "TYPE_MISMATCH",
                path,
                f"`for_each` needs a list, but `{expr}` is {produced.label()}",
            )

    # -- expressions ---------------------------------------------------------------------------

    def check_expression(self, path: str, text: str, i: int | None) -> None:
        issues = check(text)
        for issue in issues:
            self.add(issue.code, path, issue.message, issue.hint)
        if issues:
            return
        step = self.spec.steps[i] if i is not None else None
        params = pointer("steps", i, "params") if i is not None else ""
        in_loop = (
            step is not None
            and step.for_each is not None
            and (path == params or path.startswith(params + "/"))
        )
        for ref in references(text):
            if ref.root == "item":
                if not in_loop:
                    where = "in `outputs`" if step is None else "outside a `for_each` step's params"
                    self.add(
                        "ITEM_OUTSIDE_FOR_EACH",
                        path,
                        f"`item` is used {where}",
                        "`item` exists only in the params of a step with `for_each`; `when` "
                        "decides for the whole step (filter the list with `filter_rows` first).",
                    )
            elif ref.root == "inputs":
                if ref.path and ref.path[0] not in self.spec.inputs:
                    name = str(ref.path[0])
                    close = _close(name, self.spec.inputs)
                    hint = (
                        f"Did you mean `inputs.{close}`?"
                        if close
                        else (f"Declare it under `inputs:` (`{name}: {{type: string}}`).")
                    )
                    self.add("REF_UNKNOWN_INPUT", path, f"unknown input `inputs.{name}`", hint)
            elif ref.root == "steps":
                if ref.path:
                    self.check_step_ref(path, i, str(ref.path[0]), ref.path[1:])
            else:
                close = _close(ref.root, ROOT_NAMES) or _close(ref.root + "s", ROOT_NAMES)
                hint = (
                    f"Did you mean `{close}`?"
                    if close
                    else ("Expressions read `inputs.<name>`, `steps.<id>.output` and `item`.")
                )
                self.add("EXPR_UNKNOWN_VARIABLE", path, f"unknown variable `{ref.root}`", hint)

    def check_step_ref(
        self, path: str, i: int | None, target: str, rest: tuple[str | int, ...] = ()
    ) -> None:
        if target not in self.index:
            close = _close(target, self.index)
            hint = f"Did you mean `{close}`?" if close else "Step ids: " + ", ".join(self.index)
            self.add("REF_UNKNOWN_STEP", path, f"no step has the id `{target}`", hint)
            return
        if rest and rest[0] not in STEP_FIELDS:
            self.add(
                "REF_STEP_FIELD",
                path,
                f"`steps.{target}.{rest[0]}` is not a step field (output, status, error)",
                f"Did you mean `steps.{target}.output.{rest[0]}`?",
            )
        if i is None:
            return
        source = self.spec.steps[i].id
        self.edges.setdefault((source, target), path)
        if self.index[target] > i:
            self.forward.append((source, target, path))

    # -- cycles --------------------------------------------------------------------------------

    def check_cycles(self) -> None:
        deps = step_dependencies(self.spec)
        component: dict[str, int] = {}
        for n, members in enumerate(strongly_connected(deps)):
            component.update(dict.fromkeys(members, n))
        for cycle in find_cycles(deps):
            edge = (cycle[0], cycle[1 % len(cycle)])
            path = self.edges.get(edge, pointer("steps", self.index[cycle[0]]))
            if len(cycle) == 1:
                message = f"step `{cycle[0]}` depends on itself ({format_cycle(cycle)})"
                hint = "A step cannot read its own output; use another step or `item`."
            else:
                message = f"dependency cycle: {format_cycle(cycle)}"
                hint = "Remove one of these references or `depends_on` entries."
            self.add("CYCLE", path, message, hint)
        for source, target, path in self.forward:
            if component.get(source) != component.get(target):
                self.add(
                    "REF_FORWARD_STEP",
                    path,
                    f"step `{source}` uses step `{target}`, which is declared later",
                    f"It still runs after `{target}`; move `{target}` above `{source}` so "
                    "the file reads in execution order.",
                    Severity.WARNING,
                )

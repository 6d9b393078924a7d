"""Semantic checks of a schema-valid data model: names, keys, types, relations, cycles, limits."""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from datetime import date, time
from decimal import Decimal, InvalidOperation
from typing import Any

from app.backend.model import DataModel, EntitySpec, FieldSpec, FieldType, RelationKind
from app.backend.naming import (
    MAX_IDENTIFIER,
    MIXIN_FIELDS,
    PASCAL,
    SNAKE,
    package_problem,
    snake,
    word_problem,
)
from app.backend.ordering import find_cycles
from app.backend.resolve import (
    COMPLEMENT,
    Resolved,
    counterpart,
    primary_key,
    ref_target,
    resolve,
    table_name,
)
from app.workflow.diagnostics import Diagnostic, Severity, pointer

PK_TYPES = {FieldType.INTEGER, FieldType.BIGINT, FieldType.UUID, FieldType.STRING}
_ID_HINT = "Use snake_case: lowercase letters, digits and underscores (e.g. `order_item`)."


def _d(code: str, path: str, message: str, hint: str | None = None, *, warn: bool = False) -> Any:
    severity = Severity.WARNING if warn else Severity.ERROR
    return Diagnostic(code=code, path=path, message=message, hint=hint, severity=severity)


def semantic_diagnostics(model: DataModel) -> list[Diagnostic]:
    """All findings in document order (names first, then keys, types, relations, cycles)."""
    out = list(_limits(model)) + list(_project(model))
    seen_entities: dict[str, int] = {}
    seen_tables: dict[str, int] = {}
    for i, entity in enumerate(model.entities):
        at = pointer("entities", i)
        out += _name(entity.name, at + "/name", pascal_case=True)
        table = table_name(entity)
        out += _name(table, at + ("/table" if entity.table else "/name"))
        for registry, key, what in (
            (seen_entities, entity.name, "entity"),
            (seen_tables, table, "table"),
        ):
            if key in registry:
                out.append(
                    _d(
                        "MODEL_DUPLICATE",
                        at,
                        f"duplicate {what} name {key!r}",
                        f"Also used by entities[{registry[key]}]; rename one.",
                    )
                )
            registry[key] = i
        out += _entity(model, entity, at)
    for cycle in find_cycles(model, required_only=True):
        names = " → ".join([*cycle, cycle[0]])
        out.append(
            _d(
                "MODEL_FK_CYCLE",
                "",
                f"required foreign keys form a cycle: {names}",
                "Make one foreign key in the cycle nullable so rows can be created.",
            )
        )
    return out


def _limits(model: DataModel) -> Iterator[Diagnostic]:
    lim = model.limits
    if len(model.entities) > lim.max_entities:
        yield _d(
            "MODEL_LIMIT",
            "/entities",
            f"{len(model.entities)} entities; the limit is {lim.max_entities}",
            "Split the model or raise limits.max_entities.",
        )
    if not model.entities:
        yield _d("MODEL_EMPTY", "/entities", "the model has no entities", "Add an entity.")
    for i, e in enumerate(model.entities):
        if len(e.fields) > lim.max_fields:
            yield _d(
                "MODEL_LIMIT",
                pointer("entities", i, "fields"),
                f"{e.name} has {len(e.fields)} fields; the limit is {lim.max_fields}",
            )
        if len(e.relations) > lim.max_relations:
            yield _d(
                "MODEL_LIMIT",
                pointer("entities", i, "relations"),
                f"{e.name} has {len(e.relations)} relations; the limit is {lim.max_relations}",
            )


def _project(model: DataModel) -> Iterator[Diagnostic]:
    package = snake(model.name)
    problem = package_problem(package) if package else "is empty"
    if problem:
        yield _d(
            "MODEL_NAME",
            "/name",
            f"project name {model.name!r}: package {package!r} {problem}",
            "Choose another name, e.g. `blog_api`.",
        )


def _name(
    name: str, path: str, *, pascal_case: bool = False, attribute: bool = False
) -> list[Diagnostic]:
    """Identifier checks; `attribute` names (relations) never reach SQL, so SQL words are fine."""
    if pascal_case:
        if not PASCAL.match(name):
            return [
                _d(
                    "MODEL_IDENTIFIER",
                    path,
                    f"entity name {name!r} is not PascalCase",
                    "Use letters and digits starting upper-case, e.g. `OrderItem`.",
                )
            ]
        return []
    if not SNAKE.match(name):
        return [_d("MODEL_IDENTIFIER", path, f"{name!r} is not a snake_case identifier", _ID_HINT)]
    if len(name) > MAX_IDENTIFIER:
        return [
            _d(
                "MODEL_IDENTIFIER",
                path,
                f"{name!r} is longer than {MAX_IDENTIFIER} characters",
                "PostgreSQL truncates long identifiers; shorten it.",
            )
        ]
    problem = word_problem(name)
    if problem and not (
        attribute
        and problem != "is a Python keyword"
        and name not in ("metadata", "registry")
        and not name.startswith(("model_", "_"))
    ):
        return [
            _d(
                "MODEL_RESERVED",
                path,
                f"{name!r} {problem}",
                f"Rename it, e.g. `{name}_value` or `{name}_name`.",
            )
        ]
    return []


def _entity(model: DataModel, entity: EntitySpec, at: str) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    names: dict[str, str] = {}
    for mixin, cols in MIXIN_FIELDS.items():
        if getattr(entity, mixin):
            names.update(dict.fromkeys(cols, f"the {mixin} mixin"))
    for j, f in enumerate(entity.fields):
        fp = at + pointer("fields", j)
        out += _name(f.name, fp + "/name")
        if f.name in names:
            out.append(
                _d(
                    "MODEL_DUPLICATE",
                    fp + "/name",
                    f"{entity.name}.{f.name} is already defined by {names[f.name]}",
                    "Rename or remove one.",
                )
            )
        names.setdefault(f.name, f"field {f.name}")
        out += _field(model, entity, f, fp)
    keys = [f for f in entity.fields if f.primary_key]
    if len(keys) != 1:
        what = "no primary key" if not keys else f"{len(keys)} primary keys"
        out.append(
            _d(
                "MODEL_PRIMARY_KEY",
                at + "/fields",
                f"{entity.name} has {what}",
                "Give exactly one field `primary_key: true`, e.g. `id: integer`.",
            )
        )
    for k, rel in enumerate(entity.relations):
        rp = at + pointer("relations", k)
        out += _name(rel.name, rp + "/name", attribute=True)
        if rel.name in names:
            out.append(
                _d(
                    "MODEL_DUPLICATE",
                    rp + "/name",
                    f"{entity.name}.{rel.name} is already defined by {names[rel.name]}",
                    "Rename the relation.",
                )
            )
        names.setdefault(rel.name, f"relation {rel.name}")
        out += _relation(model, entity, k, rp)
    return out


def _field(model: DataModel, entity: EntitySpec, f: FieldSpec, fp: str) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    label = f"{entity.name}.{f.name}"
    if f.primary_key:
        if f.type not in PK_TYPES:
            out.append(
                _d(
                    "MODEL_PRIMARY_KEY",
                    fp + "/type",
                    f"{label}: a {f.type} primary key is not supported",
                    "Use integer, bigint, uuid or string.",
                )
            )
        if f.nullable:
            out.append(
                _d(
                    "MODEL_PRIMARY_KEY",
                    fp + "/nullable",
                    f"{label}: a primary key cannot be null; `nullable: true` is ignored",
                    warn=True,
                )
            )
    if f.type == FieldType.ENUM:
        vals = f.values or []
        if not vals:
            out.append(
                _d(
                    "MODEL_ENUM",
                    fp,
                    f"{label}: an enum needs `values`",
                    "List the allowed values, e.g. `values: [draft, published]`.",
                )
            )
        elif len(set(vals)) != len(vals) or any(not v.strip() for v in vals):
            out.append(
                _d(
                    "MODEL_ENUM",
                    fp + "/values",
                    f"{label}: enum values must be unique and non-empty",
                )
            )
        elif any(len(v) > 63 for v in vals):
            out.append(
                _d(
                    "MODEL_ENUM",
                    fp + "/values",
                    f"{label}: enum values are limited to 63 characters",
                )
            )
    elif f.values is not None:
        out.append(
            _d(
                "MODEL_FIELD_OPTION",
                fp + "/values",
                f"{label}: `values` is only for enum fields",
                "Set `type: enum` or remove `values`.",
            )
        )
    if f.length is not None and f.type != FieldType.STRING:
        out.append(
            _d("MODEL_FIELD_OPTION", fp + "/length", f"{label}: `length` is only for string fields")
        )
    if f.length is not None and not 1 <= f.length <= model.limits.max_string_length:
        out.append(
            _d(
                "MODEL_LIMIT",
                fp + "/length",
                f"{label}: length {f.length} is outside 1..{model.limits.max_string_length}",
            )
        )
    if (f.precision is not None or f.scale is not None) and f.type != FieldType.DECIMAL:
        out.append(_d("MODEL_FIELD_OPTION", fp, f"{label}: precision/scale are only for decimal"))
    if f.type == FieldType.DECIMAL:
        p, s = f.precision or 12, f.scale if f.scale is not None else 2
        if not (1 <= p <= 1000 and 0 <= s <= p):
            out.append(
                _d(
                    "MODEL_FIELD_OPTION",
                    fp,
                    f"{label}: need 1 ≤ precision ≤ 1000 and 0 ≤ scale ≤ precision (got {p}, {s})",
                )
            )
    if f.unique and f.type in (FieldType.JSON, FieldType.BOOLEAN):
        out.append(
            _d(
                "MODEL_FIELD_OPTION",
                fp + "/unique",
                f"{label}: a {f.type} field cannot be unique",
                "Remove `unique`.",
            )
        )
    if f.default is not None:
        problem = default_problem(f)
        if problem:
            out.append(_d("MODEL_DEFAULT", fp + "/default", f"{label}: {problem}"))
    if f.references or f.on_delete:
        out += _foreign_key(model, entity, f, fp)
    return out


def default_problem(f: FieldSpec) -> str | None:
    """Why `f.default` does not fit the field's type, or None."""
    v = f.default
    t = f.type
    if f.primary_key:
        return "a primary key cannot have a default (it is generated)"
    ok = {
        FieldType.STRING: isinstance(v, str) and (f.length is None or len(v) <= f.length),
        FieldType.TEXT: isinstance(v, str),
        FieldType.INTEGER: type(v) is int and -(2**31) <= v < 2**31,
        FieldType.BIGINT: type(v) is int and -(2**63) <= v < 2**63,
        FieldType.FLOAT: type(v) in (int, float),
        FieldType.BOOLEAN: type(v) is bool,
        FieldType.ENUM: v in (f.values or []),
        FieldType.JSON: v in ({}, []),
        FieldType.UUID: v == "uuid4",
        FieldType.DATETIME: v == "now",
        FieldType.DATE: _parses(date.fromisoformat, v),
        FieldType.TIME: _parses(time.fromisoformat, v),
        FieldType.DECIMAL: type(v) in (int, str, float) and _parses(Decimal, str(v)),
    }[t]
    if ok:
        return None
    wanted = {
        FieldType.JSON: "{} or []",
        FieldType.UUID: '"uuid4"',
        FieldType.DATETIME: '"now"',
        FieldType.ENUM: "one of the enum values",
    }.get(t, f"a {t} value")
    return f"default {v!r} is not {wanted}"


def _parses(parse: Any, value: Any) -> bool:
    try:
        parse(value)
    except (TypeError, ValueError, InvalidOperation):
        return False
    return isinstance(value, str) or parse is Decimal


def _foreign_key(model: DataModel, entity: EntitySpec, f: FieldSpec, fp: str) -> list[Diagnostic]:
    label = f"{entity.name}.{f.name}"
    if not f.references:
        return [
            _d("MODEL_FIELD_OPTION", fp + "/on_delete", f"{label}: `on_delete` needs `references`")
        ]
    hit = ref_target(model, f)
    if hit is None:
        name, _, col = f.references.partition(".")
        target = model.entity(name) or next(
            (e for e in model.entities if table_name(e) == name), None
        )
        if target is None:
            close = difflib.get_close_matches(name, [e.name for e in model.entities], n=1)
            hint = f"Did you mean {close[0]!r}?" if close else "Write `references: Entity.field`."
            return [
                _d(
                    "MODEL_FOREIGN_KEY",
                    fp + "/references",
                    f"{label} references unknown entity {name!r}",
                    hint,
                )
            ]
        return [
            _d(
                "MODEL_FOREIGN_KEY",
                fp + "/references",
                f"{label} references {target.name}.{col}, which does not exist",
                "Reference the target's primary key, e.g. "
                f"`{target.name}.{(primary_key(target) or f).name}`.",
            )
        ]
    target, tf = hit
    out = []
    if not (tf.primary_key or tf.unique):
        out.append(
            _d(
                "MODEL_FOREIGN_KEY",
                fp + "/references",
                f"{label} references "
                f"{target.name}.{tf.name}, which is neither a primary key nor unique",
            )
        )
    if tf.type != f.type or (f.type == FieldType.STRING and (f.length or 255) < (tf.length or 255)):
        out.append(
            _d(
                "MODEL_FK_TYPE",
                fp + "/type",
                f"{label} is {f.type} but {target.name}.{tf.name} is {tf.type}",
                f"Declare it `type: {tf.type}`"
                + (f" with length {tf.length}" if tf.length else "")
                + ".",
            )
        )
    if f.on_delete == "SET NULL" and not f.is_nullable:
        out.append(
            _d(
                "MODEL_FOREIGN_KEY",
                fp + "/on_delete",
                f"{label}: ON DELETE SET NULL needs a nullable field",
                "Set `nullable: true` or use CASCADE.",
            )
        )
    return out


def _relation(model: DataModel, entity: EntitySpec, k: int, rp: str) -> list[Diagnostic]:
    rel = entity.relations[k]
    label = f"{entity.name}.{rel.name}"
    target = model.entity(rel.target)
    if target is None:
        close = difflib.get_close_matches(rel.target, [e.name for e in model.entities], n=1)
        hint = f"Did you mean {close[0]!r}?" if close else None
        return [
            _d(
                "MODEL_RELATION",
                rp + "/target",
                f"{label}: unknown target entity {rel.target!r}",
                hint,
            )
        ]
    out = []
    if rel.kind == RelationKind.MANY_TO_MANY and target.name == entity.name:
        out.append(
            _d(
                "MODEL_RELATION",
                rp,
                f"{label}: a self-referencing many-to-many is not supported",
                "Model the link as its own entity with two foreign keys.",
            )
        )
    if rel.back_populates:
        other = counterpart(model, entity, rel)
        if other is None:
            out.append(
                _d(
                    "MODEL_RELATION_PAIR",
                    rp + "/back_populates",
                    f"{label}: {target.name} has no relation {rel.back_populates!r}",
                    f"Add it to {target.name} or remove `back_populates`.",
                )
            )
        elif other.target != entity.name or other.back_populates not in (None, rel.name):
            out.append(
                _d(
                    "MODEL_RELATION_PAIR",
                    rp + "/back_populates",
                    f"{label} and {target.name}.{other.name} do not point at each other",
                    f"Set {target.name}.{other.name}.back_populates: {rel.name}.",
                )
            )
        elif COMPLEMENT[rel.kind] != other.kind:
            out.append(
                _d(
                    "MODEL_RELATION_PAIR",
                    rp + "/kind",
                    f"{label} is {rel.kind} but {target.name}.{other.name} is {other.kind}",
                    f"The other side should be {COMPLEMENT[rel.kind]}.",
                )
            )
        elif (
            rel.kind == RelationKind.MANY_TO_MANY
            and rel.through
            and other.through
            and (rel.through != other.through)
        ):
            out.append(
                _d(
                    "MODEL_RELATION_PAIR",
                    rp + "/through",
                    f"{label}: association tables differ ({rel.through} vs {other.through})",
                )
            )
    if rel.through and rel.kind != RelationKind.MANY_TO_MANY:
        out.append(
            _d(
                "MODEL_FIELD_OPTION",
                rp + "/through",
                f"{label}: `through` is only for many_to_many",
            )
        )
    if rel.through:
        out += _name(rel.through, rp + "/through")
        if rel.through in {table_name(e) for e in model.entities}:
            out.append(
                _d(
                    "MODEL_DUPLICATE",
                    rp + "/through",
                    f"{label}: association table {rel.through!r} is also an entity's table",
                )
            )
    resolved = resolve(model, entity, rel)
    if isinstance(resolved, str):
        fk = f"{snake(target.name)}_id"
        hint = (
            f"Add a field `{fk}` with `references: {target.name}."
            f"{(primary_key(target) or FieldSpec(name='id', type='integer')).name}`"
            if rel.kind == RelationKind.MANY_TO_ONE
            else "Add the foreign key field on the many side, or set `foreign_key`."
        )
        out.append(_d("MODEL_RELATION_FK", rp, f"{label}: {resolved}", hint))
    elif isinstance(resolved, Resolved) and rel.kind == RelationKind.ONE_TO_ONE:
        holder = model.entity(resolved.fk_entity or "")
        fkf = next(
            (f for f in (holder.fields if holder else []) if f.name == resolved.fk_field), None
        )
        if fkf is not None and not (fkf.unique or fkf.primary_key):
            out.append(
                _d(
                    "MODEL_RELATION_FK",
                    rp,
                    f"{label}: one-to-one needs a unique foreign "
                    f"key; {holder.name if holder else ''}.{fkf.name} is not unique",
                    "Add `unique: true` to the foreign key field.",
                )
            )
    return out

"""Relation resolution: which field holds each relation's foreign key, and association tables.

Shared by the validator (which reports what cannot be resolved) and the renderer (which needs the
resolved facts), so both read the model the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.backend.model import DataModel, EntitySpec, FieldSpec, RelationKind, RelationSpec
from app.backend.naming import plural, singular, snake

COMPLEMENT = {
    RelationKind.ONE_TO_MANY: RelationKind.MANY_TO_ONE,
    RelationKind.MANY_TO_ONE: RelationKind.ONE_TO_MANY,
    RelationKind.ONE_TO_ONE: RelationKind.ONE_TO_ONE,
    RelationKind.MANY_TO_MANY: RelationKind.MANY_TO_MANY,
}


@dataclass(frozen=True)
class Association:
    """A many-to-many association table between two entities' primary keys."""

    table: str
    left: str  # entity names
    right: str
    left_column: str
    right_column: str


@dataclass(frozen=True)
class Resolved:
    """A relation with its foreign key located: `fk_entity.fk_field` (None for many-to-many)."""

    entity: str
    spec: RelationSpec
    fk_entity: str | None = None
    fk_field: str | None = None
    association: Association | None = None

    @property
    def owning(self) -> bool:
        """True when the foreign key column lives on this relation's own entity."""
        return self.fk_entity == self.entity and self.spec.kind != RelationKind.ONE_TO_MANY


def table_name(entity: EntitySpec) -> str:
    return entity.table or plural(snake(entity.name))


def primary_key(entity: EntitySpec) -> FieldSpec | None:
    return next((f for f in entity.fields if f.primary_key), None)


def ref_target(model: DataModel, field: FieldSpec) -> tuple[EntitySpec, FieldSpec] | None:
    """The (entity, field) a `references: Entity.field` (or `table.column`) points at."""
    if not field.references:
        return None
    name, _, col = field.references.partition(".")
    entity = model.entity(name) or next((e for e in model.entities if table_name(e) == name), None)
    if entity is None:
        return None
    target = next((f for f in entity.fields if f.name == (col or "")), None)
    if target is None and not col:
        target = primary_key(entity)
    return (entity, target) if target else None


def fk_fields_to(model: DataModel, source: EntitySpec, target: EntitySpec) -> list[FieldSpec]:
    found = []
    for f in source.fields:
        hit = ref_target(model, f)
        if hit and hit[0].name == target.name:
            found.append(f)
    return found


def counterpart(model: DataModel, entity: EntitySpec, rel: RelationSpec) -> RelationSpec | None:
    target = model.entity(rel.target)
    if target is None or not rel.back_populates:
        return None
    return next((r for r in target.relations if r.name == rel.back_populates), None)


def resolve(model: DataModel, entity: EntitySpec, rel: RelationSpec) -> Resolved | str:
    """The resolved relation, or a message saying why its foreign key cannot be found."""
    target = model.entity(rel.target)
    if target is None:
        return f"unknown target entity {rel.target!r}"
    if rel.kind == RelationKind.MANY_TO_MANY:
        return Resolved(entity.name, rel, association=association(model, entity, rel, target))
    other = counterpart(model, entity, rel)
    own = fk_fields_to(model, entity, target)
    theirs = fk_fields_to(model, target, entity)
    if rel.kind == RelationKind.MANY_TO_ONE or (
        rel.kind == RelationKind.ONE_TO_ONE
        and (
            _named(own, rel.foreign_key)
            or (
                own
                and not rel.foreign_key
                and not (other is not None and _named(theirs, other.foreign_key))
            )
        )
    ):
        holder, candidates, hint = entity, own, rel.foreign_key
    else:
        holder, candidates = target, theirs
        hint = rel.foreign_key or (other.foreign_key if other is not None else None)
        if entity.name == target.name and other is not None:
            hint = hint or (other.foreign_key if other.foreign_key else None)
    chosen = _pick(candidates, hint)
    if chosen is None:
        where = f"{holder.name}.{hint}" if hint else f"a field of {holder.name}"
        if hint and _named(holder.fields, hint) is None:
            return f"foreign key field {where} does not exist"
        if not candidates or hint:
            return (
                f"no foreign key to {entity.name if holder is target else target.name} in {where}"
            )
        names = ", ".join(f.name for f in candidates)
        return f"several foreign keys could hold it ({names}); set `foreign_key`"
    return Resolved(entity.name, rel, fk_entity=holder.name, fk_field=chosen.name)


def _named(fields: list[FieldSpec], name: str | None) -> FieldSpec | None:
    return next((f for f in fields if f.name == name), None) if name else None


def _pick(candidates: list[FieldSpec], name: str | None) -> FieldSpec | None:
    if name:
        return _named(candidates, name)
    return candidates[0] if len(candidates) == 1 else None


def association(
    model: DataModel, entity: EntitySpec, rel: RelationSpec, target: EntitySpec
) -> Association:
    """The association table of a many-to-many relation, named the same from both sides."""
    other = counterpart(model, entity, rel)
    a, b = sorted([entity, target], key=lambda e: table_name(e))
    name = rel.through or (other.through if other is not None else None)
    name = name or f"{table_name(a)}_{table_name(b)}"
    return Association(
        table=name,
        left=a.name,
        right=b.name,
        left_column=singular(table_name(a)) + "_id",
        right_column=singular(table_name(b)) + "_id",
    )


def resolve_all(model: DataModel) -> tuple[dict[tuple[str, str], Resolved], list[Association]]:
    """Every resolvable relation by (entity, relation name), and the distinct association tables."""
    resolved: dict[tuple[str, str], Resolved] = {}
    tables: dict[str, Association] = {}
    for entity in model.entities:
        for rel in entity.relations:
            r = resolve(model, entity, rel)
            if isinstance(r, Resolved):
                resolved[(entity.name, rel.name)] = r
                if r.association is not None:
                    tables.setdefault(r.association.table, r.association)
    return resolved, list(tables.values())

"""BackBone-AI schema format → Flowwright data model.

BackBone-AI describes tables (`table_name`, `class_name`, `columns`, `relationships`, `options`)
where a relationship's `back_populates` names the attribute on the *target*; the attribute on the
declaring side is the counterpart's `back_populates`. Foreign keys are `type: ForeignKey` columns
typed by their target. The converter keeps a map from converted JSON pointers to the source's,
so diagnostics point at the user's file.
"""

from __future__ import annotations

from typing import Any

from app.backend.naming import pascal, singular, snake
from app.workflow.diagnostics import pointer

_TYPES = {
    "integer": "integer",
    "int": "integer",
    "biginteger": "bigint",
    "bigint": "bigint",
    "smallinteger": "integer",
    "string": "string",
    "varchar": "string",
    "text": "text",
    "float": "float",
    "double": "float",
    "numeric": "decimal",
    "decimal": "decimal",
    "boolean": "boolean",
    "bool": "boolean",
    "date": "date",
    "datetime": "datetime",
    "timestamp": "datetime",
    "time": "time",
    "uuid": "uuid",
    "json": "json",
    "jsonb": "json",
    "enum": "enum",
}
_COPIED = (
    "primary_key",
    "unique",
    "index",
    "nullable",
    "default",
    "length",
    "precision",
    "scale",
    "values",
    "description",
)
_COMPLEMENT = {
    "one_to_many": "many_to_one",
    "many_to_one": "one_to_many",
    "one_to_one": "one_to_one",
    "many_to_many": "many_to_many",
}


def is_backbone(data: Any) -> bool:
    """BackBone-AI documents have a `schema` list of tables with `table_name`."""
    return (
        isinstance(data, dict)
        and isinstance(data.get("schema"), list)
        and "entities" not in data
        and all(isinstance(t, dict) and "table_name" in t for t in data["schema"])
    )


def convert(data: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """(Flowwright model data, converted pointer → source pointer)."""
    tables: list[dict[str, Any]] = data["schema"]
    classes = {
        t["table_name"]: t.get("class_name") or pascal(singular(t["table_name"])) for t in tables
    }
    by_table = {t["table_name"]: t for t in tables}
    pointers: dict[str, str] = {"/name": "/project_name", "/database": "/db_type"}
    entities = []
    for ti, table in enumerate(tables):
        src = pointer("schema", ti)
        pointers[pointer("entities", ti)] = src
        options = table.get("options") or {}
        fields = []
        for ci, column in enumerate(table.get("columns") or []):
            pointers[pointer("entities", ti, "fields", ci)] = src + pointer("columns", ci)
            fields.append(_field(column, by_table, classes))
        relations = []
        for ri, rel in enumerate(table.get("relationships") or []):
            pointers[pointer("entities", ti, "relations", ri)] = src + pointer("relationships", ri)
            relations.append(_relation(table, rel, by_table, classes))
        entity: dict[str, Any] = {
            "name": classes[table["table_name"]],
            "table": table["table_name"],
            "fields": fields,
            "relations": relations,
            "timestamps": bool(options.get("use_timestamps", False)),
            "soft_delete": bool(options.get("use_soft_delete", False)),
        }
        if table.get("description"):
            entity["description"] = table["description"]
        entities.append(entity)
    model: dict[str, Any] = {
        "flowwright_model": "1",
        "name": data.get("project_name") or "backend",
        "database": "sqlite" if str(data.get("db_type", "")).lower() == "sqlite" else "postgresql",
        "entities": entities,
    }
    if data.get("description"):
        model["description"] = data["description"]
    return model, pointers


def _field(column: dict[str, Any], by_table: dict[str, Any], classes: dict[str, str]) -> Any:
    out = {k: column[k] for k in _COPIED if k in column}
    out["name"] = column.get("name")
    kind = str(column.get("type", "")).replace("_", "").lower()
    if kind == "foreignkey":
        target = str(column.get("target", ""))
        table_name, _, col = target.partition(".")
        target_col = next(
            (
                c
                for c in (by_table.get(table_name) or {}).get("columns", [])
                if c.get("name") == (col or "id")
            ),
            None,
        )
        ttype = str((target_col or {}).get("type", "Integer")).lower()
        out["type"] = _TYPES.get(ttype, "integer")
        out["references"] = f"{classes.get(table_name, pascal(singular(table_name)))}.{col or 'id'}"
        if column.get("on_delete"):
            out["on_delete"] = str(column["on_delete"]).upper().replace("_", " ")
    else:
        out["type"] = _TYPES.get(kind, str(column.get("type", "")).lower())
    return out


def _relation(
    table: dict[str, Any], rel: dict[str, Any], by_table: dict[str, Any], classes: dict[str, str]
) -> dict[str, Any]:
    kind = str(rel.get("type", "")).lower()
    target_table = str(rel.get("target_table", ""))
    target = rel.get("target_class") or classes.get(target_table) or pascal(singular(target_table))
    counterpart = _counterpart(table, rel, by_table.get(target_table))
    if counterpart is not None and counterpart.get("back_populates"):
        name = counterpart["back_populates"]
    else:
        name = (
            snake(target_table)
            if kind in ("one_to_many", "many_to_many")
            else singular(snake(target_table))
        )
    out: dict[str, Any] = {"name": name, "kind": kind, "target": target}
    if counterpart is not None and rel.get("back_populates"):
        out["back_populates"] = rel["back_populates"]
    for key in ("foreign_key", "description"):
        if rel.get(key):
            out[key] = rel[key]
    if rel.get("secondary") or rel.get("association_table"):
        out["through"] = rel.get("secondary") or rel.get("association_table")
    return out


def _counterpart(
    table: dict[str, Any], rel: dict[str, Any], target: dict[str, Any] | None
) -> dict[str, Any] | None:
    """The target's relationship back to `table` of the complementary kind (paired in order)."""
    if target is None:
        return None
    kind = _COMPLEMENT.get(str(rel.get("type", "")).lower())
    mine = [
        r
        for r in table.get("relationships") or []
        if r.get("target_table") == target["table_name"] and r.get("type") == rel.get("type")
    ]
    theirs = [
        r
        for r in target.get("relationships") or []
        if r.get("target_table") == table["table_name"] and r.get("type") == kind
    ]
    index = next((i for i, r in enumerate(mine) if r is rel), 0)
    return theirs[index] if index < len(theirs) else None

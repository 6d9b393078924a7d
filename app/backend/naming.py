"""Names: snake/Pascal case, plural/singular, and the words generated code cannot use."""

from __future__ import annotations

import keyword
import re

SNAKE = re.compile(r"^[a-z][a-z0-9_]*$")
PASCAL = re.compile(r"^[A-Z][A-Za-z0-9]*$")
MAX_IDENTIFIER = 63  # PostgreSQL truncates longer identifiers (enum type names included)

# SQL reserved words (SQL:2016 core ∪ PostgreSQL reserved ∪ SQLite keywords that break DDL).
SQL_RESERVED = frozenset(
    [
        "all",
        "analyse",
        "analyze",
        "and",
        "any",
        "array",
        "as",
        "asc",
        "asymmetric",
        "authorization",
        "between",
        "binary",
        "both",
        "case",
        "cast",
        "check",
        "collate",
        "column",
        "constraint",
        "create",
        "cross",
        "current_date",
        "current_role",
        "current_time",
        "current_timestamp",
        "current_user",
        "default",
        "deferrable",
        "desc",
        "distinct",
        "do",
        "else",
        "end",
        "except",
        "false",
        "fetch",
        "for",
        "foreign",
        "freeze",
        "from",
        "full",
        "grant",
        "group",
        "having",
        "ilike",
        "in",
        "initially",
        "inner",
        "intersect",
        "into",
        "is",
        "isnull",
        "join",
        "lateral",
        "leading",
        "left",
        "like",
        "limit",
        "localtime",
        "localtimestamp",
        "natural",
        "not",
        "notnull",
        "null",
        "offset",
        "on",
        "only",
        "or",
        "order",
        "outer",
        "overlaps",
        "placing",
        "primary",
        "references",
        "returning",
        "right",
        "select",
        "session_user",
        "similar",
        "some",
        "symmetric",
        "table",
        "tablesample",
        "then",
        "to",
        "trailing",
        "true",
        "union",
        "unique",
        "user",
        "using",
        "variadic",
        "verbose",
        "when",
        "where",
        "window",
        "with",
    ]
)
# Names the generated modules use for their own purposes (SQLAlchemy declarative attributes,
# router parameters and locals, Pydantic internals).
GENERATED_RESERVED = frozenset(
    [
        "metadata",
        "registry",
        "query",
        "db",
        "sa",
        "stmt",
        "matched",
        "rows",
        "model_config",
        "model_fields",
        "self",
        "cls",
        "type_annotation_map",
        "datetime",
        "decimal",
        "uuid",
        "enum",
        "typing",
        "offset",
        "limit",
    ]
)
SOFT_KEYWORDS = frozenset(keyword.softkwlist)
MIXIN_FIELDS = {"timestamps": ("created_at", "updated_at"), "soft_delete": ("deleted_at",)}

_IRREGULAR = {
    "person": "people",
    "child": "children",
    "man": "men",
    "woman": "women",
    "mouse": "mice",
    "goose": "geese",
    "tooth": "teeth",
    "foot": "feet",
    "datum": "data",
    "criterion": "criteria",
    "staff": "staff",
    "equipment": "equipment",
    "information": "information",
    "series": "series",
    "species": "species",
    "news": "news",
    "media": "media",
    "inventory": "inventories",
}
_IRREGULAR_SINGULAR = {v: k for k, v in _IRREGULAR.items()}


def snake(name: str) -> str:
    """`OrderItem` / `order item` / `Order-Item` → `order_item`."""
    name = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name.strip())
    name = re.sub(r"[^A-Za-z0-9]+", "_", name).strip("_").lower()
    return re.sub(r"_+", "_", name)


def pascal(name: str) -> str:
    """`order_item` / `order items` → `OrderItem`."""
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[^A-Za-z0-9]+", name) if part)


def plural(word: str) -> str:
    """English plural of the last word of a snake_case name."""
    head, _, last = word.rpartition("_")
    prefix = head + "_" if head else ""
    if last in _IRREGULAR:
        return prefix + _IRREGULAR[last]
    if last in _IRREGULAR_SINGULAR:
        return word
    if re.search(r"[^aeiou]y$", last):
        return prefix + last[:-1] + "ies"
    if re.search(r"(s|x|z|ch|sh)$", last):
        return prefix + last + "es"
    return prefix + last + "s"


def singular(word: str) -> str:
    """English singular of the last word of a snake_case name (inverse of `plural`)."""
    head, _, last = word.rpartition("_")
    prefix = head + "_" if head else ""
    if last in _IRREGULAR_SINGULAR:
        return prefix + _IRREGULAR_SINGULAR[last]
    if last in _IRREGULAR or last.endswith(("ss", "us", "is")):
        return word
    if last.endswith("ies") and len(last) > 4:
        return prefix + last[:-3] + "y"
    if re.search(r"(xes|zes|ches|shes|sses|uses)$", last):
        return prefix + last[:-2]
    if last.endswith("s") and len(last) > 2:
        return prefix + last[:-1]
    return word


def word_problem(name: str) -> str | None:
    """Why `name` cannot be a column/table/attribute name in generated code, or None."""
    if keyword.iskeyword(name) or name in SOFT_KEYWORDS:
        return "is a Python keyword"
    if name in SQL_RESERVED:
        return "is a reserved SQL word"
    if name in GENERATED_RESERVED or name.startswith(("model_", "_")):
        return "is used by the generated code"
    return None


PACKAGE_RESERVED = frozenset(
    [
        "app",
        "tests",
        "migrations",
        "alembic",
        "fastapi",
        "sqlalchemy",
        "pydantic",
        "starlette",
        "httpx",
        "pytest",
    ]
)


def package_problem(name: str) -> str | None:
    """Why `name` cannot name the generated Python package, or None."""
    import sys

    if not SNAKE.match(name):
        return "is not a snake_case identifier"
    if name in PACKAGE_RESERVED or name in sys.stdlib_module_names:
        return "would shadow an installed or standard module"
    return word_problem(name)

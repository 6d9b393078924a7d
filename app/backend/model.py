"""The backend data model (input of the backend target) and its exported JSON Schema.

The Pydantic classes only check shape; cross-references (foreign keys, relation pairs, names,
limits) are checked by `app.backend.validator`, which reports diagnostics instead of raising.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

MODEL_VERSION = "1"


class FieldType(StrEnum):
    STRING = "string"
    TEXT = "text"
    INTEGER = "integer"
    BIGINT = "bigint"
    FLOAT = "float"
    DECIMAL = "decimal"
    BOOLEAN = "boolean"
    DATE = "date"
    DATETIME = "datetime"
    TIME = "time"
    UUID = "uuid"
    JSON = "json"
    ENUM = "enum"


class RelationKind(StrEnum):
    ONE_TO_MANY = "one_to_many"
    MANY_TO_ONE = "many_to_one"
    ONE_TO_ONE = "one_to_one"
    MANY_TO_MANY = "many_to_many"


OnDelete = Literal["CASCADE", "SET NULL", "RESTRICT", "NO ACTION"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FieldSpec(_Strict):
    """One column. `references: "Entity.field"` makes it a foreign key typed like its target."""

    name: str
    type: FieldType
    primary_key: bool = False
    unique: bool = False
    index: bool = False
    nullable: bool | None = Field(None, description="Default: false for keys, true otherwise.")
    default: Any = None
    length: int | None = Field(None, description="Maximum length of a string field.")
    precision: int | None = None
    scale: int | None = None
    values: list[str] | None = Field(None, description="Allowed values of an enum field.")
    references: str | None = Field(None, description="Foreign key target: `Entity.field`.")
    on_delete: OnDelete | None = None
    description: str | None = None

    @property
    def is_nullable(self) -> bool:
        """A primary key is never null; otherwise nullable unless stated."""
        if self.primary_key:
            return False
        return True if self.nullable is None else self.nullable


class RelationSpec(_Strict):
    """A navigable relation; `back_populates` names the matching relation on the target.

    many_to_one / one_to_one (owning side): `foreign_key` is a field of this entity.
    one_to_many / one_to_one (inverse side): `foreign_key` is a field of the target.
    many_to_many: `through` names the association table (default `<this>_<target>`).
    """

    name: str
    kind: RelationKind
    target: str
    back_populates: str | None = None
    foreign_key: str | None = None
    through: str | None = None
    description: str | None = None


class EntitySpec(_Strict):
    """One table: PascalCase class name, snake_case table, fields, relations and mixins."""

    name: str
    table: str | None = None
    description: str | None = None
    fields: list[FieldSpec]
    relations: list[RelationSpec] = Field(default_factory=list)
    timestamps: bool = Field(False, description="Add created_at / updated_at.")
    soft_delete: bool = Field(False, description="Add deleted_at; DELETE hides rows.")


class ModelLimits(_Strict):
    """Size limits; the validator refuses models beyond them."""

    max_entities: int = 100
    max_fields: int = 80
    max_relations: int = 40
    max_string_length: int = 10_485_760


class DataModel(_Strict):
    """A backend data model: `flowwright_model: "1"`, a project name and its entities."""

    flowwright_model: Literal["1"] = MODEL_VERSION
    name: str = Field(description="Project name; its snake_case form names the Python package.")
    description: str | None = None
    database: Literal["postgresql", "sqlite"] = "postgresql"
    entities: list[EntitySpec]
    limits: ModelLimits = Field(default_factory=ModelLimits)

    def entity(self, name: str) -> EntitySpec | None:
        return next((e for e in self.entities if e.name == name), None)


def model_json_schema() -> dict[str, Any]:
    """JSON Schema of the data model (exported for editors and `flowwright model schema`)."""
    schema = DataModel.model_json_schema()
    schema["$id"] = "https://flowwright.dev/schemas/backend-model-1.json"
    schema["title"] = "Flowwright backend data model v1"
    return schema

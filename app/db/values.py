"""How values are encoded for JSON columns: plain JSON data, capped in size.

Kept apart from the table models so code that only encodes values (the trace store, the
engine's trace recorder) does not import SQLAlchemy.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson
from pydantic_core import to_jsonable_python

MAX_STORED_JSON_BYTES = 1_000_000
PREVIEW_CHARS = 2_000
TRUNCATED_KEY = "$truncated"


def to_json_value(value: Any) -> Any:
    """Plain JSON data: unknown objects become strings, NaN/inf null (PostgreSQL rejects them)."""
    return to_jsonable_python(value, fallback=str, inf_nan_mode="null", bytes_mode="base64")


def json_bytes(data: Any, default: Callable[[Any], Any] | None = None) -> bytes:
    """Compact UTF-8 JSON. orjson takes a fraction of json's time (every stored value passes
    here); json covers what orjson refuses (ints beyond 64 bits, nesting deeper than 254).
    `default` converts what JSON has no type for (`to_json_value` for any value at all)."""
    try:
        return orjson.dumps(data, default=default, option=orjson.OPT_NON_STR_KEYS)
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        plain = to_json_value(data) if default is not None else data
        return json.dumps(plain, ensure_ascii=False, separators=(",", ":")).encode()


def dump_json(data: Any) -> str:
    """The JSON column serializer of every engine (see `app.db.base.engine_for`)."""
    return json_bytes(data).decode()


def load_json(text: str | bytes) -> Any:
    """The JSON column deserializer of every engine."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)  # NaN/Infinity written by an older version


def capped_json(value: Any, limit: int = MAX_STORED_JSON_BYTES) -> tuple[Any, bool]:
    """The value as JSON data, or a truncation marker when its JSON exceeds `limit` bytes."""
    return capped_json_data(to_json_value(value), limit)


def capped_json_data(data: Any, limit: int = MAX_STORED_JSON_BYTES) -> tuple[Any, bool]:
    """`capped_json` for data that is plain JSON already (no second conversion)."""
    text = json_bytes(data)
    if len(text) <= limit:
        return data, False
    preview = text[: PREVIEW_CHARS * 4].decode(errors="ignore")[:PREVIEW_CHARS]
    return {TRUNCATED_KEY: True, "bytes": len(text), "preview": preview}, True


def is_truncated(value: Any) -> bool:
    return isinstance(value, dict) and value.get(TRUNCATED_KEY) is True


def as_utc(value: datetime | float | None) -> datetime | None:
    """Aware UTC datetimes in and out (SQLite hands back naive ones; steps may report epochs)."""
    if value is None:
        return None
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

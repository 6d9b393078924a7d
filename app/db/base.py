"""One declarative base, one engine per database URL, and sessions from it.

SQLite gets WAL and foreign keys on every connection; PostgreSQL gets a pre-pinged pool. Engines
are cached per URL so a process never opens a connection pool per call.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import lru_cache, partial
from pathlib import Path
from typing import Any, ClassVar

from sqlalchemy import DateTime, Engine, MetaData, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from app.config import get_settings
from app.db.values import dump_json, load_json

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    """Base of every Flowwright table; constraint names are stable for Alembic."""

    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: DateTime(timezone=True)}


def _sqlite_pragmas(dbapi_connection: Any, _record: Any, *, synchronous: str = "FULL") -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute(f"PRAGMA synchronous={synchronous}")
    cursor.close()


JSON_CODEC = {"json_serializer": dump_json, "json_deserializer": load_json}


@lru_cache(maxsize=8)
def engine_for(url: str, *, wait_for_disk: bool = True) -> Engine:
    """The process-wide engine of a database URL.

    `wait_for_disk=False` gives a second engine whose commits return before the disk flush
    (SQLite ``synchronous=NORMAL`` in WAL mode, PostgreSQL ``synchronous_commit=off``): for
    data that may be lost in a power cut but never corrupted, i.e. traces. A commit's fsync
    costs more than storing a 100-step trace.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False}, **JSON_CODEC)
        pragmas = partial(_sqlite_pragmas, synchronous="FULL" if wait_for_disk else "NORMAL")
        event.listen(engine, "connect", pragmas)
        return engine
    extra: dict[str, Any] = {}
    if not wait_for_disk and parsed.get_backend_name() == "postgresql":
        options = parsed.query.get("options") or ""  # keep the URL's own (e.g. search_path)
        options = options if isinstance(options, str) else " ".join(options)
        extra["connect_args"] = {"options": f"{options} -c synchronous_commit=off".strip()}
    return create_engine(
        url, pool_pre_ping=True, pool_size=5, max_overflow=10, **JSON_CODEC, **extra
    )


def get_engine() -> Engine:
    return engine_for(get_settings().resolved_database_url)


@lru_cache(maxsize=8)
def _session_factory(url: str) -> sessionmaker[Session]:
    return sessionmaker(engine_for(url), expire_on_commit=False)


@contextmanager
def session_scope() -> Iterator[Session]:
    """A session that commits on success and rolls back on error."""
    session = _session_factory(get_settings().resolved_database_url)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()

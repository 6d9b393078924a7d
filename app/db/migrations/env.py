"""Alembic environment for Flowwright's own database, driven in code by `app.db.migrate`.

There is no alembic.ini: `app.db.migrate.alembic_config()` builds the config and hands over either
an open connection (`config.attributes["connection"]`) or a URL (`config.attributes["url"]`);
without either, the URL comes from Settings. Every `app.db` module named `models` or `*_models`
is imported so its tables are part of `target_metadata` (autogenerate and the parity test see them).
"""

from __future__ import annotations

import importlib
import pkgutil

from alembic import context
from sqlalchemy import Connection, create_engine, pool
from sqlalchemy.engine import make_url

import app.db
from app.config import get_settings
from app.db.base import Base

# Serialises concurrent upgrades of one PostgreSQL schema (several workers starting at once);
# keyed by schema so unrelated schemas in one database do not wait for each other.
PG_MIGRATION_LOCK = (
    "SELECT pg_advisory_xact_lock(hashtext('flowwright-migrate:' || current_schema()))"
)


def _import_models() -> None:
    for module in pkgutil.iter_modules(app.db.__path__):
        if module.name == "models" or module.name.endswith("_models"):
            importlib.import_module(f"app.db.{module.name}")


_import_models()
config = context.config
target_metadata = Base.metadata


def _url() -> str:
    return (
        config.attributes.get("url")
        or config.get_main_option("sqlalchemy.url")
        or get_settings().resolved_database_url
    )


def _options(backend: str) -> dict[str, object]:
    # SQLite cannot ALTER most things: batch mode rebuilds the table instead.
    return {
        "target_metadata": target_metadata,
        "render_as_batch": backend == "sqlite",
        "compare_type": True,
    }


def run_offline() -> None:
    """Emit SQL instead of running it (`alembic upgrade --sql`)."""
    url = _url()
    context.configure(url=url, literal_binds=True, **_options(make_url(url).get_backend_name()))
    with context.begin_transaction():
        context.run_migrations()


def _run(connection: Connection) -> None:
    context.configure(connection=connection, **_options(connection.dialect.name))
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql(PG_MIGRATION_LOCK)
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = create_engine(_url(), poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            _run(conn)
            conn.commit()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()

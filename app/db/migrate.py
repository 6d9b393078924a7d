"""Schema migrations of Flowwright's own database, run in code (no alembic.ini on disk).

`ensure_schema()` is what the CLI and API call before touching the database: it upgrades to head
once per process and URL, and after that costs a set lookup. Alembic is imported lazily so
importing this module (and `app.db.history`) stays cheap.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, create_engine, pool
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from app.config import get_settings
from app.db.base import engine_for
from app.errors import FlowwrightError

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).resolve().with_name("migrations")

_ensured: set[str] = set()
# Alembic's command API keeps global state: one migration at a time per process.
_migration_lock = threading.RLock()


class DatabaseUnavailableError(FlowwrightError):
    """The state database cannot be reached (server down, wrong URL, unwritable SQLite path)."""

    code = "DB_UNAVAILABLE"


class SchemaMismatchError(FlowwrightError):
    """The database was migrated by a newer Flowwright than this one."""

    code = "DB_SCHEMA_MISMATCH"


def safe_url(url: str) -> str:
    """The URL with its password masked, fit for messages and logs."""
    return make_url(url).render_as_string(hide_password=True)


def resolve_url(url: str | None = None) -> str:
    return url or get_settings().resolved_database_url


def alembic_config(url: str | None = None) -> Config:
    """An Alembic config pointing at the packaged migrations (works from an installed wheel)."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    # Passed as an attribute, not a main option: ConfigParser would mangle `%` in URLs.
    config.attributes["url"] = resolve_url(url)
    return config


def unavailable_error(url: str, exc: BaseException) -> DatabaseUnavailableError:
    detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    reason = detail[0] if detail else type(exc).__name__
    return DatabaseUnavailableError(
        f"cannot connect to the Flowwright database: {reason}",
        hint=(
            f"Check that the database at {safe_url(url)} is running and reachable, "
            "or point FLOWWRIGHT_DATABASE_URL at one that is."
        ),
    )


def _migration_engine(url: str) -> tuple[Engine, bool]:
    """An engine for migrations and whether to dispose it afterwards.

    A separate unpooled engine, so SQLite batch migrations run with foreign keys off (the shared
    engine turns them on, and rebuilding `runs` would then cascade-delete every step row).
    In-memory SQLite must use the shared engine, or the schema would vanish with the connection.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if not parsed.database or parsed.database == ":memory:":
            return engine_for(url), False
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        return create_engine(url, poolclass=pool.NullPool), True
    connect_args = {"connect_timeout": 10} if parsed.get_backend_name() == "postgresql" else {}
    return create_engine(url, poolclass=pool.NullPool, connect_args=connect_args), True


@contextmanager
def _connect(url: str, *, begin: bool) -> Iterator[Connection]:
    """A connection for migration work; connection failures become `DB_UNAVAILABLE`."""
    try:
        engine, dispose = _migration_engine(url)
        conn = engine.connect()
    except (OperationalError, OSError) as exc:
        raise unavailable_error(url, exc) from exc
    try:
        with conn:
            if begin:
                with conn.begin():
                    yield conn
            else:
                yield conn
    finally:
        if dispose:
            engine.dispose()


def upgrade(url: str | None = None, revision: str = "head") -> None:
    """Migrate the database up to `revision` (PostgreSQL upgrades are serialised by a lock)."""
    from alembic import command

    url = resolve_url(url)
    with _migration_lock, _connect(url, begin=True) as conn:
        config = alembic_config(url)
        config.attributes["connection"] = conn
        command.upgrade(config, revision)
    if revision == "head":
        _ensured.add(url)
    else:
        _ensured.discard(url)


def downgrade(url: str | None = None, revision: str = "-1") -> None:
    """Migrate the database down to `revision` (`base` drops every Flowwright table)."""
    from alembic import command

    url = resolve_url(url)
    _ensured.discard(url)
    with _migration_lock, _connect(url, begin=True) as conn:
        config = alembic_config(url)
        config.attributes["connection"] = conn
        command.downgrade(config, revision)


def current_revision(url: str | None = None) -> str | None:
    """The revision the database is at, or None before the first migration."""
    from alembic.runtime.migration import MigrationContext

    with _connect(resolve_url(url), begin=False) as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str | None:
    """The newest revision this installation ships."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def ensure_schema(url: str | None = None) -> None:
    """Bring the database to head once per process; later calls are a set lookup."""
    url = resolve_url(url)
    if url in _ensured:
        return
    with _migration_lock:
        if url in _ensured:
            return
        from alembic.runtime.migration import MigrationContext
        from alembic.script import ScriptDirectory
        from alembic.util import CommandError

        script = ScriptDirectory.from_config(alembic_config(url))
        with _connect(url, begin=False) as conn:
            current = set(MigrationContext.configure(conn).get_current_heads())
        for rev in current:
            try:
                script.get_revision(rev)
            except CommandError as exc:
                raise SchemaMismatchError(
                    f"the database at {safe_url(url)} is at revision {rev!r}, "
                    "which this Flowwright does not know",
                    hint="Upgrade Flowwright or point FLOWWRIGHT_DATABASE_URL at another database.",
                ) from exc
        if current != set(script.get_heads()):
            upgrade(url)
        _ensured.add(url)


def forget_ensured(url: str | None = None) -> None:
    """Drop the once-per-process memo (tests, or after dropping the tables by hand)."""
    if url is None:
        _ensured.clear()
    else:
        _ensured.discard(url)

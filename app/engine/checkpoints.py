"""The durable checkpointer: SQLite by default, PostgreSQL when the database URL says so.

One connection (SQLite) or one pool (PostgreSQL) per process, opened once and shared by every
run; never a connection per call.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from langgraph.checkpoint.base import BaseCheckpointSaver
from sqlalchemy.engine import make_url

from app.config import Settings, get_settings


def is_postgres(url: str) -> bool:
    return make_url(url).get_backend_name() == "postgresql"


def postgres_conninfo(url: str) -> str:
    """A libpq connection string from a SQLAlchemy URL (`postgresql+psycopg://...`)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def sqlite_checkpoint_path(settings: Settings) -> Path:
    """Checkpoints sit beside the SQLite state database, in their own file."""
    url = make_url(settings.resolved_database_url)
    base = Path(url.database) if url.database else settings.home / "flowwright.db"
    return base.with_name("checkpoints.sqlite")


@asynccontextmanager
async def open_checkpointer(settings: Settings | None = None) -> AsyncIterator[BaseCheckpointSaver]:
    """Open the process's checkpointer (creating its tables) for the duration of the block."""
    settings = settings or get_settings()
    url = settings.resolved_database_url
    if is_postgres(url):
        from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
        from psycopg.rows import dict_row
        from psycopg_pool import AsyncConnectionPool

        async with AsyncConnectionPool(
            postgres_conninfo(url),
            min_size=1,
            max_size=8,
            open=False,
            kwargs={"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row},
        ) as pool:
            saver = AsyncPostgresSaver(pool)
            await saver.setup()
            yield saver
        return
    import aiosqlite
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

    path = sqlite_checkpoint_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    async with aiosqlite.connect(path) as conn:
        await conn.execute("PRAGMA journal_mode=WAL")
        await conn.execute("PRAGMA synchronous=NORMAL")
        saver = AsyncSqliteSaver(conn)
        await saver.setup()
        yield saver

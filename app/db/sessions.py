"""Sessions on Flowwright's state database, shared by every repository (history, jobs, ...).

The schema is migrated on first use, and an unreachable database is a DB_UNAVAILABLE error with
the URL (password hidden) rather than a driver traceback.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from app.db.base import engine_for
from app.db.migrate import ensure_schema, resolve_url, unavailable_error


@contextmanager
def state_session(url: str | None = None) -> Iterator[Session]:
    """A session that commits on success and rolls back on error; `url` defaults to settings."""
    url = resolve_url(url)
    ensure_schema(url)
    try:
        conn = engine_for(url).connect()
    except OperationalError as exc:
        raise unavailable_error(url, exc) from exc
    with conn, Session(bind=conn, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise

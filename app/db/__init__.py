"""Flowwright's own state: SQLAlchemy models, sessions and Alembic migrations."""

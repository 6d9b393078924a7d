"""Alembic environment of Flowwright's own database; run it through `app.db.migrate`."""

"""Migrations of Flowwright's own database, on SQLite and on a private PostgreSQL schema."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, pool, text

from app.db import migrate
from app.db.base import Base, engine_for
from app.db.migrate import (
    DatabaseUnavailableError,
    SchemaMismatchError,
    alembic_config,
    current_revision,
    downgrade,
    ensure_schema,
    head_revision,
    upgrade,
)

ROOT = Path(__file__).resolve().parents[1]
PG_BASE = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
TABLES = {"runs", "step_results"}


def postgres_up() -> bool:
    try:
        psycopg.connect("postgresql://postgres@127.0.0.1:5432/test", connect_timeout=2).close()
        return True
    except psycopg.Error:
        return False


@contextmanager
def pg_schema_url(prefix: str) -> Iterator[str]:
    """A URL whose search_path is a fresh schema (dropped afterwards): parallel tests never meet."""
    if not postgres_up():
        pytest.skip("PostgreSQL at 127.0.0.1:5432 is not reachable")
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = "postgresql://postgres@127.0.0.1:5432/test"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    url = f"{PG_BASE}?options=-csearch_path%3D{schema}"
    try:
        yield url
    finally:
        engine_for(url).dispose()
        migrate.forget_ensured(url)
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "postgres":
        with pg_schema_url("fw_mig") as url:
            yield url
        return
    url = f"sqlite:///{tmp_path / 'nested' / 'state.db'}"
    yield url
    engine_for(url).dispose()
    migrate.forget_ensured(url)


def table_names(url: str) -> set[str]:
    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_first_revision_is_the_run_history_root() -> None:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    first = script.get_revision("0001_run_history")
    assert first is not None and first.down_revision is None
    assert "0001_run_history" in {r.revision for r in script.walk_revisions()}
    config = alembic_config("sqlite://")
    assert config.config_file_name is None  # no alembic.ini needed on disk


def test_upgrade_from_empty_then_again_is_a_no_op(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # nothing is looked up relative to the working directory
    assert current_revision(db_url) is None
    upgrade(db_url)
    assert current_revision(db_url) == head_revision()
    assert table_names(db_url) >= TABLES

    with engine_for(db_url).begin() as conn:
        conn.execute(
            text(
                "INSERT INTO runs (id, workflow, spec_json, spec_hash, inputs_json, status, "
                "dry_run, created_at) VALUES ('r1', 'w', '{}', 'h', '{}', 'running', false, "
                "CURRENT_TIMESTAMP)"
            )
        )
    upgrade(db_url)  # second upgrade: same revision, data untouched
    assert current_revision(db_url) == head_revision()
    with engine_for(db_url).connect() as conn:
        assert conn.execute(text("SELECT id FROM runs")).scalars().all() == ["r1"]


def test_downgrade_to_base_drops_the_tables_and_upgrade_recreates_them(db_url: str) -> None:
    upgrade(db_url)
    downgrade(db_url, "base")
    assert current_revision(db_url) is None
    assert not TABLES & table_names(db_url)
    upgrade(db_url, "0001_run_history")
    assert current_revision(db_url) == "0001_run_history"
    assert table_names(db_url) >= TABLES


def test_models_match_the_migrations(db_url: str) -> None:
    upgrade(db_url)
    engine = create_engine(db_url, poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()
    assert diff == [], f"models and migrations differ: {diff}"


def test_ensure_schema_migrates_once_then_costs_nothing(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    migrate.forget_ensured(db_url)
    ensure_schema(db_url)
    assert current_revision(db_url) == head_revision()

    def no_database(*_a: object, **_k: object) -> None:
        raise AssertionError("ensure_schema touched the database after it was ensured")

    monkeypatch.setattr(migrate, "_connect", no_database)
    ensure_schema(db_url)  # memoised: no connection at all
    monkeypatch.undo()

    # A new process (memo cleared) finds the schema at head and does not run Alembic's upgrade.
    migrate.forget_ensured(db_url)
    monkeypatch.setattr(migrate, "upgrade", no_database)
    ensure_schema(db_url)


def test_ensure_schema_refuses_a_database_from_a_newer_flowwright(db_url: str) -> None:
    upgrade(db_url)
    with engine_for(db_url).begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999_from_the_future'"))
    migrate.forget_ensured(db_url)
    with pytest.raises(SchemaMismatchError) as err:
        ensure_schema(db_url)
    assert err.value.code == "DB_SCHEMA_MISMATCH"
    assert "9999_from_the_future" in err.value.message


@pytest.mark.postgres
def test_concurrent_upgrades_of_one_postgres_database_serialise() -> None:
    with pg_schema_url("fw_race") as url:
        errors: list[BaseException] = []

        def worker() -> None:
            try:
                upgrade(url)
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=worker) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert errors == []
        assert current_revision(url) == head_revision()


WORKER = """
import sys, time
from pathlib import Path
from app.db.migrate import upgrade
url, flags, name = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
(flags / name).touch()
while not (flags / "go").exists():
    time.sleep(0.001)
upgrade(url)
"""


@pytest.mark.postgres
def test_concurrent_upgrades_from_several_processes_serialise(tmp_path: Path) -> None:
    """Workers starting at the same moment against a fresh database: all succeed."""
    n = 4
    with pg_schema_url("fw_procs") as url:
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", WORKER, url, str(tmp_path), f"ready{i}"],
                cwd=ROOT,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            for i in range(n)
        ]
        deadline = time.monotonic() + 60
        while len(list(tmp_path.glob("ready*"))) < n and time.monotonic() < deadline:
            time.sleep(0.01)
        (tmp_path / "go").touch()  # release them together
        outputs = [p.communicate(timeout=90)[0] for p in procs]
        assert [p.returncode for p in procs] == [0] * n, outputs
        assert current_revision(url) == head_revision()


def test_unreachable_postgres_is_db_unavailable_without_the_password() -> None:
    url = "postgresql+psycopg://postgres:s3cret@127.0.0.1:1/test"
    for call in (lambda: upgrade(url), lambda: current_revision(url), lambda: ensure_schema(url)):
        with pytest.raises(DatabaseUnavailableError) as err:
            call()
        assert err.value.code == "DB_UNAVAILABLE"
        assert "127.0.0.1:1" in (err.value.hint or "")
        assert "s3cret" not in f"{err.value.message} {err.value.hint}"


def test_unwritable_sqlite_path_is_db_unavailable(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(DatabaseUnavailableError) as err:
        upgrade(f"sqlite:///{blocker / 'sub' / 'state.db'}")
    assert err.value.code == "DB_UNAVAILABLE"

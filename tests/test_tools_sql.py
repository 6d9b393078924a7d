"""SQL tools on SQLite (a temp file) and PostgreSQL (127.0.0.1:5432), same tests for both."""

from __future__ import annotations

import base64
import datetime as dt
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa

from app.config import get_settings
from app.errors import NotConfiguredError, ToolInputError
from app.tools import sql
from app.tools.base import Requirement, SideEffect, tool_info
from app.tools.sql import check_read_only, sql_insert, sql_query

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@dataclass
class Db:
    url: str
    table: str
    engine: sa.Engine

    def count(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(sa.text(f"SELECT count(*) FROM {self.table}")).scalar_one()


def _pg_reachable() -> str | None:
    engine = sa.create_engine(PG_URL, connect_args={"connect_timeout": 2})
    try:
        with engine.connect():
            return None
    except Exception as exc:
        return f"PostgreSQL at 127.0.0.1:5432 is unreachable: {type(exc).__name__}"
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Db]:
    if request.param == "postgres":
        if reason := _pg_reachable():
            pytest.skip(reason)
        url = PG_URL
    else:
        url = f"sqlite:///{tmp_path / 'tools.db'}"
    table = f"fw_people_{uuid.uuid4().hex[:10]}"
    engine = sa.create_engine(url)
    meta = sa.MetaData()
    people = sa.Table(
        table, meta,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("email", sa.String(200)),
        sa.Column("balance", sa.Numeric(10, 2)),
        sa.Column("joined", sa.DateTime),
        sa.Column("avatar", sa.LargeBinary),
    )  # fmt: skip
    meta.create_all(engine)
    with engine.begin() as conn:
        conn.execute(sa.insert(people), [
            {"id": 1, "name": "Ada", "email": "ada@example.com", "balance": "12.50",
             "joined": dt.datetime(2023, 1, 2, 3, 4, 5), "avatar": b"\x00\x01"},
            {"id": 2, "name": "Grace", "email": "grace@example.com", "balance": "100.00",
             "joined": None, "avatar": None},
        ])  # fmt: skip
    monkeypatch.setenv("FLOWWRIGHT_SQL_URL", url)
    get_settings.cache_clear()
    sql.reset_engines()
    try:
        yield Db(url, table, engine)
    finally:
        sql.reset_engines()
        get_settings.cache_clear()
        meta.drop_all(engine)
        engine.dispose()


def test_metadata() -> None:
    query, insert = tool_info(sql_query), tool_info(sql_insert)
    assert (query.category, query.side_effect, query.requires) == (
        "database", SideEffect.READS, (Requirement.DATABASE,)
    )  # fmt: skip
    assert (insert.category, insert.side_effect) == ("database", SideEffect.WRITES)
    assert list(query.params) == ["query", "params"] and list(insert.params) == ["table", "rows"]
    assert insert.output_schema["required"] == ["inserted"]


def test_select_with_bound_params_returns_json_friendly_rows(db: Db) -> None:
    rows = sql_query.invoke({
        "query": f"SELECT id, name, balance, avatar, joined FROM {db.table} WHERE name = :name",
        "params": {"name": "Ada"},
    })  # fmt: skip
    assert dt.datetime.fromisoformat(rows[0].pop("joined")) == dt.datetime(2023, 1, 2, 3, 4, 5)
    assert rows == [{"id": 1, "name": "Ada", "balance": 12.5,
                     "avatar": base64.b64encode(b"\x00\x01").decode()}]  # fmt: skip
    assert json.loads(json.dumps(rows)) == rows
    assert sql_query.invoke({"query": f"SELECT count(*) AS n FROM {db.table};"}) == [{"n": 2}]


def test_injection_through_params_stays_data(db: Db) -> None:
    for evil in ("x' OR '1'='1", "Ada'; DROP TABLE people; --", "1 OR 1=1"):
        rows = sql_query.invoke({
            "query": f"SELECT id FROM {db.table} WHERE name = :name", "params": {"name": evil}
        })  # fmt: skip
        assert rows == []
    sql_insert.invoke({"table": db.table, "rows": [{"id": 3, "name": "x'); DELETE FROM t; --"}]})
    rows = sql_query.invoke({"query": f"SELECT name FROM {db.table} WHERE id = 3"})
    assert rows == [{"name": "x'); DELETE FROM t; --"}]
    assert db.count() == 3


@pytest.mark.parametrize(
    "statement",
    [
        "DELETE FROM {t}",
        "UPDATE {t} SET name = 'x'",
        "DROP TABLE {t}",
        "INSERT INTO {t} (id, name) VALUES (9, 'z')",
        "SELECT 1; DELETE FROM {t}",
        "SELECT 1; -- harmless?\nDROP TABLE {t}",
        "WITH d AS (DELETE FROM {t} RETURNING id) SELECT * FROM d",
        "EXPLAIN ANALYZE DELETE FROM {t}",
        "  /* comment */ delete from {t}",
        "",
    ],
)
def test_writes_and_multiple_statements_are_refused(db: Db, statement: str) -> None:
    with pytest.raises(ToolInputError):
        sql_query.invoke({"query": statement.format(t=db.table)})
    assert db.count() == 2


def test_the_database_itself_enforces_read_only(db: Db, monkeypatch: pytest.MonkeyPatch) -> None:
    """Even if the text check were bypassed, the connection refuses to write."""
    monkeypatch.setattr(sql, "check_read_only", lambda query, **_: query)
    for statement in (f"DELETE FROM {db.table}", f"UPDATE {db.table} SET name = 'x'"):
        with pytest.raises(ToolInputError, match="read-only"):
            sql_query.invoke({"query": statement})
    assert db.count() == 2
    # the pooled connection is writable again for sql_insert afterwards
    assert sql_insert.invoke({"table": db.table, "rows": [{"id": 5, "name": "Eve"}]}) == {
        "inserted": 1
    }
    assert db.count() == 3


def test_insert_then_select_back_in_one_transaction(db: Db) -> None:
    result = sql_insert.invoke({"table": db.table, "rows": [
        {"id": 10, "name": "Linus", "email": "l@example.com", "joined": "2024-05-01T10:30:00"},
        {"id": 11, "name": "Barbara", "balance": 3.25},
    ]})  # fmt: skip
    assert result == {"inserted": 2}
    rows = sql_query.invoke({
        "query": f"SELECT id, name, email, balance, joined FROM {db.table} WHERE id >= :low "
                 "ORDER BY id",
        "params": {"low": 10},
    })  # fmt: skip
    # SQLite keeps datetimes as text, PostgreSQL returns them typed: both come back as ISO text
    assert dt.datetime.fromisoformat(rows[0].pop("joined")) == dt.datetime(2024, 5, 1, 10, 30)
    assert rows == [
        {"id": 10, "name": "Linus", "email": "l@example.com", "balance": None},
        {"id": 11, "name": "Barbara", "email": None, "balance": 3.25, "joined": None},
    ]


def test_insert_is_all_or_nothing(db: Db) -> None:
    with pytest.raises(ToolInputError):
        sql_insert.invoke({"table": db.table, "rows": [
            {"id": 20, "name": "ok"}, {"id": 1, "name": "duplicate primary key"},
        ]})  # fmt: skip
    assert db.count() == 2


def test_unknown_table_and_column_suggest_names(db: Db) -> None:
    with pytest.raises(ToolInputError, match="unknown table") as table_err:
        sql_insert.invoke({"table": db.table[:-1], "rows": [{"name": "x"}]})
    assert db.table in (table_err.value.hint or "")
    with pytest.raises(ToolInputError, match="unknown column 'emial'") as column_err:
        sql_insert.invoke({"table": db.table, "rows": [{"name": "x", "emial": "x@y.z"}]})
    assert "email" in (column_err.value.hint or "")
    assert db.count() == 2


def test_row_cap_is_an_error_not_silent_truncation(db: Db, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sql, "MAX_ROWS", 1)
    with pytest.raises(ToolInputError, match="more than 1 rows"):
        sql_query.invoke({"query": f"SELECT * FROM {db.table}"})
    assert len(sql_query.invoke({"query": f"SELECT * FROM {db.table} LIMIT 1"})) == 1


def test_missing_bind_parameter_is_an_input_error(db: Db) -> None:
    with pytest.raises(ToolInputError):
        sql_query.invoke({"query": f"SELECT * FROM {db.table} WHERE id = :id"})


def test_one_engine_per_url(db: Db) -> None:
    assert sql.get_engine(db.url) is sql.get_engine(db.url)
    assert sql.get_engine(db.url).pool._pre_ping is True


def test_not_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FLOWWRIGHT_SQL_URL", raising=False)
    get_settings.cache_clear()
    for tool, args in [(sql_query, {"query": "SELECT 1"}),
                       (sql_insert, {"table": "t", "rows": [{"a": 1}]})]:  # fmt: skip
        with pytest.raises(NotConfiguredError) as info:
            tool.invoke(args)
        assert "set FLOWWRIGHT_SQL_URL" in (info.value.hint or "")
    get_settings.cache_clear()


@pytest.mark.parametrize(
    "query",
    [
        "SELECT ';' AS semicolon",
        "select 1 -- DELETE FROM t; \n",
        "SELECT 1 /* ; DROP TABLE t */;",
        "SELECT $$;$$",
        'SELECT "weird;name" FROM t',
        "WITH x AS (SELECT 1) SELECT * FROM x",
        "VALUES (1), (2)",
        "EXPLAIN SELECT 1",
        "SELECT 'it''s; fine'",
    ],
)
def test_read_only_check_accepts(query: str) -> None:
    assert check_read_only(query) == query


@pytest.mark.parametrize(
    "query",
    [
        "SELECT 1; SELECT 2",
        "SHOW tables",
        "PRAGMA writable_schema = 1",
        "ATTACH DATABASE 'x.db' AS x",
        "EXPLAIN (ANALYZE, FORMAT JSON) DELETE FROM t",
        "SELECT 'unterminated",
        "COPY t TO '/tmp/x'",
    ],
)
def test_read_only_check_refuses(query: str) -> None:
    with pytest.raises(ToolInputError):
        check_read_only(query)


def test_keyword_scan_for_dialects_without_database_enforcement() -> None:
    query = "WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d"
    assert check_read_only(query) == query  # left to the database where it can enforce
    with pytest.raises(ToolInputError, match="DELETE"):
        check_read_only(query, scan_keywords=True)
    assert check_read_only("SELECT 'DELETE' AS word", scan_keywords=True)


def test_colons_inside_literals_are_not_bind_parameters(db: Db) -> None:
    rows = sql_query.invoke({
        "query": "SELECT '10:30' AS t, ':name' AS lit, :v AS v -- trailing :comment",
        "params": {"v": 7},
    })  # fmt: skip
    assert rows == [{"t": "10:30", "lit": ":name", "v": 7}]


def test_to_jsonable_keeps_precision_it_cannot_represent() -> None:
    from decimal import Decimal

    assert sql.to_jsonable(Decimal("12.50")) == 12.5
    assert sql.to_jsonable(Decimal("42")) == 42
    assert sql.to_jsonable(Decimal("12345678901234567.89")) == "12345678901234567.89"
    assert sql.to_jsonable(dt.date(2024, 1, 2)) == "2024-01-02"
    assert sql.to_jsonable(uuid.UUID(int=1)) == "00000000-0000-0000-0000-000000000001"
    assert sql.to_jsonable(memoryview(b"\xff")) == "/w=="

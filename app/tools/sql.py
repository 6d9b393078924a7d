"""SQL tools over the operator's database (`FLOWWRIGHT_SQL_URL`), bound parameters only.

`sql_query` is read-only twice over: the text must be ONE statement starting with SELECT, WITH,
VALUES or EXPLAIN (never EXPLAIN ANALYZE), and the database itself enforces it — PostgreSQL runs
the query in a `READ ONLY` transaction, SQLite with `PRAGMA query_only = ON` — so data-modifying
CTEs (`WITH d AS (DELETE ...) SELECT ...`) and side-effecting functions fail too. Every query is
rolled back. Other dialects get the text checks plus a keyword scan and the rollback.
More than `MAX_ROWS` rows is an error (add LIMIT), never silent truncation: a list[dict] cannot
say it was cut. Values come back JSON-friendly: Decimal → int/float (str if a float would lose
digits), date/time → ISO 8601, bytes → base64, UUID → str.

`sql_insert` checks the table and column names against the reflected table (did-you-mean on a
typo), binds every value through SQLAlchemy `insert(table)` and inserts all rows in one
transaction. One engine per URL per process, with `pool_pre_ping`.
"""

from __future__ import annotations

import base64
import datetime as dt
import difflib
import re
import threading
import uuid
from decimal import Decimal
from typing import Annotated, Any

from pydantic import Field
from typing_extensions import TypedDict

from app.config import get_settings
from app.errors import NotConfiguredError, ToolError, ToolInputError, TransientToolError
from app.tools.base import Requirement, SideEffect, flow_tool

MAX_ROWS = 10_000
MAX_INSERT_ROWS = 10_000
STATEMENT_TIMEOUT_MS = 30_000
_READ_KEYWORDS = ("SELECT", "WITH", "VALUES", "EXPLAIN")
_WRITE_WORDS = re.compile(
    r"\b(INSERT|UPDATE|DELETE|MERGE|UPSERT|TRUNCATE|DROP|ALTER|CREATE|GRANT|REVOKE|"
    r"COPY|ATTACH|DETACH|VACUUM|REINDEX|PRAGMA|CALL|LOCK|INTO)\b",
    re.I,
)
_DOLLAR_TAG = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)?\$")
_engines: dict[str, Any] = {}
_engines_lock = threading.Lock()
_NOT_CONFIGURED_HINT = "set FLOWWRIGHT_SQL_URL (a SQLAlchemy URL, e.g. postgresql+psycopg://...)"


class InsertResult(TypedDict):
    """How many rows were inserted."""

    inserted: int


def _mask(sql: str) -> str:
    """`sql` with comments, string literals and quoted identifiers blanked (same length)."""
    out: list[str] = []
    i, n = 0, len(sql)
    while i < n:
        ch, nxt = sql[i], sql[i + 1 : i + 2]
        end = i + 1
        if ch == "-" and nxt == "-":
            end = sql.find("\n", i)
            end = n if end < 0 else end
        elif ch == "/" and nxt == "*":
            depth, end = 1, i + 2
            while end < n and depth:
                pair = sql[end : end + 2]
                depth += 1 if pair == "/*" else -1 if pair == "*/" else 0
                end += 2 if pair in ("/*", "*/") else 1
            if depth:
                raise ToolInputError("unterminated /* comment", hint="Close the comment.")
        elif ch in "'\"`[":
            close = "]" if ch == "[" else ch
            end = i + 1
            while True:
                end = sql.find(close, end)
                if end < 0:
                    raise ToolInputError("unterminated quote in query", hint="Close the quote.")
                if sql[end + 1 : end + 2] == close and close != "]":
                    end += 2
                    continue
                end += 1
                break
        elif ch == "$" and (tag := _DOLLAR_TAG.match(sql, i)):
            end = sql.find(tag.group(0), tag.end())
            if end < 0:
                raise ToolInputError("unterminated $$ string", hint="Close the dollar quote.")
            end += len(tag.group(0))
        else:
            out.append(ch)
            i += 1
            continue
        out.append(" " * (end - i))
        i = end
    return "".join(out)


def escape_quoted_colons(query: str) -> str:
    """Escape `:word` inside literals/comments so SQLAlchemy `text()` does not bind it."""
    masked = _mask(query)
    out = []
    for i, ch in enumerate(query):
        after, before = query[i + 1 : i + 2], query[i - 1 : i] if i else ""
        if (
            ch == ":"
            and masked[i] == " "
            and _is_word(after)
            and not (before == ":" or _is_word(before))
        ):
            out.append("\\")  # text() turns `\:x` back into `:x`, and `\\:x` into `\:x`
        out.append(ch)
    return "".join(out)


def _is_word(ch: str) -> bool:
    return bool(ch) and (ch.isalnum() or ch == "_")


def check_read_only(query: str, *, scan_keywords: bool = False) -> str:
    """Refuse anything but one SELECT/WITH/VALUES/EXPLAIN statement; returns the query."""
    masked = _mask(query).strip()
    body = masked.rstrip(";").rstrip()
    if not body:
        raise ToolInputError("the query is empty", hint="Give one SELECT statement.")
    if ";" in body:
        raise ToolInputError(
            "only one SQL statement is allowed", hint="Remove the extra statements after ';'."
        )
    words = re.findall(r"[A-Za-z_]+", body)
    first = words[0].upper() if words else ""
    if first not in _READ_KEYWORDS:
        raise ToolInputError(
            f"sql_query is read-only and does not run {first or 'this'} statements",
            hint="Use SELECT/WITH/VALUES/EXPLAIN; write rows with sql_insert.",
        )
    if first == "EXPLAIN" and re.search(r"\bANALY[SZ]E\b", body, re.I):
        raise ToolInputError(
            "EXPLAIN ANALYZE executes the statement and is not allowed",
            hint="Use plain EXPLAIN.",
        )
    if scan_keywords and (hit := _WRITE_WORDS.search(body)):
        raise ToolInputError(
            f"sql_query is read-only; {hit.group(1).upper()} is not allowed",
            hint="Write rows with sql_insert.",
        )
    return query


def get_engine(url: str) -> Any:
    """The process-wide engine for a URL (its connection pool is reused across calls)."""
    engine = _engines.get(url)
    if engine is not None:
        return engine
    from sqlalchemy import create_engine
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    with _engines_lock:
        if url not in _engines:
            try:
                _engines[url] = create_engine(url, pool_pre_ping=True)
            except (ArgumentError, NoSuchModuleError, ImportError) as exc:
                raise NotConfiguredError(
                    f"FLOWWRIGHT_SQL_URL is not a usable SQLAlchemy URL: {exc}",
                    hint=_NOT_CONFIGURED_HINT,
                ) from exc
        return _engines[url]


def reset_engines() -> None:
    """Dispose every cached engine (tests, or after the URL changes)."""
    with _engines_lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()


def _engine() -> Any:
    url = get_settings().sql_url
    if not url:
        raise NotConfiguredError("the SQL tools need a database", hint=_NOT_CONFIGURED_HINT)
    return get_engine(url)


def to_jsonable(value: Any) -> Any:
    """A database value as a JSON-friendly value."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Decimal):
        if value == value.to_integral_value() and abs(value) < 2**53:
            return int(value)
        as_float = float(value)
        return as_float if Decimal(repr(as_float)) == value else str(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [to_jsonable(v) for v in value]
    return str(value)


def _db_error(exc: Exception, action: str) -> ToolError:
    """Map a SQLAlchemy error: connection trouble is transient, the rest is the caller's input."""
    from sqlalchemy import exc as sa_exc

    detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return TransientToolError(f"database connection lost during {action}: {detail}")
    if isinstance(exc, sa_exc.OperationalError) and re.search(
        r"connect|timeout|timed out|server closed|locked", detail, re.I
    ):
        return TransientToolError(
            f"database unavailable during {action}: {detail}",
            hint="Retry later; check FLOWWRIGHT_SQL_URL.",
        )
    if re.search(r"read-only|readonly|query_only|attempt to write", detail, re.I):
        return ToolInputError(
            f"sql_query is read-only: {detail}", hint="Write rows with sql_insert."
        )
    return ToolInputError(f"{action} failed: {detail}", hint="Check the SQL, names and values.")


@flow_tool(
    category="database",
    side_effect=SideEffect.READS,
    requires=(Requirement.DATABASE,),
    example={
        "query": "SELECT id, email FROM leads WHERE country = :country",
        "params": {"country": "DE"},
    },
)
def sql_query(
    query: Annotated[str, Field(description="One read-only SQL statement; `:name` placeholders")],
    params: Annotated[dict[str, Any], Field(description="Values bound to :name placeholders")] = {},  # noqa: B006
) -> list[dict[str, Any]]:
    """Run a read-only SQL query (SELECT) on the configured database and return the rows."""
    from sqlalchemy import text
    from sqlalchemy.exc import SQLAlchemyError

    engine = _engine()
    dialect = engine.dialect.name
    check_read_only(query, scan_keywords=dialect not in ("postgresql", "sqlite"))
    try:
        with engine.connect() as conn:
            try:
                if dialect == "postgresql":
                    conn.exec_driver_sql("SET TRANSACTION READ ONLY")
                    conn.exec_driver_sql(f"SET LOCAL statement_timeout = {STATEMENT_TIMEOUT_MS}")
                elif dialect == "sqlite":
                    conn.exec_driver_sql("PRAGMA query_only = ON")
                result = conn.execute(text(escape_quoted_colons(query)), dict(params))
                if not result.returns_rows:
                    return []
                keys = list(result.keys())
                rows = result.fetchmany(MAX_ROWS + 1)
            finally:
                conn.rollback()
                if dialect == "sqlite":
                    conn.exec_driver_sql("PRAGMA query_only = OFF")
    except SQLAlchemyError as exc:
        raise _db_error(exc, "query") from exc
    if len(rows) > MAX_ROWS:
        raise ToolInputError(
            f"the query returned more than {MAX_ROWS} rows",
            hint="Add LIMIT or a narrower WHERE clause (or aggregate in SQL).",
        )
    return [{k: to_jsonable(v) for k, v in zip(keys, row, strict=True)} for row in rows]


def _reflect(conn: Any, name: str) -> Any:
    """The reflected table `name` (or `schema.name`), or ToolInputError with did-you-mean."""
    from sqlalchemy import MetaData, Table, inspect

    schema, _, table_name = name.rpartition(".")
    inspector = inspect(conn)
    try:
        names = inspector.get_table_names(schema=schema or None)
    except Exception as exc:  # unknown schema
        raise ToolInputError(f"unknown schema {schema!r}", hint="Check the table name.") from exc
    if table_name not in names:
        close = difflib.get_close_matches(table_name, names, n=3, cutoff=0.5)
        hint = f"Did you mean {', '.join(close)}?" if close else f"Tables: {', '.join(names[:20])}."
        raise ToolInputError(f"unknown table {name!r}", hint=hint)
    return Table(table_name, MetaData(), schema=schema or None, autoload_with=conn)


def _coerce(column: Any, value: Any) -> Any:
    """ISO strings for date/time/UUID columns become Python values (SQLite needs them)."""
    if not isinstance(value, str):
        return value
    try:
        python_type = column.type.python_type
    except NotImplementedError:
        return value
    try:
        if python_type is dt.datetime:
            return dt.datetime.fromisoformat(value)
        if python_type is dt.date:
            return dt.date.fromisoformat(value)
        if python_type is dt.time:
            return dt.time.fromisoformat(value)
        if python_type is uuid.UUID:
            return uuid.UUID(value)
        if python_type is Decimal:
            return Decimal(value)
    except ValueError as exc:
        raise ToolInputError(
            f"value {value!r} does not fit column {column.name!r} ({column.type})",
            hint="Use ISO 8601 for dates and times.",
        ) from exc
    return value


@flow_tool(
    category="database",
    side_effect=SideEffect.WRITES,
    requires=(Requirement.DATABASE,),
    example={"table": "leads", "rows": [{"email": "ada@example.com", "country": "GB"}]},
)
def sql_insert(
    table: Annotated[str, Field(description="Existing table name (optionally schema.table)")],
    rows: Annotated[list[dict[str, Any]], Field(description="Rows as column → value objects")],
) -> InsertResult:
    """Insert rows into a database table in one transaction."""
    from sqlalchemy import insert
    from sqlalchemy.exc import SQLAlchemyError

    if not rows:
        return {"inserted": 0}
    if len(rows) > MAX_INSERT_ROWS:
        raise ToolInputError(
            f"{len(rows)} rows exceed the limit of {MAX_INSERT_ROWS} per call",
            hint="Insert in batches.",
        )
    engine = _engine()
    try:
        with engine.begin() as conn:
            if engine.dialect.name == "sqlite":
                conn.exec_driver_sql("PRAGMA query_only = OFF")
            target = _reflect(conn, table.strip())
            columns = {c.name: c for c in target.columns}
            groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
            for index, row in enumerate(rows):
                if not isinstance(row, dict) or not row:
                    raise ToolInputError(
                        f"row {index} is not a non-empty object",
                        hint="Give rows as column → value objects.",
                    )
                for key in row:
                    if key not in columns:
                        close = difflib.get_close_matches(str(key), list(columns), n=3)
                        hint = (
                            f"Did you mean {', '.join(close)}?"
                            if close
                            else f"Columns: {', '.join(columns)}."
                        )
                        raise ToolInputError(
                            f"unknown column {key!r} in table {table!r}", hint=hint
                        )
                values = {k: _coerce(columns[k], v) for k, v in row.items()}
                groups.setdefault(tuple(sorted(row)), []).append(values)
            for batch in groups.values():
                conn.execute(insert(target), batch)
    except SQLAlchemyError as exc:
        raise _db_error(exc, "insert") from exc
    return {"inserted": len(rows)}

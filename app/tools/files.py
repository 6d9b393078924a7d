"""File tools: CSV, JSON and text files inside the workspace (paths go through `sandbox`)."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime, time
from typing import Annotated, Any

from pydantic import Field
from typing_extensions import TypedDict

from app.errors import ToolInputError
from app.tools import sandbox
from app.tools.base import SideEffect, flow_tool

PathParam = Annotated[str, Field(description="File path relative to the workspace directory.")]
EXTRA_FIELDS_KEY = "_extra"


class WriteResult(TypedDict):
    """Where a write went (workspace-relative) and how many bytes this call wrote."""

    path: str
    bytes: int


class CsvWriteResult(TypedDict):
    """Where the rows went (workspace-relative) and how many rows this call wrote."""

    path: str
    rows_written: int


def _decode(data: bytes, path: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ToolInputError(
            f"{path!r} is not UTF-8 text (byte {exc.start})",
            hint="Only UTF-8 text files can be read; re-save the file as UTF-8.",
        ) from None


@flow_tool(category="files", side_effect=SideEffect.READS, example={"path": "leads.csv"})
def read_csv(path: PathParam) -> list[dict[str, Any]]:
    """Read a CSV file with a header row from the workspace into a list of row dicts.

    Missing trailing cells become "", surplus cells are kept as a list under `_extra`.
    """
    _, data = sandbox.read_bytes(path)
    reader = csv.DictReader(io.StringIO(_decode(data, path), newline=""), restval="")
    reader.restkey = EXTRA_FIELDS_KEY
    try:
        return [dict(row) for row in reader]
    except csv.Error as exc:
        raise ToolInputError(
            f"{path!r} is not valid CSV (line {reader.line_num}): {exc}",
            hint="Check quoting; the first line must be the header.",
        ) from None


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list | tuple):
        return json.dumps(value, ensure_ascii=False, default=str)
    return value


def _header(rows: list[dict[str, Any]], start: list[str] | None = None) -> list[str]:
    """The union of the rows' keys in first-seen order, after the columns of `start`."""
    header = list(start or [])
    seen = set(header)
    for row in rows:
        for key in row:
            if key not in seen:
                seen.add(key)
                header.append(str(key))
    return header


def _csv_text(header: list[str], rows: list[dict[str, Any]], *, with_header: bool) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header, restval="", lineterminator="\n")
    if with_header:
        writer.writeheader()
    for row in rows:
        writer.writerow({str(k): _cell(v) for k, v in row.items()})
    return out.getvalue()


@flow_tool(
    category="files",
    side_effect=SideEffect.WRITES,
    example={"path": "leads.csv", "rows": [{"email": "ada@example.com"}], "append": True},
)
def write_csv(
    path: PathParam,
    rows: Annotated[list[dict[str, Any]], Field(description="Rows to write, one dict per row.")],
    append: Annotated[
        bool, Field(description="Add to the end of an existing file instead of replacing it.")
    ] = False,
) -> CsvWriteResult:
    """Write rows (a list of dicts) to a CSV file in the workspace, or append them to it.

    The header is the union of the rows' keys. Appending keeps the existing header's column
    order; keys the file does not have yet are added as new columns (older rows get "").
    """
    real = sandbox.resolve_in_workspace(path, for_write=True)
    existing = ""
    if append and real.is_file():
        existing = _decode(sandbox.read_bytes(path)[1], path)
    if not existing.strip():
        if rows or not append:  # appending nothing to an empty file leaves it alone
            text = _csv_text(_header(rows), rows, with_header=bool(rows))
            real = sandbox.write_bytes(path, text.encode("utf-8"))
        return {"path": sandbox.relative(real), "rows_written": len(rows)}
    old_header = next(csv.reader(io.StringIO(existing, newline="")), [])
    header = _header(rows, old_header)
    if header == old_header:
        prefix = "" if existing.endswith("\n") else "\n"
        text = prefix + _csv_text(header, rows, with_header=False)
        real = sandbox.write_bytes(path, text.encode("utf-8"), append=True)
    else:  # new columns: rewrite the whole file once, atomically, with the widened header
        old_rows = list(csv.DictReader(io.StringIO(existing, newline=""), restval=""))
        text = _csv_text(header, [*old_rows, *rows], with_header=True)
        real = sandbox.write_bytes(path, text.encode("utf-8"))
    return {"path": sandbox.relative(real), "rows_written": len(rows)}


@flow_tool(category="files", side_effect=SideEffect.READS, example={"path": "data.json"})
def read_json(path: PathParam) -> Any:
    """Read and parse a JSON file from the workspace."""
    _, data = sandbox.read_bytes(path)
    try:
        return json.loads(_decode(data, path))
    except json.JSONDecodeError as exc:
        raise ToolInputError(
            f"{path!r} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
            hint="Fix the JSON syntax, or read the file with read_file.",
        ) from None


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise ToolInputError(
        f"a value of type {type(value).__name__} cannot be written as JSON",
        hint="Convert it to a string, number, list or dict first.",
    )


@flow_tool(
    category="files",
    side_effect=SideEffect.WRITES,
    example={"path": "result.json", "data": {"valid": True, "count": 3}},
)
def write_json(
    path: PathParam,
    data: Annotated[Any, Field(description="Any JSON value to store (dict, list, string...).")],
) -> WriteResult:
    """Save data as a pretty-printed JSON file in the workspace (replaces the file atomically)."""
    text = json.dumps(data, ensure_ascii=False, indent=2, default=_json_default) + "\n"
    encoded = text.encode("utf-8")
    real = sandbox.write_bytes(path, encoded)
    return {"path": sandbox.relative(real), "bytes": len(encoded)}


@flow_tool(category="files", side_effect=SideEffect.READS, example={"path": "notes.txt"})
def read_file(path: PathParam) -> str:
    """Read a UTF-8 text file from the workspace and return its content."""
    _, data = sandbox.read_bytes(path)
    return _decode(data, path)


@flow_tool(
    category="files",
    side_effect=SideEffect.WRITES,
    example={"path": "notes.txt", "content": "Hello\n", "append": True},
)
def write_file(
    path: PathParam,
    content: Annotated[str, Field(description="Text to write (stored as UTF-8).")],
    append: Annotated[
        bool, Field(description="Add to the end of the file instead of replacing it.")
    ] = False,
) -> WriteResult:
    """Write or append text to a file in the workspace; returns the bytes written by this call."""
    encoded = content.encode("utf-8")
    real = sandbox.write_bytes(path, encoded, append=append)
    return {"path": sandbox.relative(real), "bytes": len(encoded)}


TOOLS = [read_csv, write_csv, read_json, write_json, read_file, write_file]

"""File tools through `tool.invoke`, as the engine calls them, in a temporary workspace."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from app.errors import ToolInputError
from app.tools.base import SideEffect, tool_info
from app.tools.files import read_csv, read_file, read_json, write_csv, write_file, write_json


def test_side_effects_and_categories() -> None:
    for tool in (read_csv, read_json, read_file):
        assert tool_info(tool).side_effect is SideEffect.READS
    for tool in (write_csv, write_json, write_file):
        assert tool_info(tool).side_effect is SideEffect.WRITES
        assert set(tool_info(tool).output_schema["properties"]) >= {"path"}
    assert {tool_info(t).category for t in (read_csv, write_json)} == {"files"}


def test_write_csv_then_read_csv_round_trip(workspace: Path) -> None:
    rows = [{"name": "Ada", "age": 36}, {"name": "Linus", "city": "Helsinki"}]
    out = write_csv.invoke({"path": "people/team.csv", "rows": rows})
    assert out == {"path": "people/team.csv", "rows_written": 2}
    text = (workspace / "people" / "team.csv").read_text()
    assert text.splitlines()[0] == "name,age,city"  # union of keys, first-seen order
    assert read_csv.invoke({"path": "people/team.csv"}) == [
        {"name": "Ada", "age": "36", "city": ""},
        {"name": "Linus", "age": "", "city": "Helsinki"},
    ]


def test_append_honours_existing_header_order(workspace: Path) -> None:
    (workspace / "leads.csv").write_text("email,name\na@x.io,A\n")
    out = write_csv.invoke(
        {"path": "leads.csv", "rows": [{"name": "B", "email": "b@x.io"}], "append": True}
    )
    assert out["rows_written"] == 1
    assert (workspace / "leads.csv").read_text() == "email,name\na@x.io,A\nb@x.io,B\n"


def test_append_with_new_key_widens_the_header(workspace: Path) -> None:
    (workspace / "leads.csv").write_text("email\na@x.io")  # no trailing newline
    write_csv.invoke(
        {"path": "leads.csv", "rows": [{"email": "b@x.io", "score": 7}], "append": True}
    )
    assert read_csv.invoke({"path": "leads.csv"}) == [
        {"email": "a@x.io", "score": ""},
        {"email": "b@x.io", "score": "7"},
    ]


def test_append_to_missing_file_writes_header_once(workspace: Path) -> None:
    for email in ("a@x.io", "b@x.io"):
        write_csv.invoke({"path": "new.csv", "rows": [{"email": email}], "append": True})
    assert (workspace / "new.csv").read_text() == "email\na@x.io\nb@x.io\n"


def test_csv_cells_for_none_bool_and_nested_values(workspace: Path) -> None:
    write_csv.invoke({"path": "c.csv", "rows": [{"a": None, "b": True, "c": {"k": [1, 2]}}]})
    row = read_csv.invoke({"path": "c.csv"})[0]
    assert row == {"a": "", "b": "true", "c": '{"k": [1, 2]}'}


def test_csv_quoting_survives_commas_and_newlines(workspace: Path) -> None:
    rows = [{"note": 'says "hi", then\nleaves'}]
    write_csv.invoke({"path": "q.csv", "rows": rows})
    assert read_csv.invoke({"path": "q.csv"}) == rows


def test_read_csv_keeps_surplus_cells_and_strips_bom(workspace: Path) -> None:
    (workspace / "bom.csv").write_bytes("\ufeffa,b\n1,2,3\n".encode())
    assert read_csv.invoke({"path": "bom.csv"}) == [{"a": "1", "b": "2", "_extra": ["3"]}]


def test_write_is_atomic_and_leaves_no_temp_files(workspace: Path) -> None:
    write_file.invoke({"path": "f.txt", "content": "old"})
    write_file.invoke({"path": "f.txt", "content": "new"})
    assert os.listdir(workspace) == ["f.txt"]
    assert (workspace / "f.txt").read_text() == "new"


def test_failed_write_keeps_the_old_file(workspace: Path) -> None:
    write_json.invoke({"path": "d.json", "data": {"v": 1}})
    with pytest.raises(ToolInputError, match="cannot be written as JSON"):
        write_json.func(path="d.json", data={"v": object()})  # type: ignore[union-attr]
    assert json.loads((workspace / "d.json").read_text()) == {"v": 1}
    assert os.listdir(workspace) == ["d.json"]


def test_write_json_and_read_json(workspace: Path) -> None:
    data = {"name": "Zoë", "tags": ["a", "b"], "n": 1.5, "ok": True, "none": None}
    out = write_json.invoke({"path": "out/data.json", "data": data})
    raw = (workspace / "out" / "data.json").read_bytes()
    assert out == {"path": "out/data.json", "bytes": len(raw)}
    assert "Zoë" in raw.decode()  # not \\u-escaped
    assert read_json.invoke({"path": "out/data.json"}) == data


def test_read_json_reports_position_of_syntax_error(workspace: Path) -> None:
    (workspace / "bad.json").write_text('{"a": 1,\n "b": }')
    with pytest.raises(ToolInputError, match="line 2 column 7"):
        read_json.invoke({"path": "bad.json"})


def test_write_file_append_and_bytes(workspace: Path) -> None:
    assert write_file.invoke({"path": "log.txt", "content": "é\n"}) == {
        "path": "log.txt",
        "bytes": 3,
    }
    assert write_file.invoke({"path": "log.txt", "content": "b\n", "append": True})["bytes"] == 2
    assert read_file.invoke({"path": "log.txt"}) == "é\nb\n"


def test_read_file_refuses_binary(workspace: Path) -> None:
    (workspace / "bin.dat").write_bytes(b"\xff\xfe\x00\x01")
    with pytest.raises(ToolInputError, match="not UTF-8"):
        read_file.invoke({"path": "bin.dat"})


def test_examples_work(workspace: Path) -> None:
    for tool in (write_csv, write_json, write_file):
        tool.invoke(tool_info(tool).example)
    (workspace / "data.json").write_text("[1]")
    for tool in (read_csv, read_json, read_file):
        tool.invoke(tool_info(tool).example)

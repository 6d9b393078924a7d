"""The catalog registry: user tools from modules and entry points, TaskBench planning catalogs."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import pytest

from app.tools.base import SideEffect, tool_info
from app.tools.registry import (
    Catalog,
    CatalogError,
    load_catalog,
    tools_from_entry_points,
    tools_from_module,
    tools_from_taskbench,
)

USER_TOOLS = textwrap.dedent(
    '''
    from typing import Annotated
    from pydantic import Field
    from app.tools.base import SideEffect, flow_tool

    @flow_tool(category="custom", side_effect=SideEffect.PURE, example={"text": "abc"})
    def shout(text: Annotated[str, Field(description="Text to upper-case")]) -> str:
        """Upper-case a text."""
        return text.upper()
    '''
)

SHARED = Path(__file__).resolve().parents[2] / "shared"


def test_user_tools_from_a_file_path_run_and_carry_their_metadata(tmp_path: Path) -> None:
    module = tmp_path / "my_tools.py"
    module.write_text(USER_TOOLS)
    [tool] = tools_from_module(str(module))
    info = tool_info(tool)
    assert (info.name, info.category, info.side_effect) == ("shout", "custom", SideEffect.PURE)
    assert info.required_params == ["text"]
    assert info.output_schema == {"type": "string"}
    assert tool.invoke({"text": "hi"}) == "HI"


def test_user_tools_from_a_dotted_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "team_tools.py").write_text(USER_TOOLS)
    monkeypatch.syspath_prepend(str(tmp_path))
    assert [t.name for t in tools_from_module("team_tools")] == ["shout"]


def test_broken_or_empty_user_modules_give_clear_errors(tmp_path: Path) -> None:
    broken = tmp_path / "broken.py"
    broken.write_text("import does_not_exist_anywhere\n")
    with pytest.raises(CatalogError, match="ModuleNotFoundError"):
        tools_from_module(str(broken))
    empty = tmp_path / "empty.py"
    empty.write_text("X = 1\n")
    with pytest.raises(CatalogError, match="defines no tools"):
        tools_from_module(str(empty))
    with pytest.raises(CatalogError, match="not found"):
        tools_from_module(str(tmp_path / "missing.py"))


def test_entry_point_tools_are_discovered(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "ep_tools.py").write_text(USER_TOOLS)
    dist = tmp_path / "ep_tools-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: ep-tools\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[flowwright.tools]\nshout = ep_tools:shout\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert "shout" in [t.name for t in tools_from_entry_points()]


def test_taskbench_catalog_is_planning_only(tmp_path: Path) -> None:
    desc = tmp_path / "tool_desc.json"
    desc.write_text(
        json.dumps(
            {
                "nodes": [
                    {
                        "id": "get_weather",
                        "desc": "Get the weather for a city",
                        "parameters": [
                            {"name": "location", "type": "string", "desc": "City"},
                            {"name": "days", "type": "int", "desc": "How many days"},
                        ],
                    },
                    {"id": "Image Captioning", "desc": "Caption an image", "input-type": ["image"]},
                ]
            }
        )
    )
    catalog = load_catalog(taskbench=desc)
    assert catalog.names() == ["get_weather", "Image Captioning"]
    info = catalog.info("get_weather")
    assert info.planning_only
    assert info.params["days"]["type"] == "integer"
    assert catalog.info("Image Captioning").required_params == ["image"]
    with pytest.raises(CatalogError, match="planning-only"):
        catalog.get("get_weather").invoke({"location": "Paris", "days": 1})


def test_malformed_taskbench_file_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"nodes": [{"desc": "no id"}]}')
    with pytest.raises(CatalogError, match="not a TaskBench tool catalog"):
        tools_from_taskbench(bad)
    bad.write_text("{not json")
    with pytest.raises(CatalogError, match="cannot read"):
        tools_from_taskbench(bad)


@pytest.mark.skipif(not SHARED.exists(), reason="../shared benchmarks not present")
@pytest.mark.parametrize(
    ("folder", "count"),
    [("ultratool", 260), ("tmdb", 46), ("taskbench/dailylifeapis", 40)],
)
def test_shared_benchmark_catalogs_load(folder: str, count: int) -> None:
    catalog = load_catalog(taskbench=SHARED / "bench" / folder / "tool_desc.json")
    assert len(catalog) == count


def test_duplicate_tool_names_are_an_error(tmp_path: Path) -> None:
    module = tmp_path / "dupes.py"
    module.write_text(USER_TOOLS)
    tools = tools_from_module(str(module))
    with pytest.raises(CatalogError, match="two tools are named 'shout'"):
        Catalog([*tools, *tools])


def test_unknown_tool_lookup_suggests_close_names(tmp_path: Path) -> None:
    module = tmp_path / "sugg.py"
    module.write_text(USER_TOOLS)
    catalog = Catalog(tools_from_module(str(module)))
    with pytest.raises(CatalogError) as err:
        catalog.get("shuot")
    assert err.value.code == "TOOL_UNKNOWN"
    assert "shout" in (err.value.hint or "")


def test_user_module_is_isolated_from_sys_modules_name_clashes(tmp_path: Path) -> None:
    module = tmp_path / "json.py"  # a user file named like a stdlib module must not shadow it
    module.write_text(USER_TOOLS)
    tools_from_module(str(module))
    assert sys.modules["json"] is json


def test_async_user_tools_are_awaited_not_returned_as_coroutines(tmp_path: Path) -> None:
    module = tmp_path / "async_tools.py"
    module.write_text(
        USER_TOOLS.replace("def shout", "async def shout").replace(
            '"""Upper-case a text."""',
            '"""Upper-case a text."""\n    import asyncio\n    await asyncio.sleep(0)',
        )
    )
    [tool] = tools_from_module(str(module))
    import asyncio

    assert asyncio.run(tool.ainvoke({"text": "hi"})) == "HI"
    assert tool_info(tool).output_schema == {"type": "string"}

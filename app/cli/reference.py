"""Markdown reference generated from live code, so docs/tools.md and docs/configuration.md
cannot drift from the catalog and the settings (tests/test_docs.py compares them)."""

from __future__ import annotations

import types
import typing
from collections.abc import Sequence
from enum import Enum
from pathlib import Path
from typing import Any

from app.tools.base import ToolInfo

TOOLS_BEGIN = "<!-- BEGIN GENERATED: flowwright tools list --markdown -->"
TOOLS_END = "<!-- END GENERATED -->"
SETTINGS_BEGIN = "<!-- BEGIN GENERATED: settings -->"
SETTINGS_END = "<!-- END GENERATED -->"


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def tools_markdown(infos: Sequence[ToolInfo]) -> str:
    """A summary table of every tool, then one section per tool (params, output, example)."""
    from app.cli.render import schema_type, short
    from app.cli.tools_cmd import example_step_yaml, param_rows, param_signature

    lines = [
        TOOLS_BEGIN,
        "",
        "| tool | category | side effect | params (* required) | output | requires |",
        "|---|---|---|---|---|---|",
    ]
    for info in infos:
        lines.append(
            f"| [`{info.name}`](#{info.name.lower()}) | {_cell(info.category)} "
            f"| {info.side_effect} | {_cell(param_signature(info))} "
            f"| `{_cell(schema_type(info.output_schema))}` "
            f"| {_cell(', '.join(str(r) for r in info.requires))} |"
        )
    for category in dict.fromkeys(i.category for i in infos):
        lines += ["", f"## {category}"]
        for info in (i for i in infos if i.category == category):
            lines += ["", f"### {info.name}", "", short(info.description, 400), ""]
            rows = param_rows(info)
            if rows:
                lines += [
                    "| param | type | required | default | description |",
                    "|---|---|---|---|---|",
                ]
                for row in rows:
                    lines.append(
                        f"| `{row['name']}` | `{_cell(row['type'])}` "
                        f"| {'yes' if row['required'] else 'no'} "
                        f"| {_cell(row['default']) if row['default'] is not None else ''} "
                        f"| {_cell(row['description'])} |"
                    )
                lines.append("")
            lines.append(
                f"Output: `{_cell(schema_type(info.output_schema))}` · "
                f"side effect: `{info.side_effect}`"
                + (
                    f" · requires: {', '.join(str(r) for r in info.requires)}"
                    if info.requires
                    else ""
                )
            )
            lines += ["", "```yaml", example_step_yaml(info).rstrip(), "```"]
    lines += ["", TOOLS_END, ""]
    return "\n".join(lines)


def type_name(annotation: Any) -> str:
    """`str | None`, `Path`, `"rules" | "llm"`: annotations as a reader writes them."""
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        return " | ".join(f'"{a}"' for a in typing.get_args(annotation))
    if origin in (typing.Union, types.UnionType):
        return " | ".join(type_name(a) for a in typing.get_args(annotation))
    if annotation is type(None):
        return "None"
    return getattr(annotation, "__name__", str(annotation))


def default_text(value: Any) -> str:
    """A setting's default as it would be written in an environment variable."""
    if value is None:
        return "(unset)"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, int):
        return f"{value}"
    return str(value)


def settings_rows() -> list[dict[str, str]]:
    """One row per Settings field: env var, type, default, description."""
    from app.config import Settings

    prefix = Settings.model_config.get("env_prefix", "")
    return [
        {
            "env": f"{prefix}{name.upper()}",
            "type": type_name(field.annotation),
            "default": default_text(field.default),
            "description": field.description or "",
        }
        for name, field in Settings.model_fields.items()
    ]


def settings_markdown() -> str:
    """The generated settings table of docs/configuration.md."""
    lines = [
        SETTINGS_BEGIN,
        "",
        "| variable | type | default | description |",
        "|---|---|---|---|",
    ]
    for row in settings_rows():
        lines.append(
            f"| `{row['env']}` | `{_cell(row['type'])}` | `{_cell(row['default'])}` "
            f"| {_cell(row['description'])} |"
        )
    lines += ["", SETTINGS_END, ""]
    return "\n".join(lines)

"""The docs stay in step with the code: generated tables, commands, options and diagnostic codes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.cli.reference import (
    SETTINGS_BEGIN,
    SETTINGS_END,
    TOOLS_BEGIN,
    TOOLS_END,
    settings_markdown,
    tools_markdown,
)

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


def read(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


def block(text: str, begin: str, end: str) -> str:
    start = text.index(begin)
    return text[start : text.index(end, start) + len(end)] + "\n"


def test_tools_md_matches_the_live_catalog() -> None:
    from app.tools.registry import Catalog

    expected = tools_markdown(Catalog.builtin().infos())
    actual = block(read("tools.md"), TOOLS_BEGIN, TOOLS_END)
    assert actual == expected, (
        "docs/tools.md is stale: regenerate the block with `flowwright tools list --markdown`"
    )


def test_configuration_md_matches_settings() -> None:
    actual = block(read("configuration.md"), SETTINGS_BEGIN, SETTINGS_END)
    assert actual == settings_markdown(), "docs/configuration.md is stale (see app/config.py)"


def test_configuration_md_requirement_table_matches_tools() -> None:
    from app.tools.registry import Catalog

    text = read("configuration.md")
    for info in Catalog.builtin().infos():
        for requirement in info.requires:
            row = next(line for line in text.splitlines() if line.startswith(f"| `{requirement}`"))
            assert f"`{info.name}`" in row, (requirement, info.name)


def _commands() -> list[tuple[str, object]]:
    import typer.main

    from app.cli.main import app

    found = []
    stack = [("flowwright", typer.main.get_command(app))]
    while stack:
        path, command = stack.pop()
        subcommands = getattr(command, "commands", None)
        if subcommands:
            stack.extend((f"{path} {name}", sub) for name, sub in subcommands.items())
        else:
            found.append((path, command))
    return sorted(found, key=lambda item: item[0])


@pytest.mark.parametrize("path,command", _commands(), ids=lambda v: v if isinstance(v, str) else "")
def test_cli_md_documents_every_command_and_option(path: str, command: object) -> None:
    text = read("cli.md")
    assert f"`{path}" in text, f"docs/cli.md does not document `{path}`"
    for param in command.params:  # type: ignore[attr-defined]
        if getattr(param, "hidden", False) or param.param_type_name != "option":
            continue
        assert any(opt in text for opt in param.opts), (path, param.opts)


def _diagnostic_codes() -> set[str]:
    """Codes in the validator and every `app.workflow` module it uses (loader, expressions…)."""
    import importlib
    import sys

    importlib.import_module("app.workflow.validator")
    modules = [m for name, m in sys.modules.items() if name.startswith("app.workflow.")]
    codes: set[str] = set()
    for module in modules:
        text = Path(module.__file__).read_text(encoding="utf-8")
        codes |= set(re.findall(r'code\s*=\s*"([A-Z][A-Z0-9_]+)"', text))
        # first argument of a diagnostic helper: add("X", ...), _diag("X", ...), Issue("X", ...)
        codes |= set(re.findall(r'\w\(\s*"([A-Z][A-Z0-9]*_[A-Z0-9_]+)"', text))
    return codes - {"FLOWWRIGHT_ERROR"}


def test_spec_md_documents_every_diagnostic_code() -> None:
    codes = _diagnostic_codes()
    assert {"SPEC_PARSE", "TOOL_UNKNOWN", "EXPR_UNSAFE"} <= codes
    text = read("spec.md")
    missing = sorted(code for code in codes if f"`{code}`" not in text)
    assert not missing, f"docs/spec.md lacks diagnostic codes: {missing}"


@pytest.mark.parametrize(
    "doc", ["README.md", *(f"docs/{p.name}" for p in sorted(DOCS.glob("*.md")))]
)
def test_relative_links_resolve(doc: str) -> None:
    path = ROOT / doc
    for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", path.read_text(encoding="utf-8")):
        if "://" in target or target.startswith("mailto:"):
            continue
        assert (path.parent / target).exists(), f"{doc} links to missing {target}"

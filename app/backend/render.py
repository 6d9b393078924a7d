"""Templates → files in memory → formatted in a temp dir → moved into place atomically.

Nothing reaches the output directory unless every file rendered and formatting succeeded, so an
invalid model or a template error never leaves a half-written project behind.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from app.backend.context import build_context
from app.backend.model import DataModel
from app.errors import FlowwrightError

TEMPLATES = Path(__file__).resolve().parents[2] / "templates" / "backend"
_ENV: Environment | None = None


class RenderError(FlowwrightError):
    code = "BACKEND_RENDER"


def environment() -> Environment:
    """Our own templates (not user input): a plain Environment; model strings go through repr."""
    global _ENV
    if _ENV is None:
        _ENV = Environment(
            loader=FileSystemLoader(str(TEMPLATES)),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
            autoescape=False,
        )
    return _ENV


def render_files(model: DataModel) -> dict[str, str]:
    """Relative path → file content for the whole generated project."""
    env = environment()
    ctx = build_context(model)
    pkg = ctx["package"]
    files: dict[str, str] = {}

    def put(path: str, template: str, **extra: object) -> None:
        files[path] = env.get_template(template).render(**ctx, **extra)

    put("README.md", "README.md.j2")
    put("requirements.txt", "requirements.txt.j2")
    put("pyproject.toml", "pyproject.toml.j2")
    put("alembic.ini", "alembic.ini.j2")
    put("migrations/env.py", "migrations/env.py.j2")
    put("migrations/script.py.mako", "migrations/script.py.mako.j2")
    put("migrations/versions/0001_initial.py", "migrations/versions/0001_initial.py.j2")
    for name in ("__init__", "database", "models", "schemas", "main"):
        put(f"{pkg}/{name}.py", f"package/{name}.py.j2")
    put(f"{pkg}/routers/__init__.py", "package/routers/__init__.py.j2")
    put("tests/conftest.py", "tests/conftest.py.j2")
    put("tests/test_app.py", "tests/test_app.py.j2")
    for entity in ctx["entities"]:
        put(f"{pkg}/routers/{entity.table}.py", "package/routers/entity.py.j2", e=entity)
        put(f"tests/test_{entity.table}.py", "tests/test_entity.py.j2", e=entity)
    return files


def ruff_command() -> list[str] | None:
    """The ruff next to this interpreter (the venv's), else on PATH, else None."""
    local = Path(sys.executable).with_name("ruff")
    if local.exists():
        return [str(local)]
    found = shutil.which("ruff")
    return [found] if found else None


def format_tree(root: Path) -> None:
    """Drop unused imports, sort imports, then `ruff format` (no-op without ruff)."""
    ruff = ruff_command()
    if ruff is None:
        return
    for args in (["check", "--fix-only", "--select", "F401,I", "--quiet"], ["format", "--quiet"]):
        proc = subprocess.run(
            [*ruff, *args, "--no-cache", "."], cwd=root, capture_output=True, text=True, timeout=60
        )
        if proc.returncode != 0:
            raise RenderError(f"ruff {args[0]} failed on the generated code: {proc.stderr[:500]}")


def write_project(files: dict[str, str], out_dir: Path, *, overwrite: bool = False) -> Path:
    """Write into a temp dir next to `out_dir`, format, then rename into place."""
    out_dir = out_dir.resolve()
    if out_dir.exists() and any(out_dir.iterdir()) and not overwrite:
        raise RenderError(
            f"{out_dir} exists and is not empty", hint="Choose a new --out or pass --overwrite."
        )
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        for rel, content in files.items():
            path = tmp / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content, encoding="utf-8")
        format_tree(tmp)
        os.chmod(tmp, 0o755)
        if out_dir.exists():
            backup = out_dir.with_name(f".{out_dir.name}.old-{os.getpid()}")
            out_dir.rename(backup)
            tmp.rename(out_dir)
            shutil.rmtree(backup, ignore_errors=True)
        else:
            tmp.rename(out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out_dir

"""`flowwright --help` stays fast because importing the CLI pulls in none of the heavy stacks.

Nothing is timed here (timings are flaky in CI); benchmarks/cli_startup.py measures the time.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEAVY = "{'langchain_core','langchain','langgraph','jinja2','httpx','sqlalchemy'}"


def _modules_after(code: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def test_importing_the_cli_imports_no_heavy_module() -> None:
    code = (
        "import app.cli.main, sys; "
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY}))"
    )
    assert _modules_after(code) == "[]"


def test_help_imports_no_heavy_module_nor_the_tools() -> None:
    code = (
        "import sys\n"
        "from app.cli.main import main\n"
        "try:\n"
        "    main(['--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        f"heavy = {HEAVY} | {{'app.tools', 'app.workflow', 'pydantic'}}\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy\n"
        "             or '.'.join(m.split('.')[:2]) in heavy))\n"
    )
    assert _modules_after(code) == "[]"

"""`flowwright spec schema`: the exported, versioned JSON Schema of workflow spec v1."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from app.errors import FlowwrightError


def schema_json() -> str:
    """The schema as pretty JSON text (what `spec schema` prints)."""
    from app.workflow.spec import json_schema

    return json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"


def run_schema(out_file: str | None) -> int:
    """Print the schema, or write it to `out_file` and say where it went (on stderr)."""
    text = schema_json()
    if out_file is None or out_file == "-":
        sys.stdout.write(text)
        return 0
    path = Path(out_file)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise FlowwrightError(
            f"cannot write {path}: {exc.strerror or exc}",
            hint="Choose a writable path for --out.",
            code="OUTPUT_ERROR",
        ) from exc
    sys.stderr.write(f"wrote {path} ({len(text)} bytes)\n")
    return 0

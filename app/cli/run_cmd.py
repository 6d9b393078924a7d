"""`flowwright run`: validate a workflow, read its inputs, run it (or a dry run) with live steps."""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from app.cli.catalogs import cli_catalog
from app.cli.render import print_json
from app.cli.run_view import live_steps, print_result
from app.cli.validate_cmd import check_one, print_diagnostics
from app.errors import FlowwrightError

EXIT_OK, EXIT_RUN_FAILED, EXIT_INVALID, EXIT_INTERRUPTED = 0, 1, 2, 130
MAX_INPUTS_FILE_BYTES = 10_000_000


class InputsFileError(FlowwrightError):
    code = "INPUTS_INVALID"


def parse_input_pairs(pairs: Sequence[str]) -> dict[str, str]:
    """`--input k=v` pairs; values stay text and are coerced to declared types by the engine."""
    given: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise InputsFileError(
                f"--input {pair!r} is not NAME=VALUE", hint="Write --input email=ada@example.com"
            )
        given[name.strip()] = value
    return given


def read_inputs_file(path: str) -> dict[str, Any]:
    """A JSON or YAML mapping of input values."""
    import yaml

    file = Path(path)
    try:
        if file.stat().st_size > MAX_INPUTS_FILE_BYTES:
            raise InputsFileError(f"{path} is larger than {MAX_INPUTS_FILE_BYTES} bytes")
        text = file.read_text(encoding="utf-8")
        data = json.loads(text) if file.suffix == ".json" else yaml.safe_load(text)
    except OSError as exc:
        raise InputsFileError(f"cannot read {path}: {exc.strerror}") from None
    except (ValueError, yaml.YAMLError) as exc:
        raise InputsFileError(
            f"{path} is not valid {'JSON' if file.suffix == '.json' else 'YAML'}: {exc}",
            hint="Give a mapping of input names to values.",
        ) from None
    if not isinstance(data, dict):
        raise InputsFileError(f"{path} must hold a mapping of input names to values")
    return data


def example_values(spec: Any) -> dict[str, Any]:
    """Each input's declared `example`, for trying a workflow without typing its inputs."""
    return {name: d.example for name, d in spec.inputs.items() if d.example is not None}


def load_valid_spec(file: str, catalog: Any) -> Any:
    """The spec of a file that validates, or None after printing its diagnostics."""
    checked = check_one(file, catalog)
    if not checked.report.ok:
        print_diagnostics(checked)
        return None
    return checked.report.spec


def run_workflow(
    file: str,
    *,
    inputs: Sequence[str],
    inputs_file: str | None,
    dry_run: bool,
    as_json: bool,
    modules: Sequence[str],
    example_inputs: bool = False,
) -> int:
    """Exit 0 when the run succeeded (or waits for approval), 1 when it failed, 2 on bad input."""
    from app.services.runs import run_service

    catalog = cli_catalog(None, modules)
    spec = load_valid_spec(file, catalog)
    if spec is None:
        return EXIT_INVALID
    given = example_values(spec) if example_inputs else {}
    given.update(read_inputs_file(inputs_file) if inputs_file else {})
    given.update(parse_input_pairs(inputs))

    run_id = uuid.uuid4().hex

    async def go() -> Any:
        async with run_service(catalog) as service:
            with live_steps(spec, enabled=not as_json) as on_event:
                return await service.start(
                    spec, given, dry_run=dry_run, on_event=on_event, run_id=run_id
                )

    try:
        result = asyncio.run(go())
    except KeyboardInterrupt:
        sys.stderr.write(
            f"interrupted: run {run_id} stopped; finished steps are kept. "
            f"Continue it with `flowwright runs resume {run_id}`.\n"
        )
        return EXIT_INTERRUPTED
    if as_json:
        print_json(result.model_dump(mode="json"))
    else:
        print_result(result)
    return EXIT_RUN_FAILED if result.status.value in ("failed", "rejected") else EXIT_OK

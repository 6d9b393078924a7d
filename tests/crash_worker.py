"""Run or resume a workflow in its own process, so a test can SIGKILL it mid-run.

Usage: python -m tests.crash_worker run|resume SPEC.yaml RUN_ID
"""

from __future__ import annotations

import asyncio
import sys

import yaml

from app.engine.checkpoints import open_checkpointer
from app.engine.runner import WorkflowRunner
from app.workflow.spec import WorkflowSpec
from tests import engine_tools


async def main(mode: str, spec_path: str, run_id: str) -> None:
    with open(spec_path, encoding="utf-8") as fh:
        spec = WorkflowSpec.model_validate(yaml.safe_load(fh))
    async with open_checkpointer() as checkpointer:
        runner = WorkflowRunner(engine_tools.catalog(), checkpointer)
        if mode == "run":
            result = await runner.run(spec, {}, run_id=run_id)
        else:
            result = await runner.resume(spec, run_id)
    print(result.model_dump_json())


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))

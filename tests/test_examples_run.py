"""Every example runs offline: a dry run always, and a real run when all its tools are local."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest

from app.config import get_settings
from app.engine.results import RunStatus
from app.engine.runner import WorkflowRunner
from app.tools.registry import Catalog
from app.workflow.loader import load_spec_file

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "examples").glob("*.yaml"))


@pytest.fixture
def example_workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    workspace = tmp_path / "workspace"
    shutil.copytree(EXAMPLES[0].parent / "workspace", workspace)
    monkeypatch.setenv("FLOWWRIGHT_WORKSPACE", str(workspace))
    get_settings.cache_clear()
    yield workspace
    get_settings.cache_clear()


def is_local(spec: object, catalog: Catalog) -> bool:
    infos = [catalog.info(step.tool) for step in spec.steps]  # type: ignore[attr-defined]
    return all(i.side_effect != "network" and not i.requires for i in infos)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_runs_offline(path: Path, example_workspace: Path) -> None:
    spec = load_spec_file(path).spec
    assert spec is not None
    catalog = Catalog.builtin()
    inputs = {name: decl.example for name, decl in spec.inputs.items() if decl.example is not None}
    modes = [True, False] if is_local(spec, catalog) else [True]
    for dry_run in modes:
        result = asyncio.run(WorkflowRunner(catalog).run(spec, inputs, dry_run=dry_run))
        failures = {s.id: s.error for s in result.steps if s.error}
        assert result.status is RunStatus.SUCCEEDED, failures
        if not dry_run:
            assert not result.simulated_steps


def test_most_examples_run_for_real() -> None:
    catalog = Catalog.builtin()
    local = [p.stem for p in EXAMPLES if is_local(load_spec_file(p).spec, catalog)]
    assert len(local) >= 4, local

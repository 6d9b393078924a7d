"""The examples are the product's showcase: every one validates, and together they exercise
conditions, loops, parallel branches, retries, error tolerance, approvals and ≥ 15 tools.

Features are computed from the specs themselves, so removing one from the examples fails here.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest
import yaml

from app.workflow.expressions import collect_strings, references
from app.workflow.spec import WorkflowSpec

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))


@cache
def load(path: Path) -> WorkflowSpec:
    return WorkflowSpec.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))


def dependencies(spec: WorkflowSpec) -> dict[str, set[str]]:
    """DESIGN §2: `depends_on` ∪ every `steps.<id>` read in params, when and for_each."""
    deps: dict[str, set[str]] = {}
    for step in spec.steps:
        found = set(step.depends_on)
        for _, text in collect_strings([step.params, step.when, step.for_each]):
            found |= {str(r.path[0]) for r in references(text) if r.root == "steps" and r.path}
        deps[step.id] = found
    return deps


def ancestors(deps: dict[str, set[str]], step_id: str) -> set[str]:
    seen: set[str] = set()
    stack = list(deps[step_id])
    while stack:
        current = stack.pop()
        if current not in seen:
            seen.add(current)
            stack.extend(deps.get(current, ()))
    return seen


def has_parallel_join(spec: WorkflowSpec) -> bool:
    """Two steps with no path between them that a later step (transitively) waits for."""
    deps = dependencies(spec)
    for step_id in deps:
        above = sorted(ancestors(deps, step_id))
        for i, a in enumerate(above):
            for b in above[i + 1 :]:
                if a not in ancestors(deps, b) and b not in ancestors(deps, a):
                    return True
    return False


def test_there_are_at_least_six_examples() -> None:
    assert len(EXAMPLES) >= 6


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_validates_without_errors(path: Path) -> None:
    from app.tools.registry import Catalog
    from app.workflow.validator import validate_file

    report = validate_file(path, Catalog.builtin())
    errors = [d for d in report.diagnostics if d.severity == "error"]
    assert report.ok and not errors, errors


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_documents_inputs_and_outputs(path: Path) -> None:
    spec = load(path)
    assert spec.description
    assert spec.outputs
    assert spec.inputs and all(inp.example is not None for inp in spec.inputs.values())


def test_examples_together_use_every_feature() -> None:
    specs = [load(p) for p in EXAMPLES]
    steps = [s for spec in specs for s in spec.steps]
    assert any(s.when is not None for s in steps), "a `when` condition"
    assert any(s.for_each is not None for s in steps), "a `for_each` loop"
    assert any(s.approval for s in steps), "an `approval: true` step"
    assert any(s.on_error == "continue" for s in steps), "`on_error: continue`"
    assert any(s.retry is not None for s in steps), "a `retry` policy"
    assert any(has_parallel_join(spec) for spec in specs), "parallel branches joined later"


def test_examples_use_at_least_15_distinct_builtin_tools() -> None:
    from app.tools.registry import Catalog

    used = {s.tool for p in EXAMPLES for s in load(p).steps}
    builtin = set(Catalog.builtin().names())
    assert used <= builtin, used - builtin
    assert len(used) >= 15, sorted(used)


def test_examples_readme_lists_every_example() -> None:
    readme = (ROOT / "examples" / "README.md").read_text(encoding="utf-8")
    for path in EXAMPLES:
        assert f"`{path.name}`" in readme, path.name


def test_parallel_join_detection() -> None:
    """Guard the helper itself: a chain has no parallel branches, a diamond has."""
    chain = WorkflowSpec.model_validate({"flowwright": "1", "name": "c", "steps": [
        {"id": "a", "tool": "t"}, {"id": "b", "tool": "t", "depends_on": ["a"]},
        {"id": "c", "tool": "t", "params": {"x": "{{ steps.b.output }}"}}]})  # fmt: skip
    diamond = WorkflowSpec.model_validate({"flowwright": "1", "name": "d", "steps": [
        {"id": "a", "tool": "t"}, {"id": "b", "tool": "t"},
        {"id": "c", "tool": "t", "params": {"x": "{{ steps.a.output }}{{ steps.b.output }}"}},
    ]})  # fmt: skip
    assert not has_parallel_join(chain)
    assert has_parallel_join(diamond)

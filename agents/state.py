"""The generator graph's state (DESIGN §4): plain data only, so every checkpoint is portable.

Everything in `GenState` is JSON-like (the spec as its canonical data, diagnostics and the run
result as dicts) because the checkpointer persists it between nodes and a resumed job must rebuild
the same state in another process. Live objects (the tool catalog) travel in `GenContext`, the
LangGraph runtime context, which is supplied again on resume and never checkpointed.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from typing import Annotated, Any, Literal, TypedDict

from app.tools.registry import Catalog

PlannerName = Literal["rules", "llm"]
DEFAULT_MAX_ATTEMPTS = 3
DEFAULT_TEST_TIMEOUT_S = 120.0


class GenOptions(TypedDict, total=False):
    """What the caller asked for; fixed for the life of a job."""

    planner: PlannerName
    execute: bool  # real run instead of a dry run
    approve: bool  # pause for a human before a run with side effects
    inputs: dict[str, Any]  # overrides of the example inputs
    max_attempts: int  # planner attempts (repair loop) before giving up
    run_tests: bool  # run the generated pytest file as an artifact check
    test_timeout_s: float
    out_dir: str | None  # absolute path the artifacts end up in (set by the generator if None)
    out_root: str  # where `<workflow name>/` goes when no out_dir was given


class CatalogView(TypedDict, total=False):
    """Which catalog the job plans over: enough to rebuild it on resume."""

    source: str  # "builtin" or the TaskBench file path
    tools: int


class GenState(TypedDict, total=False):
    """The state every node reads and updates (one thread per job id)."""

    job_id: str
    request: str
    target: Literal["workflow"]
    options: GenOptions
    catalog: CatalogView
    plan: dict[str, Any] | None  # WorkflowSpec.to_data(), once a plan exists
    notes: list[str]  # the planner's explanations
    last_answer: str | None  # the LLM's raw answer, sent back when repairing
    diagnostics: list[dict[str, Any]]  # Diagnostic.model_dump() of the latest check
    attempts: int
    phase: Literal["plan", "artifacts"]  # what the validator checks next
    run: dict[str, Any] | None  # RunResult.model_dump(mode="json")
    artifacts: list[str]  # paths relative to out_dir
    checks: list[dict[str, Any]]  # CheckResult.model_dump()
    status: str
    error: dict[str, Any] | None  # {code, message, hint}
    events: Annotated[list[dict[str, Any]], operator.add]


@dataclass(frozen=True)
class GenContext:
    """Per-invocation objects the nodes need but the checkpoint must not hold."""

    catalog: Catalog


def error_dict(code: str, message: str, hint: str | None = None) -> dict[str, Any]:
    return {"code": code, "message": message, "hint": hint}

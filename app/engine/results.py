"""What a run reports: per-step results (kept in graph state) and the run's overall result."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field
from typing_extensions import TypedDict


class StepStatus(StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"
    SIMULATED = "simulated"
    CANCELLED = "cancelled"  # not run because an earlier step failed the run
    REJECTED = "rejected"  # a human rejected the approval


class RunStatus(StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    WAITING_APPROVAL = "waiting_approval"
    REJECTED = "rejected"


FINISHED_STEP = frozenset(StepStatus)
DONE_OK = frozenset({StepStatus.SUCCEEDED, StepStatus.SIMULATED})


class StepError(TypedDict):
    code: str
    message: str
    hint: str | None


class StepRecord(TypedDict, total=False):
    """One step's result as stored in graph state and checkpoints (plain data only)."""

    status: str
    output: Any
    error: StepError | None
    attempts: int
    started_at: float
    finished_at: float
    reason: str  # why it was skipped, cancelled or rejected
    item_errors: list[StepError | None]  # for_each: per-item errors when some items failed


class StepResult(BaseModel):
    id: str
    tool: str
    status: StepStatus
    output: Any = None
    error: StepError | None = None
    attempts: int = 0
    started_at: datetime | None = None
    finished_at: datetime | None = None
    duration_ms: float | None = None
    reason: str | None = None
    item_errors: list[StepError | None] | None = None


class RunResult(BaseModel):
    """The outcome of a run, as the CLI and API report it."""

    run_id: str
    workflow: str
    status: RunStatus
    dry_run: bool = False
    inputs: dict[str, Any] = Field(default_factory=dict)
    steps: list[StepResult] = Field(default_factory=list)
    outputs: dict[str, Any] = Field(default_factory=dict)
    simulated_steps: list[str] = Field(default_factory=list)
    waiting_for: str | None = None  # the step awaiting approval
    error: StepError | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    trace_id: str | None = None  # the local trace of the latest start/resume/approval

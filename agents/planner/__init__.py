"""The rules planner (embedded, offline, deterministic): `plan(request, catalog)`."""

from agents.planner.result import PlanError, PlanningError, PlanResult
from agents.planner.rules import plan

__all__ = ["PlanError", "PlanResult", "PlanningError", "plan"]

"""`generate_backend`: model file / model / plain-English request → a checked service on disk."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.backend.checks import CheckResult, run_all
from app.backend.model import DataModel
from app.backend.naming import snake
from app.backend.validator import ModelReport, load_model_file, validate_data
from app.workflow.diagnostics import Diagnostic

MODEL_SUFFIXES = (".yaml", ".yml", ".json")


@dataclass
class BackendResult:
    """What generation produced; `ok` is false on invalid input or any failed check."""

    report: ModelReport
    out_dir: Path | None = None
    files: list[str] = field(default_factory=list)
    checks: list[CheckResult] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    planned_from: str | None = None  # the English request, when the model was planned

    @property
    def model(self) -> DataModel | None:
        return self.report.model

    @property
    def diagnostics(self) -> list[Diagnostic]:
        return self.report.diagnostics

    @property
    def ok(self) -> bool:
        return self.report.ok and self.out_dir is not None and all(c.ok for c in self.checks)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "out_dir": str(self.out_dir) if self.out_dir else None,
            "package": snake(self.model.name) if self.model else None,
            "files": self.files,
            "diagnostics": [d.model_dump(mode="json") for d in self.diagnostics],
            "checks": [c.to_dict() for c in self.checks],
            "timings": {k: round(v, 3) for k, v in self.timings.items()},
            "model": self.model.model_dump(mode="json", exclude_none=True) if self.model else None,
        }


def load_input(
    model_or_request: DataModel | dict[str, Any] | Path | str,
) -> tuple[ModelReport, str | None]:
    """(validated model report, the request if planned from English)."""
    if isinstance(model_or_request, DataModel | dict):
        return validate_data(model_or_request), None
    if isinstance(model_or_request, Path) or (
        isinstance(model_or_request, str)
        and model_or_request.strip().lower().endswith(MODEL_SUFFIXES)
        and "\n" not in model_or_request
    ):
        return load_model_file(model_or_request), None
    from app.backend.planner import plan_model

    data = plan_model(model_or_request)
    report = validate_data(data, source="<request>")
    return report, model_or_request


def generate_backend(
    model_or_request: DataModel | dict[str, Any] | Path | str,
    out_dir: Path | str,
    *,
    run_checks: bool = True,
    postgres_url: str | None = None,
    overwrite: bool = False,
) -> BackendResult:
    """Validate (or plan), render in memory, write atomically, then run the checks if asked.

    Invalid input returns diagnostics and writes nothing.
    """
    from app.backend.render import render_files, write_project

    start = time.perf_counter()
    report, request = load_input(model_or_request)
    result = BackendResult(report, planned_from=request)
    result.timings["validate"] = time.perf_counter() - start
    if not report.ok or report.model is None:
        return result
    t = time.perf_counter()
    files = render_files(report.model)
    result.timings["render"] = time.perf_counter() - t
    t = time.perf_counter()
    result.out_dir = write_project(files, Path(out_dir), overwrite=overwrite)
    result.files = sorted(files)
    result.timings["write"] = time.perf_counter() - t
    result.timings["generate"] = time.perf_counter() - start
    if run_checks:
        t = time.perf_counter()
        result.checks = run_all(result.out_dir, snake(report.model.name), postgres_url=postgres_url)
        result.timings["checks"] = time.perf_counter() - t
    return result

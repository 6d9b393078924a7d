"""Engine semantics: concurrency, skips, for_each, retries, timeouts, on_error, outputs, dry run."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
import yaml

from app.engine import retry as retry_module
from app.engine.inputs import InputError
from app.engine.results import RunStatus, StepStatus
from app.engine.runner import WorkflowRunner
from app.workflow.spec import WorkflowSpec
from tests import engine_tools


@pytest.fixture(autouse=True)
def _fresh_tools() -> None:
    engine_tools.reset()


def spec(text: str) -> WorkflowSpec:
    return WorkflowSpec.model_validate(yaml.safe_load(text))


def run(workflow: WorkflowSpec, inputs: dict[str, Any] | None = None, **kw: Any) -> Any:
    runner = WorkflowRunner(engine_tools.catalog())
    return asyncio.run(runner.run(workflow, inputs or {}, **kw))


def by_id(result: Any) -> dict[str, Any]:
    return {s.id: s for s in result.steps}


def test_independent_steps_overlap_in_time() -> None:
    result = run(
        spec(
            """
            flowwright: "1"
            name: parallel
            steps:
              - {id: a, tool: nap, params: {label: a, seconds: 0.3}}
              - {id: b, tool: nap, params: {label: b, seconds: 0.3}}
              - {id: join, tool: echo, params: {value: "{{ [steps.a.output.label, steps.b.output.label] }}"}}
            outputs: {both: "{{ steps.join.output }}"}
            """
        )
    )
    assert result.status is RunStatus.SUCCEEDED
    (a0, a1), (b0, b1) = engine_tools.intervals["a"], engine_tools.intervals["b"]
    assert a0 < b1 and b0 < a1, "a and b should have run at the same time"
    assert result.outputs == {"both": ["a", "b"]}


def test_when_false_skips_and_skips_propagate_to_steps_depending_only_on_skipped() -> None:
    result = run(
        spec(
            """
            flowwright: "1"
            name: skips
            inputs: {go: {type: boolean}}
            steps:
              - {id: gate, tool: nap, when: "{{ inputs.go }}", params: {label: gate}}
              - {id: after_gate, tool: nap, params: {label: "{{ steps.gate.output.label }}"}}
              - {id: other, tool: nap, params: {label: other}}
              - {id: mixed, tool: echo, params: {value: "{{ steps.other.output.label }}"}, depends_on: [gate]}
            """
        ),
        {"go": "false"},
    )
    steps = by_id(result)
    assert steps["gate"].status is StepStatus.SKIPPED
    assert "when" in steps["gate"].reason
    assert steps["after_gate"].status is StepStatus.SKIPPED
    assert steps["mixed"].status is StepStatus.SUCCEEDED
    assert result.status is RunStatus.SUCCEEDED


def test_for_each_keeps_item_order_and_respects_the_concurrency_limit() -> None:
    result = run(
        spec(
            """
            flowwright: "1"
            name: fan
            steps:
              - id: each
                tool: nap
                for_each: "{{ [0.25, 0.2, 0.15, 0.1, 0.05, 0.0] }}"
                concurrency: 2
                params: {label: "item-{{ item }}", seconds: "{{ item }}"}
            """
        )
    )
    labels = [o["label"] for o in by_id(result)["each"].output]
    assert labels == ["item-0.25", "item-0.2", "item-0.15", "item-0.1", "item-0.05", "item-0.0"]
    assert engine_tools.peak_active == 2


def test_transient_errors_are_retried_with_growing_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    delays: list[float] = []
    real_sleep = asyncio.sleep

    async def fake_sleep(seconds: float) -> None:
        delays.append(seconds)
        await real_sleep(0)

    monkeypatch.setattr("app.engine.step.asyncio.sleep", fake_sleep)
    monkeypatch.setattr(retry_module.random, "uniform", lambda low, high: high)
    result = run(
        spec(
            """
            flowwright: "1"
            name: retries
            steps:
              - id: flaky
                tool: flaky
                params: {key: t, failures: 3}
                retry: {max_attempts: 4, backoff_s: 0.5}
            """
        )
    )
    step = by_id(result)["flaky"]
    assert (step.status, step.output, step.attempts) == (StepStatus.SUCCEEDED, "ok after 4", 4)
    assert delays == [0.5, 1.0, 2.0]


def test_input_errors_are_never_retried() -> None:
    result = run(
        spec(
            """
            flowwright: "1"
            name: no-retry
            steps:
              - id: bad
                tool: flaky
                params: {key: v, failures: 5, kind: input}
                retry: {max_attempts: 5, backoff_s: 0}
            """
        )
    )
    step = by_id(result)["bad"]
    assert (step.status, step.attempts, step.error["code"]) == (StepStatus.FAILED, 1, "TOOL_INPUT")
    assert engine_tools.flaky_calls["v"] == 1
    assert result.status is RunStatus.FAILED


def test_timeout_fails_the_step_with_a_clear_error() -> None:
    result = run(
        spec(
            """
            flowwright: "1"
            name: slow
            steps:
              - {id: slow, tool: nap, params: {label: slow, seconds: 1.0}, timeout_s: 0.1}
              - {id: after, tool: echo, params: {value: "{{ steps.slow.output }}"}}
            """
        )
    )
    steps = by_id(result)
    assert steps["slow"].status is StepStatus.FAILED
    assert steps["slow"].error["code"] == "TIMEOUT"
    assert steps["after"].status is StepStatus.CANCELLED
    assert result.status is RunStatus.FAILED
    assert result.error["code"] == "TIMEOUT"


def test_on_error_continue_records_the_error_and_goes_on() -> None:
    result = run(
        spec(
            """
            flowwright: "1"
            name: continue
            steps:
              - {id: bad, tool: flaky, params: {key: c, failures: 1, kind: input}, on_error: continue}
              - {id: next, tool: echo, params: {value: "{{ steps.bad.status }}"}}
            outputs: {seen: "{{ steps.next.output }}"}
            """
        )
    )
    steps = by_id(result)
    assert steps["bad"].status is StepStatus.FAILED
    assert steps["bad"].error["message"] == "bad argument"
    assert result.status is RunStatus.SUCCEEDED
    assert result.outputs == {"seen": "failed"}


def test_step_output_is_exactly_the_tools_return_value() -> None:
    value = {"nested": {"list": [1, 2, {"x": None}]}, "flag": True}
    result = run(
        spec(
            """
            flowwright: "1"
            name: exact
            inputs: {v: {type: object}}
            steps:
              - {id: e, tool: echo, params: {value: "{{ inputs.v }}"}}
            outputs: {v: "{{ steps.e.output }}"}
            """
        ),
        {"v": value},
    )
    assert by_id(result)["e"].output == value
    assert result.outputs == {"v": value}


def test_dry_run_simulates_side_effects_and_says_so(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    result = run(
        spec(
            f"""
            flowwright: "1"
            name: dry
            steps:
              - {{id: pure, tool: echo, params: {{value: 1}}}}
              - {{id: write, tool: record, params: {{path: "{target}", text: hi}}}}
            """
        ),
        dry_run=True,
    )
    steps = by_id(result)
    assert steps["pure"].status is StepStatus.SUCCEEDED
    assert steps["write"].status is StepStatus.SIMULATED
    assert set(steps["write"].output) == {"path", "bytes"}
    assert result.simulated_steps == ["write"]
    assert result.dry_run
    assert not target.exists()


def test_missing_and_malformed_inputs_are_input_errors() -> None:
    workflow = spec(
        """
        flowwright: "1"
        name: typed
        inputs: {n: {type: integer}, tags: {type: array, required: false}}
        steps:
          - {id: e, tool: echo, params: {value: "{{ inputs.n }}"}}
        """
    )
    with pytest.raises(InputError, match="missing required input"):
        run(workflow, {})
    with pytest.raises(InputError, match="input 'n'"):
        run(workflow, {"n": "many"})
    with pytest.raises(InputError, match="unknown input"):
        run(workflow, {"n": "1", "nn": "2"})
    with pytest.raises(InputError, match="JSON array"):
        run(workflow, {"n": "1", "tags": "{}"})
    assert run(workflow, {"n": "7"}).outputs == {}

"""Batch runs: CSV/JSONL rows, per-row errors, malformed lines, resume, concurrency, progress."""

from __future__ import annotations

import asyncio
import io
import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from rich.console import Console

from app.cli.batch_view import batch_progress
from app.engine.batch import BatchError, BatchProgress, count_rows, read_rows, run_batch
from app.engine.runner import WorkflowRunner
from app.errors import ToolInputError
from app.tools.base import SideEffect, flow_tool
from app.tools.registry import Catalog
from app.workflow.spec import WorkflowSpec

_lock = threading.Lock()
calls: list[str] = []  # every `shout` call, by text
interrupt_after: int | None = None  # `shout` raises KeyboardInterrupt on this call number


@flow_tool(category="test", side_effect=SideEffect.PURE)
def shout(text: str, times: int = 1) -> dict[str, Any]:
    """Upper-case a text; `boom` is refused (a step that breaks)."""
    with _lock:
        calls.append(text)
        count = len(calls)
    if interrupt_after is not None and count >= interrupt_after:
        raise KeyboardInterrupt
    if text == "boom":
        raise ToolInputError("cannot shout 'boom'", hint="Pick another word.")
    return {"text": text.upper() * times, "length": len(text) * times}


@flow_tool(category="test", side_effect=SideEffect.NETWORK)
def slow_echo(value: str, delay: float = 0.0) -> str:
    """Return the value after a pause (runs in a thread, so rows interleave)."""
    time.sleep(delay)
    return value


CATALOG = Catalog([shout, slow_echo])

SPEC = WorkflowSpec.model_validate(
    yaml.safe_load(
        """
        flowwright: "1"
        name: shouting
        inputs:
          word: {type: string}
          times: {type: integer, required: false, default: 1}
        steps:
          - {id: loud, tool: shout, params: {text: "{{ inputs.word }}", times: "{{ inputs.times }}"}}
          - {id: size, tool: shout, params: {text: "{{ steps.loud.output.text | lower }}"}}
        outputs:
          text: "{{ steps.loud.output.text }}"
          length: "{{ steps.size.output.length }}"
        """
    )
)


@pytest.fixture(autouse=True)
def _reset() -> None:
    global interrupt_after
    interrupt_after = None
    calls.clear()


def lines(path: Path) -> list[dict[str, Any]]:
    """Every results line, parsed (fails the test on any invalid JSON line)."""
    text = path.read_text(encoding="utf-8")
    assert text == "" or text.endswith("\n")
    return [json.loads(line) for line in text.splitlines()]


def by_row(path: Path) -> dict[int, dict[str, Any]]:
    found = lines(path)
    rows = {line["row"]: line for line in found}
    assert len(rows) == len(found), "one results line per row"
    return rows


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_csv_rows_run_and_bad_rows_are_recorded_while_the_batch_continues(tmp_path: Path) -> None:
    source = write(
        tmp_path / "rows.csv",
        "word,times\n"
        "hi,2\n"  # row 1: fine
        "yo,many\n"  # row 2: times is not an integer
        ",3\n"  # row 3: word missing (empty cell = not given)
        "a,1,extra\n"  # row 4: too many fields
        "boom,1\n"  # row 5: the step refuses it
        '"x, y",\n',  # row 6: quoted comma; empty times falls back to the default
    )
    out = tmp_path / "results.jsonl"
    summary = run_batch(SPEC, CATALOG, source, out, concurrency=1)

    rows = by_row(out)
    assert sorted(rows) == [1, 2, 3, 4, 5, 6]
    assert (summary.total, summary.succeeded, summary.failed) == (6, 2, 4)
    assert rows[1]["status"] == "succeeded"
    assert rows[1]["outputs"] == {"text": "HIHI", "length": 4}
    assert rows[1]["inputs"] == {"word": "hi", "times": 2}
    assert rows[1]["error"] is None and rows[1]["failed_step"] is None
    assert rows[6]["outputs"] == {"text": "X, Y", "length": 4}

    assert rows[2]["error"]["code"] == "INPUT_INVALID"
    assert "input 'times'" in rows[2]["error"]["message"]
    assert rows[3]["error"]["code"] == "INPUT_INVALID"
    assert "missing required input(s): word" in rows[3]["error"]["message"]
    assert rows[4]["error"]["code"] == "ROW_MALFORMED"
    assert rows[4]["error"]["message"].startswith("line 5: expected 2 fields, got 3")
    assert rows[4]["line"] == 5
    assert rows[5]["status"] == "failed"
    assert rows[5]["failed_step"] == "loud"
    assert rows[5]["error"] == {
        "code": "TOOL_INPUT",
        "message": "cannot shout 'boom'",
        "hint": "Pick another word.",
    }
    assert calls.count("boom") == 1  # the bad rows never reached a tool


def test_jsonl_malformed_lines_are_row_errors_with_their_line_numbers(tmp_path: Path) -> None:
    source = write(
        tmp_path / "rows.jsonl",
        '{"word": "one"}\n'
        "\n"  # blank lines are not rows
        '{"word": "two", \n'  # line 3: invalid JSON
        '["not", "an", "object"]\n'  # line 4: not an object
        '{"word": "three", "times": 3}\n'
        '{"word": "x", "colour": "red"}\n',  # unknown input
    )
    out = tmp_path / "results.jsonl"
    summary = run_batch(SPEC, CATALOG, source, out)

    rows = by_row(out)
    assert (summary.total, summary.succeeded, summary.failed) == (5, 2, 3)
    assert rows[1]["outputs"]["text"] == "ONE"
    assert rows[2]["line"] == 3
    assert rows[2]["error"]["code"] == "ROW_MALFORMED"
    assert rows[2]["error"]["message"].startswith("line 3: invalid JSON")
    assert rows[3]["error"]["message"] == "line 4: expected a JSON object, got list"
    assert rows[4]["outputs"] == {"text": "THREETHREETHREE", "length": 15}
    assert "unknown input(s): colour" in rows[5]["error"]["message"]
    assert [row.number for row in read_rows(source)] == [1, 2, 3, 4, 5]
    assert count_rows(source) == 5


def test_an_interrupted_batch_resumes_without_rerunning_finished_rows(tmp_path: Path) -> None:
    global interrupt_after
    source = write(tmp_path / "rows.csv", "word\n" + "".join(f"w{i}\n" for i in range(1, 11)))
    out = tmp_path / "results.jsonl"
    interrupt_after = 9  # two calls per row: rows 1-4 finish, row 5 is in flight
    with pytest.raises(KeyboardInterrupt):
        run_batch(SPEC, CATALOG, source, out, concurrency=1)
    first = by_row(out)
    assert sorted(first) == [1, 2, 3, 4]

    interrupt_after = None
    calls.clear()
    summary = run_batch(SPEC, CATALOG, source, out, concurrency=1)
    assert summary.skipped_already_done == 4
    assert summary.succeeded == 6
    ran_again = {text for text in calls if text.startswith("w")}
    assert ran_again == {f"w{i}" for i in range(5, 11)}  # finished rows were not run again
    assert len(calls) == 2 * 6
    assert sorted(by_row(out)) == list(range(1, 11))


def test_resume_reads_a_partial_results_file_and_drops_a_torn_last_line(tmp_path: Path) -> None:
    source = write(tmp_path / "rows.jsonl", "".join(f'{{"word": "w{i}"}}\n' for i in range(1, 6)))
    out = tmp_path / "results.jsonl"
    done = [{"row": n, "status": "succeeded", "inputs": {}, "outputs": {}} for n in (1, 3)]
    write(out, "".join(json.dumps(d) + "\n" for d in done) + '{"row": 4, "stat')
    summary = run_batch(SPEC, CATALOG, source, out)
    assert summary.skipped_already_done == 2
    assert sorted({c for c in calls if c.startswith("w")}) == ["w2", "w4", "w5"]
    assert sorted(by_row(out)) == [1, 2, 3, 4, 5]

    calls.clear()
    again = run_batch(SPEC, CATALOG, source, out)  # everything is done: nothing runs
    assert (again.skipped_already_done, again.succeeded, calls) == (5, 0, [])
    fresh = run_batch(SPEC, CATALOG, source, out, resume=False)  # start over
    assert fresh.succeeded == 5 and len(lines(out)) == 5


def test_concurrent_rows_write_exactly_one_valid_line_each(tmp_path: Path) -> None:
    spec = WorkflowSpec.model_validate(
        yaml.safe_load(
            """
            flowwright: "1"
            name: interleave
            inputs: {word: {type: string}, delay: {type: number}}
            steps:
              - {id: wait, tool: slow_echo, params: {value: "{{ inputs.word }}", delay: "{{ inputs.delay }}"}}
              - {id: loud, tool: shout, params: {text: "{{ steps.wait.output }}"}}
            outputs: {text: "{{ steps.loud.output.text }}"}
            """
        )
    )
    rows = [
        {"word": "boom" if i % 7 == 0 else f"w{i}", "delay": (i % 5) / 500} for i in range(1, 61)
    ]
    source = write(tmp_path / "rows.jsonl", "".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "results.jsonl"
    summary = run_batch(spec, CATALOG, source, out, concurrency=8)

    results = by_row(out)
    assert sorted(results) == list(range(1, 61))
    assert (summary.succeeded, summary.failed) == (52, 8)
    for n, line in results.items():
        assert set(line) >= {"row", "status", "inputs", "outputs", "error", "failed_step"}
        if n % 7 == 0:  # a failing row does not disturb the rows it shares a chunk with
            assert (line["status"], line["failed_step"]) == ("failed", "loud")
        else:
            assert line["outputs"] == {"text": f"W{n}"}, line


def test_batch_rows_get_the_same_results_as_single_runs(tmp_path: Path) -> None:
    spec = WorkflowSpec.model_validate(
        yaml.safe_load(
            """
            flowwright: "1"
            name: same
            inputs: {word: {type: string}, skip: {type: boolean}}
            steps:
              - {id: a, tool: shout, params: {text: "{{ inputs.word }}"}, on_error: continue}
              - {id: b, tool: shout, when: "{{ not inputs.skip }}", params: {text: b}}
              - {id: c, tool: shout, params: {text: "{{ steps.b.output.text }}"}}
              - {id: d, tool: shout, params: {text: "{{ steps.a.status }}-{{ steps.c.status }}"}}
            outputs: {d: "{{ steps.d.output.text }}"}
            """
        )
    )
    inputs = [
        {"word": "x", "skip": False},
        {"word": "boom", "skip": True},
        {"word": "y", "skip": True},
        {"word": "boom", "skip": False},
    ]
    source = write(tmp_path / "rows.jsonl", "".join(json.dumps(i) + "\n" for i in inputs))
    out = tmp_path / "results.jsonl"
    run_batch(spec, CATALOG, source, out, concurrency=4)
    runner = WorkflowRunner(CATALOG)
    for n, given in enumerate(inputs, start=1):
        single = asyncio.run(runner.run(spec, given))
        line = by_row(out)[n]
        assert line["status"] == single.status.value
        assert line["outputs"] == single.outputs
    assert by_row(out)[2]["outputs"] == {"d": "FAILED-SKIPPED"}


def test_batches_refuse_approval_steps_and_bad_concurrency(tmp_path: Path) -> None:
    spec = SPEC.model_copy(
        update={"steps": [SPEC.steps[0].model_copy(update={"approval": True}), SPEC.steps[1]]}
    )
    source = write(tmp_path / "rows.csv", "word\nhi\n")
    with pytest.raises(BatchError, match="approval"):
        run_batch(spec, CATALOG, source, tmp_path / "out.jsonl")
    with pytest.raises(BatchError, match="concurrency"):
        run_batch(SPEC, CATALOG, source, tmp_path / "out.jsonl", concurrency=0)
    with pytest.raises(BatchError, match="cannot read"):
        list(read_rows(tmp_path / "missing.csv"))


def test_progress_reports_every_row_and_the_view_renders_rate_and_counts(tmp_path: Path) -> None:
    source = write(
        tmp_path / "rows.csv", "word\n" + "".join(f"w{i}\n" for i in range(8)) + "boom\n"
    )
    out = tmp_path / "results.jsonl"
    write(out, json.dumps({"row": 1, "status": "succeeded"}) + "\n")
    reports: list[BatchProgress] = []
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=False, width=120)
    with batch_progress(count_rows(source), console=console) as on_progress:

        def both(update: BatchProgress) -> None:
            reports.append(update)
            on_progress(update)

        run_batch(SPEC, CATALOG, source, out, concurrency=2, on_progress=both, total=9)
    assert reports[0] == BatchProgress(0, 0, 0, 0, 9, already_done=1)
    assert [r.done for r in reports] == list(range(9))
    assert (reports[-1].succeeded, reports[-1].failed, reports[-1].skipped) == (7, 1, 1)
    text = buffer.getvalue()
    assert "9/9" in text and "rows/s" in text
    assert "7 ok" in text and "1 failed" in text and "1 already done" in text

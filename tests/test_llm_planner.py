"""The LLM planner with LangChain's fake chat models: good, malformed, invalid, never valid."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel
from langchain_core.messages import AIMessage
from langchain_core.runnables import RunnableLambda
from langchain_core.tools import StructuredTool
from pydantic import Field

import agents.llm_planner as llm_planner
from agents.service import generate_workflow
from app.config import get_settings
from app.errors import NotConfiguredError
from app.tools.registry import Catalog

REQUEST = "Check whether ada@example.com is a valid email address."
GOOD = {
    "flowwright": "1",
    "name": "check-email",
    "steps": [{"id": "check", "tool": "validate_email", "params": {"email": "ada@example.com"}}],
    "outputs": {"valid": "{{ steps.check.output.valid }}"},
}
UNKNOWN_TOOL = {**GOOD, "steps": [{"id": "check", "tool": "validate_mail", "params": {}}]}


class RecordingFake(FakeListChatModel):
    """A fake chat model that also keeps every prompt it was sent."""

    seen: list[Any] = Field(default_factory=list)

    def _call(self, messages: Any, stop: Any = None, run_manager: Any = None, **kw: Any) -> str:
        self.seen.append(list(messages))
        return super()._call(messages, stop, run_manager, **kw)


@pytest.fixture(autouse=True)
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("FLOWWRIGHT_HOME", str(tmp_path / ".flowwright"))
    monkeypatch.setenv("FLOWWRIGHT_WORKSPACE", str(tmp_path / "workspace"))
    monkeypatch.setenv("FLOWWRIGHT_LLM_MODEL", "fake:planner")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def use_model(monkeypatch: pytest.MonkeyPatch, responses: list[str]) -> RecordingFake:
    model = RecordingFake(responses=responses, seen=[])
    monkeypatch.setattr(llm_planner, "get_chat_model", lambda: model)
    return model


def generate(tmp_path: Path, **kwargs: Any) -> Any:
    return generate_workflow(
        REQUEST, out_dir=tmp_path / "out", planner="llm", run_tests=False, **kwargs
    )


def test_good_answer_generates(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    model = use_model(monkeypatch, ["Here is the plan:\n```json\n" + json.dumps(GOOD) + "\n```"])
    result = generate(tmp_path)
    assert result.status == "succeeded", result.error
    assert result.attempts == 1 and result.spec and result.spec.steps[0].tool == "validate_email"
    system, human = model.seen[0][0].content, model.seen[0][1].content
    assert "validate_email(email: string" in system  # the compact catalog
    assert "<request>" in human and REQUEST in human


def test_malformed_answer_is_repaired(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    model = use_model(monkeypatch, ["Sure! I would validate the email.", json.dumps(GOOD)])
    result = generate(tmp_path)
    assert result.status == "succeeded", result.error
    assert result.attempts == 2
    repair = model.seen[1][-1].content
    assert "LLM_NOT_JSON" in repair and model.seen[1][-2].content.startswith("Sure!")


def test_unknown_tool_is_fixed_from_diagnostics(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    model = use_model(monkeypatch, [json.dumps(UNKNOWN_TOOL), json.dumps(GOOD)])
    result = generate(tmp_path)
    assert result.status == "succeeded", result.error
    repair = model.seen[1][-1].content
    assert "TOOL_UNKNOWN" in repair and "validate_email" in repair  # the did-you-mean hint


def test_never_valid_fails_with_diagnostics(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    use_model(monkeypatch, [json.dumps(UNKNOWN_TOOL)] * 3)
    result = generate(tmp_path)
    assert result.status == "failed"
    assert result.error["code"] == "PLAN_INVALID" and result.attempts == 3
    assert any(d.code == "TOOL_UNKNOWN" for d in result.diagnostics)
    assert not (tmp_path / "out").exists()


def test_max_attempts_is_honoured(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    model = use_model(monkeypatch, ["no", "no", "no", "no", "no"])
    result = generate(tmp_path, max_attempts=5)
    assert result.status == "failed" and result.attempts == 5 and len(model.seen) == 5


def test_without_a_model_the_error_says_what_to_set(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("FLOWWRIGHT_LLM_MODEL")
    get_settings.cache_clear()
    with pytest.raises(NotConfiguredError) as info:
        generate(tmp_path)
    assert "FLOWWRIGHT_LLM_MODEL" in info.value.message + (info.value.hint or "")
    with pytest.raises(NotConfiguredError):
        llm_planner.get_chat_model()


def test_structured_output_is_used_when_supported(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    class Structured(FakeListChatModel):
        def with_structured_output(self, schema: Any, **kwargs: Any) -> Any:
            assert kwargs["method"] == "json_schema" and schema["title"].startswith("Flowwright")
            return RunnableLambda(
                lambda _m: {"parsed": GOOD, "raw": AIMessage(""), "parsing_error": None}
            )

    model = Structured(responses=["unused"])
    monkeypatch.setattr(llm_planner, "get_chat_model", lambda: model)
    result = generate(tmp_path)
    assert result.status == "succeeded", result.error


def test_provider_errors_fail_cleanly(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    class Broken(FakeListChatModel):
        def _call(self, *args: Any, **kwargs: Any) -> str:
            raise ConnectionError("provider unreachable")

    monkeypatch.setattr(llm_planner, "get_chat_model", lambda: Broken(responses=["x"]))
    result = generate(tmp_path)
    assert result.status == "failed" and result.error["code"] == "LLM_FAILED"
    assert "provider unreachable" in result.error["message"]


def test_extract_json_handles_fences_and_prose() -> None:
    assert llm_planner.extract_json('x {"a": 1} y') == {"a": 1}
    assert llm_planner.extract_json('```json\n{"a": {"b": 2}}\n```') == {"a": {"b": 2}}
    assert llm_planner.extract_json("[1, 2]") is None
    assert llm_planner.extract_json("nothing") is None


def test_large_catalogs_are_narrowed_to_the_closest_tools() -> None:
    def make(i: int) -> StructuredTool:
        def func(value: str) -> str:
            return value

        return StructuredTool.from_function(func, name=f"noise_tool_{i}", description=f"Noise {i}.")

    catalog = Catalog.builtin().extended(make(i) for i in range(40))
    chosen = llm_planner.select_tools("validate the email address and send an email", catalog)
    assert len(chosen) == llm_planner.TOP_K
    assert {"validate_email", "send_email"} <= set(chosen)
    assert len(llm_planner.select_tools("x", Catalog.builtin())) == len(Catalog.builtin())

"""The configured chat model: NotConfiguredError without one, and real calls through a fake one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, BaseMessage
from pydantic import Field

from app.config import get_settings
from app.errors import NotConfiguredError, ToolError
from app.tools import llm
from app.tools.base import Requirement, SideEffect, tool_info
from app.tools.llm import chat_model, llm_complete
from app.tools.text import classify_text, summarize_text, translate_text


class RecordingChat(GenericFakeChatModel):
    """A fake chat model that remembers the messages of every call."""

    calls: list[list[BaseMessage]] = Field(default_factory=list)

    def _generate(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> Any:
        self.calls.append(list(messages))
        return super()._generate(messages, *args, **kwargs)


@pytest.fixture
def fake_llm(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """Configure `fake:model` and route `init_chat_model` to a RecordingChat with set replies."""
    state: dict[str, Any] = {"replies": [], "ids": [], "model": None}

    def fake_init(model_id: str, **kwargs: Any) -> RecordingChat:
        state["ids"].append(model_id)
        state["model"] = RecordingChat(messages=iter(state["replies"]), calls=[])
        return state["model"]

    monkeypatch.setenv("FLOWWRIGHT_LLM_MODEL", "fake:model")
    monkeypatch.setattr("langchain.chat_models.init_chat_model", fake_init)
    get_settings.cache_clear()
    llm.clear_model_cache()
    yield state
    llm.clear_model_cache()


def test_llm_tools_declare_their_requirement() -> None:
    for tool in (llm_complete, translate_text):
        info = tool_info(tool)
        assert info.requires == (Requirement.LLM,) and info.side_effect is SideEffect.NETWORK
    for tool in (summarize_text, classify_text):  # prefer an LLM, do not need one
        assert tool_info(tool).requires == ()


def test_without_model_llm_tools_raise_not_configured(workspace: Path) -> None:
    llm.clear_model_cache()
    for tool, params in (
        (llm_complete, {"prompt": "hi"}),
        (translate_text, {"text": "hi", "target_language": "German"}),
    ):
        with pytest.raises(NotConfiguredError) as info:
            tool.invoke(params)
        assert "configure FLOWWRIGHT_LLM_MODEL" in str(info.value)
        assert info.value.hint == "set FLOWWRIGHT_LLM_MODEL, e.g. openai:gpt-4o-mini"
    with pytest.raises(NotConfiguredError):
        chat_model()


def test_init_chat_model_gets_the_configured_id_once(fake_llm: dict[str, Any]) -> None:
    first = chat_model()
    assert chat_model() is first
    assert fake_llm["ids"] == ["fake:model"]


def test_llm_complete_sends_system_and_prompt(fake_llm: dict[str, Any]) -> None:
    fake_llm["replies"] = [AIMessage("  Welcome, Ada!  "), "plain"]
    out = llm_complete.invoke({"prompt": "Greet Ada", "system": "Be brief."})
    assert out == "Welcome, Ada!"
    (messages,) = fake_llm["model"].calls
    assert [(m.type, m.content) for m in messages] == [
        ("system", "Be brief."),
        ("human", "Greet Ada"),
    ]
    assert llm_complete.invoke({"prompt": "again"}) == "plain"
    assert [m.type for m in fake_llm["model"].calls[1]] == ["human"]


def test_translate_text_goes_through_the_model(fake_llm: dict[str, Any]) -> None:
    fake_llm["replies"] = ["Guten Morgen"]
    assert translate_text.invoke({"text": "Good morning", "target_language": "German"}) == (
        "Guten Morgen"
    )
    system, human = fake_llm["model"].calls[0]
    assert "German" in system.content and human.content == "Good morning"


def test_summarize_text_uses_the_model_when_configured(fake_llm: dict[str, Any]) -> None:
    fake_llm["replies"] = ["A short summary."]
    out = summarize_text.invoke({"text": "One. Two. Three. Four.", "max_sentences": 2})
    assert out == "A short summary."
    system, human = fake_llm["model"].calls[0]
    assert "at most 2 sentences" in system.content and human.content == "One. Two. Three. Four."


def test_classify_text_uses_model_scores_and_falls_back(fake_llm: dict[str, Any]) -> None:
    fake_llm["replies"] = ['Sure: {"Billing": 3, "shipping": 1}', "no idea"]
    out = classify_text.invoke({"text": "where is my parcel", "labels": ["billing", "shipping"]})
    assert out == {
        "label": "billing",
        "scores": {"billing": 0.75, "shipping": 0.25},
        "method": "llm",
    }
    out = classify_text.invoke({"text": "where is my parcel", "labels": ["billing", "shipping"]})
    assert out["method"] == "lexical" and out["label"] == "shipping"


def test_provider_errors_become_tool_errors(fake_llm: dict[str, Any]) -> None:
    class RateLimitError(Exception):
        pass

    def boom(*args: Any, **kwargs: Any) -> Any:
        raise RateLimitError("slow down")

    model = chat_model()
    object.__setattr__(model, "_generate", boom)
    with pytest.raises(ToolError) as info:
        llm_complete.invoke({"prompt": "hi"})
    assert info.value.transient


def test_unknown_provider_is_not_configured(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLOWWRIGHT_LLM_MODEL", "nosuchprovider:model-x")
    get_settings.cache_clear()
    llm.clear_model_cache()
    with pytest.raises(NotConfiguredError, match="nosuchprovider"):
        llm_complete.invoke({"prompt": "hi"})

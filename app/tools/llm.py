"""The configured chat model (`FLOWWRIGHT_LLM_MODEL`) and the `llm_complete` tool.

Every LLM-backed tool goes through `complete()`, so there is one place that builds the model,
maps provider failures to Flowwright errors and turns the reply into plain text.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import Field

from app.config import get_settings
from app.errors import NotConfiguredError, ToolError, ToolInputError, TransientToolError
from app.tools.base import Requirement, SideEffect, flow_tool

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

LLM_HINT = "set FLOWWRIGHT_LLM_MODEL, e.g. openai:gpt-4o-mini"
MAX_PROMPT_CHARS = 200_000
_TRANSIENT_NAMES = ("RateLimit", "Timeout", "Connection", "Overloaded", "ServiceUnavailable")

_models: dict[str, BaseChatModel] = {}
_lock = threading.Lock()


def llm_configured() -> bool:
    """True when an LLM model id is configured (the model itself is built lazily)."""
    return bool(get_settings().llm_model)


def chat_model() -> BaseChatModel:
    """The chat model named by `FLOWWRIGHT_LLM_MODEL`, built once per model id."""
    model_id = get_settings().llm_model
    if not model_id:
        raise NotConfiguredError(
            "no LLM is configured: configure FLOWWRIGHT_LLM_MODEL", hint=LLM_HINT
        )
    with _lock:
        if model_id not in _models:
            _models[model_id] = _build(model_id)
        return _models[model_id]


def clear_model_cache() -> None:
    """Forget built models (tests, or after the configuration changed)."""
    with _lock:
        _models.clear()


def _build(model_id: str) -> BaseChatModel:
    from langchain.chat_models import init_chat_model

    try:
        return init_chat_model(model_id)
    except (ImportError, ValueError) as exc:  # missing provider package, unknown provider, key
        raise NotConfiguredError(
            f"cannot create chat model {model_id!r}: {exc}",
            hint=f"Install the provider's LangChain package and its API key, or {LLM_HINT}.",
        ) from exc


def complete(prompt: str, system: str | None = None) -> str:
    """Send an optional system message and the prompt to the model; return the reply text."""
    from langchain_core.messages import HumanMessage, SystemMessage

    if len(prompt) > MAX_PROMPT_CHARS:
        raise ToolInputError(
            f"prompt longer than {MAX_PROMPT_CHARS} characters",
            hint="Shorten the text or summarize it in parts.",
        )
    model = chat_model()
    messages: list[Any] = [SystemMessage(system)] if system else []
    messages.append(HumanMessage(prompt))
    try:
        reply = model.invoke(messages, config=_metrics_config())
    except ToolError:
        raise
    except Exception as exc:  # provider SDKs raise their own types; classify by name
        name = type(exc).__name__
        if any(part in name for part in _TRANSIENT_NAMES):
            raise TransientToolError(f"LLM call failed: {name}: {exc}") from exc
        raise ToolError(
            f"LLM call failed: {name}: {exc}", hint="Check the model id and API key."
        ) from exc
    text = reply.text if hasattr(reply, "text") else str(reply)
    return text.strip()


def _metrics_config() -> dict[str, Any]:
    """Count this call in the LLM metrics when no enclosing traced run passes callbacks.

    Workflow runs call tools without LangChain callbacks (the engine traces them itself), so
    without this an `llm_complete` step would go uncounted. Inside a generation or a
    LangSmith-traced run the inherited callbacks (metrics handler included) count it, and
    explicit callbacks here would replace them, cutting the call out of that trace.
    """
    from app.observability.callbacks import MetricsCallbackHandler
    from app.observability.tracing import inherited_handlers

    return {} if inherited_handlers() else {"callbacks": [MetricsCallbackHandler()]}


@flow_tool(
    category="ai",
    side_effect=SideEffect.NETWORK,
    requires=(Requirement.LLM,),
    example={"prompt": "Write a one-line welcome for Ada.", "system": "You are concise."},
)
def llm_complete(
    prompt: Annotated[str, Field(description="The instruction or question for the model.")],
    system: Annotated[
        str | None, Field(description="Optional system message that sets the model's role.")
    ] = None,
) -> str:
    """Ask the configured LLM to answer a prompt (generate, rewrite or explain text)."""
    return complete(prompt, system)


TOOLS = [llm_complete]

"""LLM metrics from LangChain callbacks, so every chat model is counted the same way.

Attach `MetricsCallbackHandler` to a run's config (``{"callbacks": [handler]}``) or to a model
(``model.with_config(callbacks=[...])``): requests, tokens (from ``usage_metadata``, the
provider-neutral field, falling back to ``llm_output["token_usage"]``) and errors are recorded
without any provider-specific code.
"""

from __future__ import annotations

import threading
from typing import Any
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.outputs import LLMResult

from app.observability.metrics import observe_llm


def _model_from(serialized: dict[str, Any] | None, kwargs: dict[str, Any]) -> str | None:
    metadata = kwargs.get("metadata") or {}
    params = kwargs.get("invocation_params") or {}
    for value in (
        metadata.get("ls_model_name"),
        params.get("model"),
        params.get("model_name"),
        (serialized or {}).get("kwargs", {}).get("model"),
        (serialized or {}).get("name"),
        params.get("_type"),
    ):
        if isinstance(value, str) and value:
            return value
    return None


def usage_from(response: LLMResult) -> tuple[int, int, str | None]:
    """(input tokens, output tokens, model name) reported by a response, 0 when unreported."""
    tokens_in = tokens_out = 0
    model = None
    for generations in response.generations:
        for generation in generations:
            message = getattr(generation, "message", None)
            usage = getattr(message, "usage_metadata", None)
            if usage:
                tokens_in += int(usage.get("input_tokens") or 0)
                tokens_out += int(usage.get("output_tokens") or 0)
            meta = getattr(message, "response_metadata", None) or {}
            model = model or meta.get("model_name") or meta.get("model")
    llm_output = response.llm_output or {}
    if not tokens_in and not tokens_out:
        usage = llm_output.get("token_usage") or llm_output.get("usage") or {}
        tokens_in = int(usage.get("prompt_tokens") or usage.get("input_tokens") or 0)
        tokens_out = int(usage.get("completion_tokens") or usage.get("output_tokens") or 0)
    return tokens_in, tokens_out, model or llm_output.get("model_name")


class MetricsCallbackHandler(BaseCallbackHandler):
    """Counts LLM requests, tokens and errors per model (Prometheus, via `observe_llm`)."""

    run_inline = True  # a few dict operations: not worth a thread hop per event
    raise_error = False

    def __init__(self) -> None:
        self._models: dict[UUID, str] = {}
        self._lock = threading.Lock()

    def _remember(self, run_id: UUID, serialized: dict[str, Any], kwargs: dict[str, Any]) -> None:
        model = _model_from(serialized, kwargs)
        if model:
            with self._lock:
                self._models[run_id] = model

    def _forget(self, run_id: UUID) -> str | None:
        with self._lock:
            return self._models.pop(run_id, None)

    def on_chat_model_start(
        self, serialized: dict[str, Any], messages: Any, *, run_id: UUID, **kwargs: Any
    ) -> None:
        self._remember(run_id, serialized, kwargs)

    def on_llm_start(
        self, serialized: dict[str, Any], prompts: list[str], *, run_id: UUID, **kwargs: Any
    ) -> None:
        self._remember(run_id, serialized, kwargs)

    def on_llm_end(self, response: LLMResult, *, run_id: UUID, **kwargs: Any) -> None:
        tokens_in, tokens_out, reported = usage_from(response)
        model = self._forget(run_id) or reported or "unknown"
        observe_llm(model, tokens_in, tokens_out, error=False)

    def on_llm_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        observe_llm(self._forget(run_id) or "unknown", error=True)

"""Sentence embeddings from wordllama's packaged model, loaded offline (DESIGN §9).

wordllama 0.4 looks for its tokenizer under a folder name that does not exist and then tries to
download it; we point `cache_dir` at a private folder whose `tokenizers/` holds a copy of the
packaged config and pass `disable_download=True`. Without wordllama the planner falls back to
lexical scoring only (`available()` is False).
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

_LOCK = threading.Lock()
_CONFIG = "l2_supercat_tokenizer_config.json"


@contextmanager
def _root_logging_untouched() -> Iterator[None]:
    """Undo root-logger changes a library makes at import, so it cannot turn on INFO output."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


@lru_cache(maxsize=1)
def _model() -> Any | None:
    with _LOCK:
        try:
            with _root_logging_untouched():  # wordllama calls logging.basicConfig(INFO) on import
                import wordllama
                from wordllama import WordLlama
        except ImportError:
            return None
        package = Path(wordllama.__file__).parent
        cache = Path(tempfile.gettempdir()) / "flowwright-wordllama"
        tokenizers = cache / "tokenizers"
        try:
            tokenizers.mkdir(parents=True, exist_ok=True)
            if not (tokenizers / _CONFIG).exists():  # copy then rename: atomic for other processes
                partial = tokenizers / f".{_CONFIG}.{os.getpid()}"
                shutil.copy(package / "tokenizers" / _CONFIG, partial)
                os.replace(partial, tokenizers / _CONFIG)
            return WordLlama.load(cache_dir=cache, disable_download=True)
        except (OSError, ValueError):
            return None


def available() -> bool:
    return _model() is not None


def embed(texts: list[str]) -> Any | None:
    """L2-normalised embeddings (numpy array, one row per text), or None without the model."""
    model = _model()
    if model is None or not texts:
        return None
    return model.embed(texts, norm=True)

"""One redaction policy for logs, the local trace store and LangSmith uploads.

Secrets leak through two routes: a field whose *name* says it is secret (``password``,
``Authorization``, ``api_key``...) and a free-text *value* that carries one (a JWT pasted in a
prompt, a ``Bearer`` header echoed in an error, a database URL with its password). Both are
handled at any nesting depth, so a secret three levels down in a tool's inputs is masked too.
Numbers and booleans under a secret-looking key are kept: they are counts (``input_tokens``-style
usage fields, ``token_count``), not credentials.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

REDACTED = "[REDACTED]"

# Key words that mark a field as secret, matched against the key's snake_case words.
_SECRET_WORDS = frozenset(
    {
        "password", "passwd", "pwd", "passphrase", "secret", "token", "authorization", "auth",
        "cookie", "cookies", "jwt", "credential", "credentials", "apikey", "signature",
    }
)  # fmt: skip
# Multi-word secrets (``api_key``, ``x-api-key``, ``private_key``, ``set-cookie``...).
_SECRET_PHRASES = ("api_key", "private_key", "access_key", "secret_key", "session_id", "dsn")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_SPLIT = re.compile(r"[^a-z0-9]+")

_VALUE_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # JSON Web Tokens: header and payload are base64url JSON, so both start with "eyJ".
    (re.compile(r"eyJ[A-Za-z0-9_-]{2,}\.eyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*"), "[REDACTED_JWT]"),
    (re.compile(r"(?i)\b(bearer|basic|token)\s+[A-Za-z0-9._~+/=-]{8,}"), r"\1 [REDACTED]"),
    # OpenAI/Anthropic-style keys (sk-..., sk-proj-..., sk-ant-...) and LangSmith keys.
    (re.compile(r"\bsk-[A-Za-z0-9_-]{12,}"), "sk-[REDACTED]"),
    (re.compile(r"\blsv2_[a-z]{2}_[A-Za-z0-9_]{16,}"), "lsv2_[REDACTED]"),
    (re.compile(r"\b(gh[pousr]_|github_pat_|xox[abprs]-)[A-Za-z0-9_-]{16,}"), r"\1[REDACTED]"),
    (re.compile(r"\bAKIA[0-9A-Z]{16}\b"), "AKIA[REDACTED]"),
    # user:password@ in any URL (postgresql://u:pw@h/db, https://u:pw@h/).
    (re.compile(r"\b([a-zA-Z][a-zA-Z0-9+.-]*://[^:/?#@\s]*):[^@/?#\s]+@"), r"\1:***@"),
    # key=value / "key": "value" pairs inside text (a stringified dict, a log message).
    (
        re.compile(
            r"""(?i)(['"]?\b(?:password|passwd|pwd|secret|client[_-]?secret|token|access[_-]?token|"""
            r"""api[_-]?key|authorization)['"]?\s*[:=]\s*)(['"]?)(?!(?i:bearer|basic|token)\s)"""
            r"""[^'"\s,;&}]+"""
        ),
        r"\1\2[REDACTED]",
    ),
    # Credentials passed as query parameters.
    (
        re.compile(
            r"(?i)([?&](?:api[_-]?key|access[_-]?token|token|secret|password|sig|signature|key)=)"
            r"[^&#\s]+"
        ),
        r"\1[REDACTED]",
    ),
)


def key_words(key: str) -> list[str]:
    """``X-Api-Key`` → ``["x", "api", "key"]``; ``apiKey`` → ``["api", "key"]``."""
    return [w for w in _SPLIT.split(_CAMEL.sub("_", key).lower()) if w]


def is_secret_key(key: Any) -> bool:
    """Whether a mapping key names a secret (case, separators and camelCase do not matter)."""
    if not isinstance(key, str):
        return False
    return _is_secret_name(key)


@lru_cache(maxsize=8192)
def _is_secret_name(key: str) -> bool:
    # Cached: the same few keys (status, output, inputs...) recur in every run of a trace, and
    # splitting and matching each one dominated the cost of storing traces before.
    words = key_words(key)
    if _SECRET_WORDS.intersection(words):
        return True
    joined = "_".join(words)
    return any(
        joined == phrase or joined.endswith("_" + phrase) or f"{phrase}_" in joined + "_"
        for phrase in _SECRET_PHRASES
    )


def redact_text(text: str) -> str:
    """Mask secrets that appear inside free text (JWTs, bearer tokens, keys, URL passwords)."""
    if len(text) <= _CACHED_TEXT_CHARS:
        return _redact_short(text)
    return _redact_text(text)


_CACHED_TEXT_CHARS = 512  # short strings repeat (ids, statuses, values copied between steps)


@lru_cache(maxsize=16384)
def _redact_short(text: str) -> str:
    return _redact_text(text)


def _redact_text(text: str) -> str:
    for pattern, replacement in _VALUE_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


# A string in compact JSON text (escapes included).
_JSON_STRING = re.compile(r'"([^"\\]*(?:\\.[^"\\]*)*)"')


def json_may_hold_secrets(text: str) -> bool:
    """Whether `redact` could change the data whose compact JSON text is `text`.

    Lets a caller skip rebuilding the data when nothing in it is secret: each distinct string
    of the text (a long run's trace repeats the same few) is checked once, as a key name and
    as a value, where a walk visits every value. Never False for data `redact` would change;
    True for some it would not (a value that reads like a secret key name, a secret-looking
    key holding a number), which then take the walk.
    """
    if "\\" in text:  # escapes: only a full tokenizer finds where strings end
        strings = {json.loads(f'"{s}"') for s in _JSON_STRING.findall(text)}
    else:  # every other quote opens a string
        strings = set(text.split('"')[1::2])
    return any(is_secret_key(string) or redact_text(string) != string for string in strings)


def _masked(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float):
        return value
    return REDACTED


def redact(value: Any, _seen: frozenset[int] = frozenset()) -> Any:
    """A copy of `value` with secret fields and secret-looking strings masked, at any depth.

    Mappings, lists, tuples and sets are rebuilt (inputs are never mutated: they may be live
    graph state); other objects pass through unchanged. Cycles are cut rather than followed.
    """
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, bytes | bytearray):
        return value
    if isinstance(value, Mapping | list | tuple | set | frozenset):
        if id(value) in _seen:
            return "[CYCLE]"
        seen = _seen | {id(value)}
        if isinstance(value, Mapping):
            return {
                k: _masked(v) if is_secret_key(k) else redact(v, seen) for k, v in value.items()
            }
        items = [redact(v, seen) for v in value]
        return items if isinstance(value, list) else type(value)(items)
    return value


def redact_payload(data: dict[str, Any]) -> dict[str, Any]:
    """`redact` typed for LangSmith's ``Client(anonymizer=...)`` (inputs, outputs, metadata)."""
    result = redact(data)
    return result if isinstance(result, dict) else {"value": result}

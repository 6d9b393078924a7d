"""`json_may_hold_secrets`: the check that lets traces skip the redaction walk.

It may answer True for clean data (the walk then finds nothing) but must never answer False
for data `redact` would change: that would store a secret.
"""

from __future__ import annotations

import random
from typing import Any

import pytest

from app.db.values import dump_json
from app.observability.redaction import json_may_hold_secrets, redact
from tests.trace_helpers import JWT

SECRET_TEXTS = [
    "Authorization: Bearer abcdefghijklmnop", f"cookie={JWT}", JWT,
    "https://user:pa55word@example.com/path", "lsv2_pt_0123456789abcdef0123456789abcdef_01",
    "{'city': 'Paris', 'password': 'hunter2'}", "sk-abcdefghijklmnopqrstu",
    "AKIAABCDEFGHIJKLMNOP", "ghp_abcdefghijklmnopqrstuv", "https://x.io/?api_key=xyz123",
    "token abcdefghijk", "a\nBearer abcdefghijklmnop", 'say "password": "p4ss"',
]  # fmt: skip
PLAIN_TEXTS = [
    "hello", "ada@example.com", "https://example.com/a?q=1", "Grüße ✓", "", "tokens: 12",
    "line one\nline two", 'a "quoted" word', "C:\\temp", "the author", "12:30", "key=value",
]  # fmt: skip
SECRET_KEYS = ["password", "api_key", "Authorization", "X-API-Key", "refreshToken", "cookie"]
PLAIN_KEYS = ["name", "text", "output", "input_tokens", "author", "status", "keyword", "url"]


def _value(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.randrange(6 if depth < 3 else 3)
    if kind == 0:
        return rng.choice(PLAIN_TEXTS + SECRET_TEXTS[: rng.randrange(2)])
    if kind == 1:
        return rng.choice([1, 2.5, None, True, "x"])
    if kind == 2:
        return rng.choice(PLAIN_TEXTS)
    if kind == 3:
        return [_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    keys = PLAIN_KEYS + (SECRET_KEYS if rng.random() < 0.2 else [])
    return {rng.choice(keys): _value(rng, depth + 1) for _ in range(rng.randrange(4))}


@pytest.mark.parametrize("secret", SECRET_TEXTS)
def test_a_secret_value_anywhere_is_flagged(secret: str) -> None:
    assert json_may_hold_secrets(dump_json({"steps": [["s", {"output": [secret]}]]}))


@pytest.mark.parametrize("key", SECRET_KEYS)
def test_a_secret_key_anywhere_is_flagged(key: str) -> None:
    assert json_may_hold_secrets(dump_json({"a": [{"b": {key: 1}}]}))


def test_clean_data_is_not_flagged() -> None:
    data = {"steps": [["s1", "echo", {"output": ["ada@example.com"], "attempts": 1}]],
            "inputs": {"text": "hello", "url": "https://example.com/a?q=1"}}  # fmt: skip
    assert not json_may_hold_secrets(dump_json(data))


def test_never_unflagged_when_redaction_would_change_the_data() -> None:
    rng = random.Random(7)
    unflagged = 0
    for _ in range(3000):
        data = _value(rng)
        if not json_may_hold_secrets(dump_json(data)):
            unflagged += 1
            assert redact(data) == data, data
    assert unflagged > 500  # the check does let most clean data skip the walk

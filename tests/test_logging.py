"""JSON logs carry the bound ids, never secrets; RequestIdMiddleware round-trips X-Request-ID."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
import structlog
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from app.observability.logging import (
    RequestIdMiddleware,
    bind_context,
    configure_logging,
    get_logger,
    valid_request_id,
)
from app.observability.redaction import REDACTED, is_secret_key, redact

JWT = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhZGEiLCJleHAiOjF9.c2lnbmF0dXJlLXZhbHVl"


@pytest.fixture
def logs() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    saved = (root.level, list(root.handlers))
    stream = io.StringIO()
    configure_logging("DEBUG", json=True, stream=stream)
    yield stream
    structlog.contextvars.clear_contextvars()
    structlog.reset_defaults()
    root.setLevel(saved[0])
    root.handlers[:] = saved[1]


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_json_lines_carry_request_user_job_and_run_ids(logs: io.StringIO) -> None:
    log = get_logger("flowwright.test")
    with bind_context(request_id="req-1", user="ada"):
        log.info("request.start")
        with bind_context(job_id="job-9", run_id="run-7", ignored=None):
            log.info("step.done", step="check")
        log.info("request.end")
    log.info("outside")
    start, step, end, outside = lines(logs)
    assert start["event"] == "request.start" and start["level"] == "info"
    assert start["request_id"] == "req-1" and start["user"] == "ada"
    assert "timestamp" in start and start["logger"] == "flowwright.test"
    assert {k: step[k] for k in ("request_id", "user", "job_id", "run_id", "step")} == {
        "request_id": "req-1", "user": "ada", "job_id": "job-9", "run_id": "run-7",
        "step": "check",
    }  # fmt: skip
    assert "ignored" not in step
    assert "job_id" not in end and end["request_id"] == "req-1"  # inner scope restored
    assert "request_id" not in outside


def test_stdlib_records_share_the_pipeline_and_redaction(logs: io.StringIO) -> None:
    with bind_context(run_id="run-3"):
        logging.getLogger("uvicorn.error").warning("connect to postgresql://app:s3cr3t@db/x")
    (record,) = lines(logs)
    assert record["run_id"] == "run-3" and record["level"] == "warning"
    assert "s3cr3t" not in record["event"] and "postgresql://app:***@db/x" in record["event"]


def test_nested_secrets_are_redacted_in_log_lines(logs: io.StringIO) -> None:
    get_logger().info(
        "call",
        request={"headers": {"Authorization": "Bearer abc.def.ghi", "X-Api-Key": "k-123456"}},
        body={"user": {"profile": {"password": "hunter2", "apiKey": "abc"}}, "tokens": 5},
        items=[{"jwt": "x"}, {"note": f"token {JWT} here"}, ("sk-abcdefghijklmnop1234",)],
        dsn="redis://:redispw@cache:6379/0",
        token_count=12,
    )
    (record,) = lines(logs)
    raw = json.dumps(record)
    for secret in ("abc.def.ghi", "k-123456", "hunter2", JWT, "sk-abcdefghijklmnop1234",
                   "redispw"):  # fmt: skip
        assert secret not in raw, secret
    assert record["request"]["headers"]["Authorization"] == REDACTED
    assert record["body"]["user"]["profile"]["password"] == REDACTED
    assert record["body"]["tokens"] == 5 and record["token_count"] == 12  # counts, not secrets
    assert "[REDACTED_JWT]" in record["items"][1]["note"]


def test_exception_text_is_redacted(logs: io.StringIO) -> None:
    try:
        raise ValueError("auth failed for Bearer abcdefghijklmnopqrstuvwxyz")
    except ValueError:
        get_logger().exception("boom")
    (record,) = lines(logs)
    assert "abcdefghijklmnopqrstuvwxyz" not in record["exception"]
    assert "ValueError" in record["exception"]


@pytest.mark.parametrize(
    "key",
    ["password", "DB_PASSWORD", "client_secret", "access_token", "Authorization", "api_key",
     "X-API-Key", "apiKey", "cookie", "Set-Cookie", "jwt", "refreshToken", "private_key"],
)  # fmt: skip
def test_secret_keys(key: str) -> None:
    assert is_secret_key(key)


@pytest.mark.parametrize(
    "key", ["input_tokens", "tokens", "author", "email", "keyword", "max_tokens", "name"]
)
def test_ordinary_keys(key: str) -> None:
    assert not is_secret_key(key)


def test_redact_values_and_depth() -> None:
    deep: Any = {"password": "p"}
    for _ in range(60):
        deep = {"level": [deep]}
    text = json.dumps(redact(deep))
    assert '"password": "[REDACTED]"' in text
    data = {
        "a": "Authorization: Bearer abcdefghijklmnop",
        "b": f"cookie={JWT}",
        "c": "https://user:pa55word@example.com/path?api_key=xyz123&q=1",
        "d": "lsv2_pt_0123456789abcdef0123456789abcdef_0123456789",
        "e": "{'city': 'Paris', 'password': 'hunter2'}",
    }
    out = redact(data)
    assert "abcdefghijklmnop" not in out["a"] and JWT not in out["b"]
    assert out["c"] == "https://user:***@example.com/path?api_key=[REDACTED]&q=1"
    assert "0123456789abcdef" not in out["d"] and "hunter2" not in out["e"]
    assert data["e"].endswith("'hunter2'}")  # the input is not mutated


def _app(seen: list[str]) -> Starlette:
    async def echo(request: Request) -> JSONResponse:
        get_logger("api").info("handled")
        seen.append(request.scope["state"]["request_id"])
        return JSONResponse({"ok": True})

    app = Starlette(routes=[Route("/echo", echo)])
    app.add_middleware(RequestIdMiddleware)
    return app


def handled(stream: io.StringIO) -> list[dict[str, Any]]:
    return [line for line in lines(stream) if line["event"] == "handled"]


def test_request_id_middleware_round_trip(logs: io.StringIO) -> None:
    seen: list[str] = []
    client = TestClient(_app(seen))
    good = "abc.DEF_123-xyz"
    response = client.get("/echo", headers={"X-Request-ID": good})
    assert response.headers["x-request-id"] == good == seen[-1]
    assert handled(logs)[-1]["request_id"] == good
    for bad in ("has space", "x" * 129, "semi;colon", ""):
        response = client.get("/echo", headers={"X-Request-ID": bad})
        minted = response.headers["x-request-id"]
        assert minted != bad and len(minted) == 32 and minted == seen[-1]
        assert handled(logs)[-1]["request_id"] == minted
    assert client.get("/echo").headers["x-request-id"] != minted  # a fresh id per request
    assert valid_request_id("x" * 128) == "x" * 128


def test_configure_logging_twice_keeps_one_handler(logs: io.StringIO) -> None:
    root = logging.getLogger()
    count = len(root.handlers)
    second = io.StringIO()
    configure_logging("INFO", json=True, stream=second)
    assert len(root.handlers) == count
    get_logger().debug("hidden")
    get_logger().info("shown")
    assert [line["event"] for line in lines(second)] == ["shown"]
    assert logs.getvalue() == ""

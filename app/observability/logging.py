"""Structured JSON logs: one line per event, carrying request/user/job/run ids, secrets masked.

structlog and the standard library share one pipeline (``ProcessorFormatter``), so records from
uvicorn, SQLAlchemy or LangChain come out in the same JSON shape, with the same context ids and
the same redaction as Flowwright's own events. Ids are bound in contextvars, which asyncio copies
into every task: bind once at the edge (a request, a job) and every log line below carries them.
"""

from __future__ import annotations

import logging
import re
import sys
import uuid
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from typing import IO, Any

import structlog
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.observability.redaction import redact

CONTEXT_KEYS = ("request_id", "user", "job_id", "run_id")
REQUEST_ID_HEADER = "X-Request-ID"
_VALID_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")
_HANDLER_NAME = "flowwright-structlog"


def redact_processor(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: mask secret fields and secret-looking text anywhere in the event."""
    return redact(dict(event_dict))


def _shared_processors() -> list[Any]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
        structlog.processors.format_exc_info,
        structlog.processors.UnicodeDecoder(),
    ]


def configure_logging(
    level: str | int = "INFO", json: bool = True, stream: IO[str] | None = None
) -> None:
    """Route structlog and stdlib logging through one redacting JSON (or console) renderer.

    Safe to call again (tests, a CLI flag changing the level): the handler installed by the
    previous call is replaced, never duplicated.
    """
    renderer: Any = (
        structlog.processors.JSONRenderer(default=str)
        if json
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    shared = _shared_processors()
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            redact_processor,
            renderer,
        ],
    )
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level if isinstance(level, int) else level.upper())


def get_logger(name: str | None = None) -> Any:
    """A structlog logger (``log.info("event", key=value)``)."""
    return structlog.stdlib.get_logger(name)


@contextmanager
def bind_context(**ids: Any) -> Iterator[None]:
    """Bind ids (request_id, user, job_id, run_id, ...) to every log line inside the block.

    ``None`` values are skipped, so callers can pass optional ids without branching. The
    previous values are restored on exit, so nested scopes (a run inside a request) compose.
    """
    values = {k: v for k, v in ids.items() if v is not None}
    with structlog.contextvars.bound_contextvars(**values):
        yield


def valid_request_id(value: str | None, pattern: re.Pattern[str] = _VALID_REQUEST_ID) -> str:
    """The incoming id when it matches `pattern` (default: ≤128 chars of ``[A-Za-z0-9._-]``),
    else a new uuid4 hex."""
    if value and pattern.fullmatch(value):
        return value
    return uuid.uuid4().hex


class RequestIdMiddleware:
    """Pure-ASGI middleware: adopt or mint ``X-Request-ID``, bind it for logs, echo it back.

    Pure ASGI rather than ``BaseHTTPMiddleware`` so the contextvar binding is visible to the
    endpoint (BaseHTTPMiddleware runs the app in another task) and streaming responses (SSE)
    are not buffered. The id is also put on ``scope["state"]["request_id"]`` for handlers.
    """

    def __init__(
        self,
        app: ASGIApp,
        header: str = REQUEST_ID_HEADER,
        pattern: re.Pattern[str] = _VALID_REQUEST_ID,
    ) -> None:
        self.app = app
        self.header = header
        self.pattern = pattern

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        request_id = valid_request_id(Headers(scope=scope).get(self.header), self.pattern)
        scope.setdefault("state", {})["request_id"] = request_id

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                name = self.header.lower().encode()
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != name]
                headers.append((name, request_id.encode()))
                message["headers"] = headers
            await send(message)

        with bind_context(request_id=request_id):
            await self.app(scope, receive, send_with_id)

"""Pure-ASGI middleware: a hard cap on request bodies (and the API's request-id pattern).

The body cap is enforced twice because a client can lie: a declared `Content-Length` above the
cap is refused before any byte is read, and a chunked (or under-declared) body is counted while
the app reads it and cut off with 413 the moment it passes the cap.
"""

from __future__ import annotations

import json
import re
from http import HTTPStatus
from typing import Any

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.problems import PROBLEM_JSON

# What the API accepts as a client's X-Request-ID (stricter than the logging default).
API_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")


class BodyTooLarge(HTTPException):
    def __init__(self, limit: int):
        super().__init__(413, f"request body exceeds {limit} bytes")


class BodyLimitMiddleware:
    """413 problem for bodies over `max_bytes`, declared or streamed."""

    def __init__(self, app: ASGIApp, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length")
        if declared is not None:
            try:
                too_big = int(declared) > self.max_bytes
            except ValueError:
                too_big = False  # h11/httptools reject malformed lengths before we see them
            if too_big:
                await self._reject(scope, send)
                return
        seen = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge:
            # Reached only when the app let the error escape its handlers (e.g. middleware
            # reading the body); routes normally turn it into a 413 problem themselves.
            if not started:
                await self._reject(scope, send)

    async def _reject(self, scope: Scope, send: Send) -> None:
        request_id = scope.get("state", {}).get("request_id")
        body: dict[str, Any] = {
            "type": "urn:flowwright:problem:payload-too-large",
            "title": HTTPStatus(413).phrase,
            "status": 413,
            "detail": f"request body exceeds {self.max_bytes} bytes",
            "instance": scope.get("path"),
            "code": "PAYLOAD_TOO_LARGE",
            "hint": f"Send at most {self.max_bytes} bytes.",
            "request_id": request_id,
        }
        payload = json.dumps(body).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", PROBLEM_JSON.encode()),
                    (b"content-length", str(len(payload)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": payload})

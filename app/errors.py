"""Errors a user can act on: each has a stable code, a message and a hint."""

from __future__ import annotations


class FlowwrightError(Exception):
    """Base error: `code` is stable and machine-readable, `hint` says what to do."""

    code = "FLOWWRIGHT_ERROR"

    def __init__(self, message: str, *, hint: str | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint
        if code:
            self.code = code

    def to_dict(self) -> dict[str, str | None]:
        return {"code": self.code, "message": self.message, "hint": self.hint}


class ToolError(FlowwrightError):
    """A tool refused or failed its call; `transient` marks errors worth retrying."""

    code = "TOOL_ERROR"
    transient = False


class ToolInputError(ToolError):
    """The call's arguments are wrong: never retried."""

    code = "TOOL_INPUT"


class NotConfiguredError(ToolError):
    """The tool needs something the operator has not configured (LLM, SMTP, database)."""

    code = "NOT_CONFIGURED"


class SecurityError(ToolError):
    """The call would leave the sandbox: a path outside the workspace, a private address."""

    code = "SECURITY"


class TransientToolError(ToolError):
    """Timeouts, connection errors, 5xx and 429: the engine may retry these."""

    code = "TRANSIENT"
    transient = True

    def __init__(
        self, message: str, *, hint: str | None = None, retry_after_s: float | None = None
    ):
        super().__init__(message, hint=hint)
        self.retry_after_s = retry_after_s

"""Which errors are worth retrying, and how long to wait before the next attempt."""

from __future__ import annotations

import random

from app.errors import ToolError, TransientToolError
from app.workflow.spec import RetryPolicy


def is_transient(exc: BaseException) -> bool:
    """Timeouts, connection errors and tool errors marked transient; never input errors."""
    if isinstance(exc, ToolError):
        return exc.transient
    return isinstance(exc, TimeoutError | ConnectionError)


def backoff_delay(policy: RetryPolicy, attempt: int, exc: BaseException) -> float:
    """Seconds to wait after failed `attempt` (1-based): Retry-After wins, else exponential."""
    if isinstance(exc, TransientToolError) and exc.retry_after_s is not None:
        return min(exc.retry_after_s, policy.max_backoff_s)
    delay = min(policy.backoff_s * 2 ** (attempt - 1), policy.max_backoff_s)
    return random.uniform(delay / 2, delay) if policy.jitter else delay

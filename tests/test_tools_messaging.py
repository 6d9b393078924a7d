"""send_email against a real SMTP server (aiosmtpd on 127.0.0.1)."""

from __future__ import annotations

import email
import email.policy
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from app.config import get_settings
from app.errors import NotConfiguredError, ToolError, ToolInputError, TransientToolError
from app.tools.base import Requirement, SideEffect, tool_info
from app.tools.messaging import send_email


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Store:
    """An aiosmtpd handler that keeps every envelope; `reject` makes RCPT fail with that reply."""

    envelopes: list[Any] = field(default_factory=list)
    reject_data: str | None = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.reject_data:
            return self.reject_data
        self.envelopes.append(envelope)
        return "250 OK"


@pytest.fixture
def smtp(monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    store = Store()
    port = _free_port()
    controller = Controller(store, hostname="127.0.0.1", port=port)
    controller.start()
    for name in ("SMTP_USERNAME", "SMTP_PASSWORD", "SMTP_STARTTLS"):
        monkeypatch.delenv(f"FLOWWRIGHT_{name}", raising=False)
    monkeypatch.setenv("FLOWWRIGHT_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("FLOWWRIGHT_SMTP_PORT", str(port))
    monkeypatch.setenv("FLOWWRIGHT_SMTP_SENDER", "robot@flowwright.test")
    monkeypatch.setenv("FLOWWRIGHT_HTTP_TIMEOUT_S", "5")
    get_settings.cache_clear()
    yield store
    controller.stop()
    get_settings.cache_clear()


def test_metadata() -> None:
    info = tool_info(send_email)
    assert (info.category, info.side_effect) == ("messaging", SideEffect.NETWORK)
    assert info.requires == (Requirement.SMTP,)
    assert list(info.params) == ["to", "subject", "body"]
    assert info.output_schema["required"] == ["message_id"]


def test_sends_a_real_message(smtp: Store) -> None:
    result = send_email.invoke(
        {"to": "Ada@Example.com", "subject": "Welcome, Ada", "body": "Thanks for signing up.\n"}
    )
    [envelope] = smtp.envelopes
    assert envelope.mail_from == "robot@flowwright.test"
    assert envelope.rcpt_tos == ["Ada@example.com"]  # domain normalized by email-validator
    message = email.message_from_bytes(envelope.content, policy=email.policy.default)
    assert message["Subject"] == "Welcome, Ada"
    assert message["To"] == "Ada@example.com"
    assert message.get_content().strip() == "Thanks for signing up."
    assert result["message_id"] == message["Message-ID"]
    assert result["message_id"].startswith("<") and result["message_id"].endswith(
        "@flowwright.test>"
    )


def test_sends_to_a_list_of_recipients_once_each(smtp: Store) -> None:
    send_email.invoke(
        {"to": ["a@example.com", "b@example.org, a@example.com"], "subject": "Hi", "body": "x"}
    )
    [envelope] = smtp.envelopes
    assert envelope.rcpt_tos == ["a@example.com", "b@example.org"]


@pytest.mark.parametrize(
    "args",
    [
        {"to": "a@example.com", "subject": "Hi\r\nBcc: victim@example.com", "body": "x"},
        {"to": "a@example.com", "subject": "Hi\nX-Injected: 1", "body": "x"},
        {"to": "a@example.com\r\nBcc: victim@example.com", "subject": "Hi", "body": "x"},
        {"to": ["a@example.com", "b@example.com\nCc: c@example.com"], "subject": "Hi", "body": "x"},
    ],
)
def test_header_injection_is_refused_and_nothing_is_sent(smtp: Store, args: dict[str, Any]) -> None:
    with pytest.raises(ToolInputError, match="line break"):
        send_email.invoke(args)
    assert smtp.envelopes == []


@pytest.mark.parametrize("to", ["not-an-email", "a@", "", [], "a@b@c.com"])
def test_invalid_recipients_are_refused(smtp: Store, to: Any) -> None:
    with pytest.raises(ToolInputError):
        send_email.invoke({"to": to, "subject": "Hi", "body": "x"})
    assert smtp.envelopes == []


def test_not_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FLOWWRIGHT_SMTP_HOST", raising=False)
    get_settings.cache_clear()
    with pytest.raises(NotConfiguredError) as info:
        send_email.invoke({"to": "a@example.com", "subject": "Hi", "body": "x"})
    assert "set FLOWWRIGHT_SMTP_HOST" in (info.value.hint or "")
    get_settings.cache_clear()


def test_unreachable_server_is_transient(smtp: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLOWWRIGHT_SMTP_PORT", str(_free_port()))
    get_settings.cache_clear()
    with pytest.raises(TransientToolError):
        send_email.invoke({"to": "a@example.com", "subject": "Hi", "body": "x"})


def test_server_replies_map_to_transient_or_permanent(smtp: Store) -> None:
    smtp.reject_data = "451 Try again later"
    with pytest.raises(TransientToolError, match="451"):
        send_email.invoke({"to": "a@example.com", "subject": "Hi", "body": "x"})
    smtp.reject_data = "554 Message rejected"
    with pytest.raises(ToolError, match="554") as info:
        send_email.invoke({"to": "a@example.com", "subject": "Hi", "body": "x"})
    assert not info.value.transient


def test_starttls_required_but_unsupported_is_a_configuration_error(
    smtp: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLOWWRIGHT_SMTP_STARTTLS", "1")
    get_settings.cache_clear()
    with pytest.raises(NotConfiguredError, match=r"STARTTLS|support"):
        send_email.invoke({"to": "a@example.com", "subject": "Hi", "body": "x"})
    assert smtp.envelopes == []

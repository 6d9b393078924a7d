"""Email through the operator's SMTP server (`FLOWWRIGHT_SMTP_*`).

Recipients are validated with email-validator and CR/LF anywhere in a header value is refused, so
a workflow input cannot inject `Bcc:` or other headers. SMTP connection problems and 4xx replies
are transient (the engine may retry); 5xx replies and refused recipients are not.
"""

from __future__ import annotations

import smtplib
from typing import Annotated

from pydantic import Field
from typing_extensions import TypedDict

from app.config import get_settings
from app.errors import NotConfiguredError, ToolError, ToolInputError, TransientToolError
from app.tools.base import Requirement, SideEffect, flow_tool

MAX_RECIPIENTS = 100


class SentEmail(TypedDict):
    """The Message-ID header of the sent email."""

    message_id: str


def _no_newlines(field: str, value: str) -> None:
    if "\r" in value or "\n" in value:
        raise ToolInputError(
            f"{field} contains a line break",
            hint="Header values must be one line (line breaks would inject extra headers).",
        )


def normalize_recipients(to: str | list[str]) -> list[str]:
    """Validated, normalized recipient addresses (one string may hold several, comma-separated)."""
    from email_validator import EmailNotValidError, validate_email

    items = [to] if isinstance(to, str) else list(to)
    for item in items:
        _no_newlines("recipient address", item)
    addresses = [part.strip() for item in items for part in item.split(",") if part.strip()]
    if not addresses:
        raise ToolInputError("no recipient given", hint="Give `to` one address or a list.")
    if len(addresses) > MAX_RECIPIENTS:
        raise ToolInputError(
            f"{len(addresses)} recipients exceed the limit of {MAX_RECIPIENTS}",
            hint="Send in smaller batches.",
        )
    normalized: list[str] = []
    for address in addresses:
        try:
            result = validate_email(address, check_deliverability=False)
        except EmailNotValidError as exc:
            raise ToolInputError(
                f"invalid recipient {address!r}: {exc}", hint="Give a plain address like a@b.com."
            ) from exc
        normalized.append(result.normalized)
    return list(dict.fromkeys(normalized))


@flow_tool(
    category="messaging",
    side_effect=SideEffect.NETWORK,
    requires=(Requirement.SMTP,),
    example={"to": "ada@example.com", "subject": "Welcome", "body": "Thanks for signing up."},
)
def send_email(
    to: Annotated[str | list[str], Field(description="Recipient address or list of addresses")],
    subject: Annotated[str, Field(description="Subject line (one line)")],
    body: Annotated[str, Field(description="Plain-text message body")],
) -> SentEmail:
    """Send a plain-text email through the configured SMTP server."""
    from email.message import EmailMessage
    from email.utils import formatdate, make_msgid

    settings = get_settings()
    if not settings.smtp_host:
        raise NotConfiguredError(
            "send_email needs an SMTP server", hint="set FLOWWRIGHT_SMTP_HOST (and SMTP_PORT)."
        )
    _no_newlines("subject", subject)
    _no_newlines("sender (FLOWWRIGHT_SMTP_SENDER)", settings.smtp_sender)
    recipients = normalize_recipients(to)
    sender_domain = settings.smtp_sender.rpartition("@")[2] or "localhost"
    message = EmailMessage()
    message["From"] = settings.smtp_sender
    message["To"] = ", ".join(recipients)
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = make_msgid(domain=sender_domain.strip(">"))
    message.set_content(body)
    _deliver(message, recipients)
    return {"message_id": str(message["Message-ID"])}


def _deliver(message: object, recipients: list[str]) -> None:
    """Hand the message to the SMTP server, mapping failures to Flowwright errors."""
    settings = get_settings()
    host, port = settings.smtp_host or "", settings.smtp_port
    try:
        with smtplib.SMTP(host, port, timeout=settings.http_timeout_s) as smtp:
            if settings.smtp_starttls:
                smtp.starttls()
            if settings.smtp_username:
                password = (
                    settings.smtp_password.get_secret_value() if settings.smtp_password else ""
                )
                smtp.login(settings.smtp_username, password)
            smtp.send_message(message, to_addrs=recipients)  # type: ignore[arg-type]
    except smtplib.SMTPAuthenticationError as exc:
        raise NotConfiguredError(
            f"SMTP login to {host} failed: {exc.smtp_code}",
            hint="Check FLOWWRIGHT_SMTP_USERNAME and FLOWWRIGHT_SMTP_PASSWORD.",
        ) from exc
    except smtplib.SMTPRecipientsRefused as exc:
        raise ToolInputError(
            f"the SMTP server refused recipients: {', '.join(exc.recipients)}",
            hint="Check the addresses.",
        ) from exc
    except smtplib.SMTPNotSupportedError as exc:
        raise NotConfiguredError(
            f"SMTP server {host} does not support a configured feature: {exc}",
            hint="Check FLOWWRIGHT_SMTP_STARTTLS and the credentials settings.",
        ) from exc
    except smtplib.SMTPResponseException as exc:
        detail = f"SMTP server {host} answered {exc.smtp_code}: {exc.smtp_error!r}"
        if 400 <= exc.smtp_code < 500:
            raise TransientToolError(detail, hint="Temporary SMTP failure; retry later.") from exc
        raise ToolError(detail, hint="The server rejected the message.", code="SMTP_ERROR") from exc
    except (TimeoutError, smtplib.SMTPException, OSError) as exc:
        raise TransientToolError(
            f"cannot deliver via SMTP {host}:{port}: {exc}",
            hint="Check FLOWWRIGHT_SMTP_HOST/PORT; retry if the server is temporarily down.",
        ) from exc

"""Validation tools: email addresses, phone numbers and URLs.

An invalid value is a normal answer (`valid: false` with a reason), not an error: workflows branch
on it with `when`. Only malformed *arguments* (an unknown region code) raise.
"""

from __future__ import annotations

import difflib
import ipaddress
from typing import Annotated
from urllib.parse import parse_qs, urlsplit

from pydantic import Field
from typing_extensions import TypedDict

from app.errors import ToolInputError
from app.tools.base import SideEffect, flow_tool

# Second-level labels under which registrations happen one level deeper (example.co.uk).
_SECOND_LEVEL = frozenset(
    {"co", "com", "net", "org", "gov", "edu", "ac", "or", "ne", "go", "gob", "mil", "nic", "ltd"}
)


class EmailCheck(TypedDict):
    """Whether the address is valid; `normalized`/`domain` when it parses, `reason` when not."""

    valid: bool
    normalized: str | None
    domain: str | None
    reason: str | None


class PhoneCheck(TypedDict):
    """Whether the number is valid and, if so, its E.164 form, country code, region and type."""

    valid: bool
    e164: str | None
    country_code: int | None
    region: str | None
    number_type: str | None
    reason: str | None


class UrlParts(TypedDict):
    """Parts of a URL; `domain` is the host without `www.` reduced to its registrable part."""

    scheme: str
    host: str | None
    domain: str | None
    port: int | None
    path: str
    query: dict[str, str | list[str]]
    fragment: str


def normalize_region(region: str | None) -> str | None:
    """An upper-case CLDR region code accepted by phonenumbers, or ToolInputError."""
    import phonenumbers

    if region is None or not region.strip():
        return None
    code = region.strip().upper()
    if code == "UK":
        code = "GB"
    if code not in phonenumbers.SUPPORTED_REGIONS:
        close = difflib.get_close_matches(code, sorted(phonenumbers.SUPPORTED_REGIONS), n=3)
        raise ToolInputError(
            f"unknown region {region!r}",
            hint="Use a two-letter region code such as US, GB or DE"
            + (f"; did you mean {', '.join(close)}?" if close else "."),
        )
    return code


@flow_tool(category="validation", side_effect=SideEffect.PURE, example={"email": "ada@example.com"})
def validate_email(
    email: Annotated[str, Field(description="The email address to check.")],
    check_deliverability: Annotated[
        bool, Field(description="Also look up the domain's mail servers in DNS (uses network).")
    ] = False,
) -> EmailCheck:
    """Check whether an email address is valid and return its normalized form and domain."""
    from email_validator import EmailNotValidError
    from email_validator import validate_email as _validate

    try:
        result = _validate(email, check_deliverability=check_deliverability, timeout=5)
    except EmailNotValidError as exc:
        domain = email.rpartition("@")[2].strip().lower() if "@" in email else None
        return {"valid": False, "normalized": None, "domain": domain or None, "reason": str(exc)}
    return {"valid": True, "normalized": result.normalized, "domain": result.domain, "reason": None}


def _type_names() -> dict[int, str]:
    from phonenumbers import PhoneNumberType

    return {v: k.lower() for k, v in vars(PhoneNumberType).items() if k.isupper()}


@flow_tool(
    category="validation",
    side_effect=SideEffect.PURE,
    example={"number": "+1 650-253-0000", "region": "US"},
)
def validate_phone(
    number: Annotated[str, Field(description="The phone number, national or international.")],
    region: Annotated[
        str, Field(description="Two-letter region assumed for numbers without `+country`.")
    ] = "US",
) -> PhoneCheck:
    """Check whether a phone number is valid; give its E.164 form, country and type (mobile...)."""
    import phonenumbers

    default_region = normalize_region(region)
    invalid: PhoneCheck = {
        "valid": False, "e164": None, "country_code": None,
        "region": None, "number_type": None, "reason": None,
    }  # fmt: skip
    try:
        parsed = phonenumbers.parse(number, default_region)
    except phonenumbers.NumberParseException as exc:
        return {**invalid, "reason": str(exc.args[0] if exc.args else exc)}
    if not phonenumbers.is_valid_number(parsed):
        reason = phonenumbers.is_possible_number_with_reason(parsed)
        why = {v: k.lower() for k, v in vars(phonenumbers.ValidationResult).items() if k.isupper()}
        detail = why.get(reason, "invalid")
        detail = "not a number in use" if detail == "is_possible" else detail.replace("_", " ")
        return {**invalid, "country_code": parsed.country_code, "reason": detail}
    return {
        "valid": True,
        "e164": phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164),
        "country_code": parsed.country_code,
        "region": phonenumbers.region_code_for_number(parsed),
        "number_type": _type_names().get(phonenumbers.number_type(parsed), "unknown"),
        "reason": None,
    }


def registrable_domain(host: str | None) -> str | None:
    """The host without `www.`, cut to its registrable part (an approximation: no suffix list)."""
    if not host:
        return None
    try:
        ipaddress.ip_address(host)
        return host
    except ValueError:
        pass
    labels = host.rstrip(".").split(".")
    if labels[0] == "www" and len(labels) > 2:
        labels = labels[1:]
    keep = 3 if len(labels) >= 3 and len(labels[-1]) == 2 and labels[-2] in _SECOND_LEVEL else 2
    return ".".join(labels[-keep:])


@flow_tool(
    category="validation",
    side_effect=SideEffect.PURE,
    example={"url": "https://www.example.com/pricing?plan=pro"},
)
def parse_url(
    url: Annotated[str, Field(description="The URL to split into parts.")],
) -> UrlParts:
    """Split a URL into scheme, host, domain, path and query parameters."""
    text = url.strip()
    if "://" not in text and not text.startswith("//"):
        text = "//" + text  # "example.com/a" is a host and a path, not a relative path
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise ToolInputError(f"cannot parse URL {url!r}: {exc}", hint="Check the URL.") from None
    query: dict[str, str | list[str]] = {
        key: values[0] if len(values) == 1 else values
        for key, values in parse_qs(parts.query, keep_blank_values=True).items()
    }
    return {
        "scheme": parts.scheme,
        "host": parts.hostname,
        "domain": registrable_domain(parts.hostname),
        "port": port,
        "path": parts.path,
        "query": query,
        "fragment": parts.fragment,
    }


TOOLS = [validate_email, validate_phone, parse_url]

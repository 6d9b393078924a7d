"""Validation tools: invalid input is an answer (`valid: false` + reason), never an exception."""

from __future__ import annotations

import pytest

from app.errors import ToolInputError
from app.tools.base import SideEffect, tool_info
from app.tools.checks import TOOLS, parse_url, validate_email, validate_phone


def test_checks_are_pure_validation_tools_with_output_properties() -> None:
    for tool in TOOLS:
        info = tool_info(tool)
        assert info.side_effect is SideEffect.PURE and info.category == "validation"
        assert "valid" in info.output_schema["properties"] or tool is parse_url
        tool.invoke(info.example)


def test_validate_email_valid_and_normalized() -> None:
    out = validate_email.invoke({"email": "Ada.Lovelace@EXAMPLE.com"})
    assert out == {
        "valid": True,
        "normalized": "Ada.Lovelace@example.com",
        "domain": "example.com",
        "reason": None,
    }


@pytest.mark.parametrize(
    ("email", "why"),
    [("not-an-email", "@"), ("a@b", "after the @"), ("a..b@example.com", "period"), ("", "")],
)
def test_validate_email_invalid_returns_reason(email: str, why: str) -> None:
    out = validate_email.invoke({"email": email})
    assert out["valid"] is False and out["normalized"] is None
    assert why in out["reason"] and out["reason"]


def test_validate_phone_valid_mobile_in_germany() -> None:
    out = validate_phone.invoke({"number": "0151 23456789", "region": "de"})
    assert out["valid"] is True
    assert out["e164"] == "+4915123456789"
    assert (out["country_code"], out["region"], out["number_type"]) == (49, "DE", "mobile")


def test_validate_phone_international_overrides_region() -> None:
    out = validate_phone.invoke({"number": "+1 650-253-0000"})
    assert out["valid"] and out["region"] == "US" and out["e164"] == "+16502530000"
    assert out["number_type"] == "fixed_line_or_mobile"


@pytest.mark.parametrize("number", ["12", "hello", "+1 555 0100 999999"])
def test_validate_phone_invalid_is_not_an_exception(number: str) -> None:
    out = validate_phone.invoke({"number": number})
    assert out["valid"] is False and out["e164"] is None and out["reason"]


def test_validate_phone_unknown_region_suggests() -> None:
    with pytest.raises(ToolInputError, match="unknown region") as info:
        validate_phone.invoke({"number": "123", "region": "USA"})
    assert "US" in (info.value.hint or "")


def test_parse_url_parts() -> None:
    out = parse_url.invoke({"url": "https://www.Example.co.uk:8443/a/b?x=1&y=2&y=3&empty=#top"})
    assert out == {
        "scheme": "https",
        "host": "www.example.co.uk",
        "domain": "example.co.uk",
        "port": 8443,
        "path": "/a/b",
        "query": {"x": "1", "y": ["2", "3"], "empty": ""},
        "fragment": "top",
    }


def test_parse_url_subdomain_ip_and_no_scheme() -> None:
    assert parse_url.invoke({"url": "https://blog.example.com"})["domain"] == "example.com"
    assert parse_url.invoke({"url": "http://10.0.0.1/x"})["domain"] == "10.0.0.1"
    bare = parse_url.invoke({"url": "example.org/path?q=a"})
    assert (bare["scheme"], bare["host"], bare["path"], bare["query"]) == (
        "", "example.org", "/path", {"q": "a"},
    )  # fmt: skip
    with pytest.raises(ToolInputError):
        parse_url.invoke({"url": "http://[::1"})

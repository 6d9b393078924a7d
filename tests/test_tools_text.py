"""Text tools through `tool.invoke`, offline (no LLM configured)."""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path

import pytest

from app.errors import NotConfiguredError, SecurityError, ToolInputError
from app.tools.base import SideEffect, tool_info
from app.tools.template import render_template
from app.tools.text import (
    TOOLS,
    analyze_sentiment,
    classify_text,
    current_time,
    extract_emails,
    extract_phone_numbers,
    extract_urls,
    regex_extract,
    summarize_text,
    translate_text,
)


def test_every_example_runs_offline(workspace: Path) -> None:
    for tool in [*TOOLS, render_template]:
        info = tool_info(tool)
        assert info.description and info.output_schema, info.name
        if tool is translate_text:
            continue
        assert info.side_effect is SideEffect.PURE, info.name
        tool.invoke(info.example)


def test_import_is_cheap() -> None:
    import subprocess

    code = (
        "import sys, app.tools.text; "
        "print(sorted(m for m in ('phonenumbers', 'jmespath', 'vaderSentiment', "
        "'langchain.chat_models', 'email_validator') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_extract_emails_dedupes_and_trims_punctuation() -> None:
    text = "Mail Ada@Example.com, ada@example.com or bob.s+news@mail.acme.co.uk. Not a@b or @x.io."
    assert extract_emails.invoke({"text": text}) == [
        "Ada@Example.com",
        "bob.s+news@mail.acme.co.uk",
    ]


def test_extract_urls_strips_trailing_punctuation_and_parens() -> None:
    text = (
        "See https://example.com/docs?a=1&b=2, (http://x.io/path) and "
        "https://en.wikipedia.org/wiki/Python_(language). Also www.acme.org! ftp://files.io/f."
    )
    assert extract_urls.invoke({"text": text}) == [
        "https://example.com/docs?a=1&b=2",
        "http://x.io/path",
        "https://en.wikipedia.org/wiki/Python_(language)",
        "www.acme.org",
        "ftp://files.io/f",
    ]


def test_extract_phone_numbers_e164_by_region() -> None:
    text = "Call (650) 253-0000, +44 20 7031 3000 or again 650.253.0000. Order 12345."
    assert extract_phone_numbers.invoke({"text": text}) == ["+16502530000", "+442070313000"]
    de = extract_phone_numbers.invoke({"text": "Tel. 030 901820", "region": "DE"})
    assert de == ["+4930901820"]
    with pytest.raises(ToolInputError, match="unknown region"):
        extract_phone_numbers.invoke({"text": "x", "region": "Germany"})


def test_regex_extract_groups() -> None:
    text = "Order #123 shipped, order #456 pending"
    assert regex_extract.invoke({"text": text, "pattern": r"#\d+"}) == ["#123", "#456"]
    assert regex_extract.invoke({"text": text, "pattern": r"#(\d+)", "group": 1}) == ["123", "456"]
    named = {"text": text, "pattern": r"#(?P<id>\d+) (?P<s>\w+)", "group": "s"}
    assert regex_extract.invoke(named) == ["shipped", "pending"]
    with pytest.raises(ToolInputError, match="no group 2"):
        regex_extract.invoke({"text": text, "pattern": r"#(\d+)", "group": 2})
    with pytest.raises(ToolInputError, match="invalid regular expression"):
        regex_extract.invoke({"text": text, "pattern": r"(unclosed"})
    with pytest.raises(ToolInputError, match="longer than"):
        regex_extract.invoke({"text": text, "pattern": "a" * 1001})


@pytest.mark.parametrize(
    "pattern", [r"(a+)+$", r"(a*)*b", r"(\w+\s?)+$", r"(a|ab)*c", r"(.*?,){11}P", r"(?:\s*\w+)+$"]
)
def test_regex_extract_refuses_catastrophic_patterns(pattern: str) -> None:
    with pytest.raises(SecurityError, match="exponential") as info:
        regex_extract.invoke({"text": "a" * 40 + "!", "pattern": pattern})
    assert "possessive" in (info.value.hint or "")


@pytest.mark.parametrize(
    "pattern",
    [
        r"^(\w+\.)+\w+$",
        r"(\d{1,3}\.){3}\d{1,3}",
        r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+",
        r"(\w++\s?)+$",
        r"(?>\w+\s?)+$",
        r"(\d+,)*\d+$",
    ],
)
def test_regex_extract_accepts_unambiguous_repeats_and_stays_fast(pattern: str) -> None:
    start = time.perf_counter()
    regex_extract.invoke({"text": "a" * 3000 + "!" + "1,2,3 10.0.0.1 x@y.io", "pattern": pattern})
    assert time.perf_counter() - start < 2


ARTICLE = (
    "Solar power is growing fast across Europe. Solar panels became cheaper every year. "
    "My neighbour owns a red bicycle. Governments support solar power with subsidies and "
    "solar auctions. The weather was nice on Tuesday."
)


def test_summarize_text_extracts_central_sentences_in_order(workspace: Path) -> None:
    out = summarize_text.invoke({"text": ARTICLE, "max_sentences": 2})
    assert out == (
        "Solar power is growing fast across Europe. Governments support solar power with "
        "subsidies and solar auctions."
    )
    assert summarize_text.invoke({"text": "Only one. Two!", "max_sentences": 3}) == "Only one. Two!"
    with pytest.raises(ValueError):
        summarize_text.invoke({"text": ARTICLE, "max_sentences": 0})


def test_summarize_does_not_split_on_abbreviations(workspace: Path) -> None:
    text = "Dr. Smith met Mr. J. Doe at 5 p.m. today. It rained. Dr. Smith left."
    out = summarize_text.invoke({"text": text, "max_sentences": 1})
    assert out in {"Dr. Smith met Mr. J. Doe at 5 p.m. today.", "Dr. Smith left."}


def test_classify_text_offline_scores_sum_to_one(workspace: Path) -> None:
    labels = ["billing", "shipping", "technical support"]
    out = classify_text.invoke({"text": "I was charged twice on my invoice", "labels": labels})
    assert out["label"] == "billing" and out["method"] == "lexical"
    assert sum(out["scores"].values()) == pytest.approx(1.0)
    assert out["scores"]["billing"] > 0.8
    parcel = classify_text.invoke({"text": "My parcels were never delivered", "labels": labels})
    assert parcel["label"] == "shipping"
    again = classify_text.invoke({"text": "My parcels were never delivered", "labels": labels})
    assert again == parcel  # deterministic


def test_classify_text_word_forms_and_no_signal(workspace: Path) -> None:
    out = classify_text.invoke(
        {"text": "The printers keep jamming", "labels": ["PrinterIssue", "network_outage"]}
    )
    assert out["label"] == "PrinterIssue"
    flat = classify_text.invoke({"text": "zzz", "labels": ["alpha", "beta"]})
    assert flat["scores"] == {"alpha": 0.5, "beta": 0.5} and flat["label"] == "alpha"
    with pytest.raises(ToolInputError):
        classify_text.invoke({"text": "x", "labels": [" "]})


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("I love this product, it is wonderful!", "positive"),
        ("This is the worst service ever. Terrible.", "negative"),
        ("The package arrived on Tuesday.", "neutral"),
        ("Not bad at all :)", "positive"),
    ],
)
def test_analyze_sentiment_vader_labels(text: str, label: str) -> None:
    out = analyze_sentiment.invoke({"text": text})
    assert out["label"] == label and -1 <= out["score"] <= 1
    if label == "neutral":
        assert abs(out["score"]) < 0.05


def test_translate_text_needs_llm(workspace: Path) -> None:
    with pytest.raises(NotConfiguredError, match="configure FLOWWRIGHT_LLM_MODEL"):
        translate_text.invoke({"text": "hi", "target_language": "French"})


def test_render_template_loops_and_data() -> None:
    out = render_template.invoke(
        {
            "template": "{% for p in people %}{{ loop.index }}. {{ p.name | upper }}\n{% endfor %}"
            "Total: {{ data.people | length }}",
            "data": {"people": [{"name": "ada"}, {"name": "bob"}]},
        }
    )
    assert out == "1. ADA\n2. BOB\nTotal: 2"


@pytest.mark.parametrize(
    ("template", "error", "match"),
    [
        ("{{ x.__class__.__mro__ }}", SecurityError, "refused"),
        ("{{ x.upper.__globals__ }}", SecurityError, "refused"),
        ("{{ x['__class__'] }}", SecurityError, "refused"),
        ("{{ x.encode('utf-8') }}", SecurityError, "refused"),
        ("{{ 'a' * 2000000 }}", SecurityError, "too large"),
        ("{% for i in range(99999) %}{% for j in range(99999) %}{% endfor %}{% endfor %}",
         SecurityError, "more than"),
        ("{% for i in range(99999) %}{{ 'x' * 100 }}{% endfor %}", ToolInputError, "exceeds"),
        ("{{ missing }}", ToolInputError, "Available variables"),
        ("{% include 'other.txt' %}", ToolInputError, "failed"),
        ("{% for %}", ToolInputError, "line 1"),
    ],
)  # fmt: skip
def test_render_template_is_sandboxed_and_capped(
    template: str, error: type[Exception], match: str
) -> None:
    with pytest.raises(error) as info:
        render_template.invoke({"template": template, "data": {"x": "abc"}})
    assert re.search(match, f"{info.value} {getattr(info.value, 'hint', '')}")


def test_current_time_parts_and_timezones() -> None:
    out = current_time.invoke({"timezone": "Asia/Tokyo"})
    assert out["timezone"] == "Asia/Tokyo" and out["iso"].endswith("+09:00")
    assert out["iso"].startswith(out["date"] + "T" + out["time"])
    assert out["weekday"] in {"Monday", "Tuesday", "Wednesday", "Thursday", "Friday",
                              "Saturday", "Sunday"}  # fmt: skip
    assert current_time.invoke({})["timezone"] == "UTC"
    assert current_time.invoke({"timezone": "europe/berlin"})["timezone"] == "Europe/Berlin"
    assert current_time.invoke({"timezone": "New York"})["timezone"] == "America/New_York"


def test_current_time_unknown_timezone_suggests() -> None:
    with pytest.raises(ToolInputError, match="unknown timezone") as info:
        current_time.invoke({"timezone": "Europe/Berlni"})
    assert "Europe/Berlin" in (info.value.hint or "")
    with pytest.raises(ToolInputError):
        current_time.invoke({"timezone": "../../etc/passwd"})

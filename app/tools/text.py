"""Text tools: extraction, regex, summary, classification, sentiment, translation, time.

Everything here runs offline except `translate_text`; summary and classification use the
configured LLM when there is one. Heavy libraries load inside the tools that need them.
"""

from __future__ import annotations

import difflib
import json
import re
from datetime import datetime
from functools import lru_cache
from typing import Annotated, Any

from pydantic import Field
from typing_extensions import TypedDict

from app.errors import ToolInputError
from app.tools import llm
from app.tools.base import Requirement, SideEffect, flow_tool
from app.tools.checks import normalize_region
from app.tools.regex_guard import compile_safe_regex
from app.tools.textstats import extractive_summary, lexical_scores

MAX_TEXT_CHARS = 1_000_000
MAX_MATCHES = 10_000

Text = Annotated[str, Field(description="The text to work on.")]

_EMAIL = re.compile(
    r"(?<![\w.%+-])[A-Za-z0-9](?:[A-Za-z0-9._%+-]{0,62}[A-Za-z0-9_%+-])?"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}(?![\w-])"
)
_URL = re.compile(r"""(?:https?://|ftp://|www\.)[^\s<>"'`{}|\\^]+""", re.IGNORECASE)
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


class Classification(TypedDict):
    """The best label and every label's score (scores sum to 1)."""

    label: str
    scores: dict[str, float]
    method: str


class Sentiment(TypedDict):
    """positive/negative/neutral and VADER's compound score in [-1, 1]."""

    label: str
    score: float


class CurrentTime(TypedDict):
    """The current moment in a timezone, as ISO 8601 and as separate parts."""

    iso: str
    date: str
    time: str
    weekday: str
    timezone: str


def _limit(text: str, limit: int = MAX_TEXT_CHARS) -> str:
    if len(text) > limit:
        raise ToolInputError(f"text longer than {limit} characters", hint="Split the text.")
    return text


def _unique(items: list[str], *, fold: bool = False) -> list[str]:
    seen: set[str] = set()
    out = []
    for item in items:
        key = item.lower() if fold else item
        if key not in seen:
            seen.add(key)
            out.append(item)
    return out


@flow_tool(
    category="text",
    side_effect=SideEffect.PURE,
    example={"text": "Write to ada@example.com or sales@acme.io."},
)
def extract_emails(text: Text) -> list[str]:
    """Find all email addresses in a text (each once, in order of appearance)."""
    return _unique(_EMAIL.findall(_limit(text)), fold=True)


def _trim_url(url: str) -> str:
    """Drop sentence punctuation and unbalanced closing brackets that follow a link."""
    pairs = {")": "(", "]": "["}
    while url and (
        url[-1] in ".,;:!?'\"*"
        or (url[-1] in pairs and url.count(pairs[url[-1]]) < url.count(url[-1]))
    ):
        url = url[:-1]
    return url


@flow_tool(
    category="text",
    side_effect=SideEffect.PURE,
    example={"text": "Docs at https://example.com/docs (and www.example.org)."},
)
def extract_urls(text: Text) -> list[str]:
    """Find all web links (http, https, ftp and www. addresses) in a text."""
    urls = [_trim_url(u) for u in _URL.findall(_limit(text))]
    return _unique([u for u in urls if len(u) > len("www.")])


@flow_tool(
    category="text",
    side_effect=SideEffect.PURE,
    example={"text": "Call (650) 253-0000 or +44 20 7031 3000.", "region": "US"},
)
def extract_phone_numbers(
    text: Text,
    region: Annotated[
        str, Field(description="Two-letter region assumed for numbers without `+country`.")
    ] = "US",
) -> list[str]:
    """Find all valid phone numbers in a text and return them in E.164 form (+16502530000)."""
    import phonenumbers

    matcher = phonenumbers.PhoneNumberMatcher(_limit(text), normalize_region(region))
    fmt = phonenumbers.PhoneNumberFormat.E164
    return _unique([phonenumbers.format_number(m.number, fmt) for m in matcher])


@flow_tool(
    category="text",
    side_effect=SideEffect.PURE,
    example={"text": "Order #123 and #456", "pattern": r"#(\d+)", "group": 1},
)
def regex_extract(
    text: Text,
    pattern: Annotated[str, Field(description="Python regular expression to search for.")],
    group: Annotated[
        int | str, Field(description="Capture group to return (number or name); 0 = whole match.")
    ] = 0,
) -> list[str]:
    """Extract every match of a regular expression (or one capture group of it) from a text.

    Patterns with nested or ambiguous repeats are refused up front, so matching stays fast.
    """
    compiled = compile_safe_regex(pattern)
    if isinstance(group, int) and not 0 <= group <= compiled.groups:
        raise ToolInputError(f"pattern has no group {group}; it has {compiled.groups}")
    if isinstance(group, str) and group not in compiled.groupindex:
        raise ToolInputError(f"pattern has no group named {group!r}")
    found = []
    for match in compiled.finditer(_limit(text)):
        value = match.group(group)
        if value is not None:
            found.append(value)
        if len(found) >= MAX_MATCHES:
            break
    return found


@flow_tool(
    category="text",
    side_effect=SideEffect.PURE,
    example={
        "text": "Flowwright plans workflows. It validates them. It runs them.",
        "max_sentences": 2,
    },
)
def summarize_text(
    text: Text,
    max_sentences: Annotated[
        int, Field(ge=1, le=50, description="Longest summary, in sentences.")
    ] = 3,
) -> str:
    """Summarize a text in a few sentences (LLM when configured, else the most central sentences).

    Offline it is extractive: sentences score by the frequency of their words and keep their order.
    """
    _limit(text)
    if llm.llm_configured():
        system = (
            "You summarize text faithfully and concisely. Reply with the summary only, "
            f"in at most {max_sentences} sentences, in the language of the text."
        )
        return llm.complete(text, system)
    return extractive_summary(text, max_sentences)


def _llm_scores(text: str, labels: list[str]) -> dict[str, float] | None:
    system = (
        "You classify text. Reply with a JSON object that maps every label to the probability "
        "that it fits the text; probabilities sum to 1. Labels: " + json.dumps(labels)
    )
    reply = llm.complete(text, system)
    match = re.search(r"\{.*\}", reply, re.DOTALL)
    try:
        data = json.loads(match.group(0)) if match else None
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    by_lower = {str(k).strip().lower(): v for k, v in data.items()}
    values = [by_lower.get(label.lower()) for label in labels]
    numbers = [max(float(v), 0.0) if isinstance(v, int | float) else 0.0 for v in values]
    total = sum(numbers)
    return {lb: n / total for lb, n in zip(labels, numbers, strict=True)} if total > 0 else None


@flow_tool(
    category="text",
    side_effect=SideEffect.PURE,
    example={"text": "My invoice is wrong, please refund me.", "labels": ["billing", "shipping"]},
)
def classify_text(
    text: Text,
    labels: Annotated[list[str], Field(min_length=1, description="The candidate labels.")],
) -> Classification:
    """Classify a text into one of the given labels (categories), with a score for each label.

    Uses the LLM when configured; offline it scores each label's words and their near forms.
    """
    _limit(text)
    labels = _unique([lb.strip() for lb in labels if lb.strip()])
    if not labels:
        raise ToolInputError("`labels` needs at least one non-empty label")
    scores = _llm_scores(text, labels) if llm.llm_configured() else None
    method = "llm" if scores else "lexical"
    scores = scores or lexical_scores(text, labels)
    best = max(labels, key=lambda lb: scores[lb])  # ties: first label wins
    return {"label": best, "scores": scores, "method": method}


@lru_cache(maxsize=1)
def _vader() -> Any:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


@flow_tool(category="text", side_effect=SideEffect.PURE, example={"text": "I love this product!"})
def analyze_sentiment(text: Text) -> Sentiment:
    """Tell whether a text is positive, negative or neutral in tone, with a score from -1 to 1.

    Uses the VADER lexicon: compound >= 0.05 is positive, <= -0.05 negative, else neutral.
    """
    compound = float(_vader().polarity_scores(_limit(text))["compound"])
    label = "positive" if compound >= 0.05 else "negative" if compound <= -0.05 else "neutral"
    return {"label": label, "score": round(compound, 4)}


@flow_tool(
    category="ai",
    side_effect=SideEffect.NETWORK,
    requires=(Requirement.LLM,),
    example={"text": "Good morning", "target_language": "German"},
)
def translate_text(
    text: Text,
    target_language: Annotated[str, Field(description="Language to translate into, e.g. German.")],
) -> str:
    """Translate a text into another language with the configured LLM."""
    if not llm.llm_configured():
        from app.errors import NotConfiguredError

        raise NotConfiguredError(
            "translate_text needs an LLM: configure FLOWWRIGHT_LLM_MODEL", hint=llm.LLM_HINT
        )
    system = (
        f"Translate the user's text into {target_language}. Keep meaning, tone and formatting. "
        "Reply with the translation only."
    )
    return llm.complete(_limit(text, llm.MAX_PROMPT_CHARS), system)


def _zone(name: str) -> Any:
    from zoneinfo import ZoneInfo, available_timezones

    key = name.strip() or "UTC"
    if key.upper() in ("UTC", "Z", "GMT", "ZULU"):
        key = "UTC"
    zones = available_timezones()
    if key not in zones:
        by_lower = {z.lower(): z for z in zones}
        wanted = key.lower().replace(" ", "_")
        cities = [z for z in zones if z.lower().rsplit("/", 1)[-1] == wanted]
        if wanted in by_lower:
            key = by_lower[wanted]
        elif len(cities) == 1:  # "Tokyo" → Asia/Tokyo
            key = cities[0]
        else:
            close = difflib.get_close_matches(key, sorted(zones), n=3, cutoff=0.6) or sorted(cities)
            raise ToolInputError(
                f"unknown timezone {name!r}",
                hint=(f"Did you mean {', '.join(close)}? " if close else "")
                + "Use an IANA name such as Europe/Berlin or America/New_York.",
            )
    return ZoneInfo(key)


@flow_tool(category="text", side_effect=SideEffect.PURE, example={"timezone": "Europe/Berlin"})
def current_time(
    timezone: Annotated[str, Field(description="IANA timezone, e.g. Europe/Berlin.")] = "UTC",
) -> CurrentTime:
    """Get the current date, time and weekday in a timezone."""
    zone = _zone(timezone)
    now = datetime.now(zone)
    return {
        "iso": now.isoformat(timespec="seconds"),
        "date": now.date().isoformat(),
        "time": now.strftime("%H:%M:%S"),
        "weekday": _WEEKDAYS[now.weekday()],
        "timezone": str(zone.key),
    }


TOOLS = [
    extract_emails, extract_urls, extract_phone_numbers, regex_extract, summarize_text,
    classify_text, analyze_sentiment, translate_text, current_time,
]  # fmt: skip

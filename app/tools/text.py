"""Text tools: extraction, regex, summary, classification, sentiment, translation, templates, time.

Everything here runs offline except `translate_text`; summary and classification use the
configured LLM when there is one. Heavy libraries load inside the tools that need them.
"""

from __future__ import annotations

import difflib
import json
import math
import re
import time as _time
from collections import Counter
from datetime import datetime
from functools import lru_cache
from typing import Annotated, Any

from pydantic import Field
from typing_extensions import TypedDict

from app.errors import SecurityError, ToolInputError
from app.tools import llm
from app.tools.base import Requirement, SideEffect, flow_tool
from app.tools.checks import normalize_region

MAX_TEXT_CHARS = 1_000_000
MAX_PATTERN_CHARS = 1_000
MAX_MATCHES = 10_000
MAX_TEMPLATE_CHARS = 100_000
MAX_OUTPUT_CHARS = 1_000_000
MAX_LOOP_ITEMS = 100_000
TEMPLATE_DEADLINE_S = 5.0

Text = Annotated[str, Field(description="The text to work on.")]

_EMAIL = re.compile(
    r"(?<![\w.%+-])[A-Za-z0-9](?:[A-Za-z0-9._%+-]{0,62}[A-Za-z0-9_%+-])?"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}(?![\w-])"
)
_URL = re.compile(r"""(?:https?://|ftp://|www\.)[^\s<>"'`{}|\\^]+""", re.IGNORECASE)
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")
_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"'”’)\]]*\s+(?=[\"'“‘(\[]?[A-Z0-9À-Ý])")
_ABBREVIATIONS = frozenset(
    re.findall(r"\S+", "mr mrs ms dr prof st jr sr inc ltd co corp vs etc e.g i.e no fig approx")
)
STOPWORDS = frozenset(
    re.findall(
        r"\S+",
        """a about above after again against all am an and any are as at be because been before
        being below between both but by can could did do does doing down during each few for from
        further had has have having he her here hers him his how i if in into is it its itself just
        me more most my no nor not now of off on once only or other our ours out over own same she
        should so some such than that the their theirs them then there these they this those
        through to too under until up very was we were what when where which while who whom why
        will with would you your yours also may might must shall us via per""",
    )
)
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


# --- regex safety: refuse patterns that can backtrack catastrophically -------------------------
_CLASS_ESCAPES = {
    "CATEGORY_DIGIT": r"\d", "CATEGORY_NOT_DIGIT": r"\D", "CATEGORY_SPACE": r"\s",
    "CATEGORY_NOT_SPACE": r"\S", "CATEGORY_WORD": r"\w", "CATEGORY_NOT_WORD": r"\W",
}  # fmt: skip
_PROBE = [chr(c) for c in range(0x250)] + ["€", "中", "😀"]


def _char_class(items: list[Any]) -> str | None:
    """A one-character regex equivalent to a parsed sequence, or None when it is not one char."""
    if len(items) != 1:
        return None
    op, av = items[0]
    name = str(op)
    if name == "LITERAL":
        return re.escape(chr(av))
    if name == "NOT_LITERAL":
        return "[^" + re.escape(chr(av)) + "]"
    if name == "ANY":
        return "."
    if name != "IN":
        return None
    parts = []
    for sub_op, sub_av in av:
        sub = str(sub_op)
        if sub == "NEGATE":
            parts.insert(0, "^")
        elif sub == "LITERAL":
            parts.append(re.escape(chr(sub_av)))
        elif sub == "RANGE":
            parts.append(re.escape(chr(sub_av[0])) + "-" + re.escape(chr(sub_av[1])))
        elif sub == "CATEGORY" and str(sub_av) in _CLASS_ESCAPES:
            parts.append(_CLASS_ESCAPES[str(sub_av)])
        else:
            return None
    return "[" + "".join(parts) + "]"


def _overlap(a: str | None, b: str | None, flags: int) -> bool:
    if a is None or b is None:
        return True  # unknown shapes count as overlapping: refuse rather than hang
    return any(re.fullmatch(a, c, flags) and re.fullmatch(b, c, flags) for c in _PROBE)


def _flatten(items: list[Any]) -> list[Any]:
    out: list[Any] = []
    for op, av in items:
        if str(op) == "SUBPATTERN":
            out.extend(_flatten(list(av[3])))
        else:
            out.append((op, av))
    return out


def _single_char(item: Any) -> str | None:
    """The character class a sequence item starts with, when it is one char or a 1+ repeat."""
    if str(item[0]) in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT") and item[1][0] >= 1:
        return _char_class(list(item[1][2]))
    return _char_class([item])


def _repeat_problem(body: list[Any], outer_unbounded: bool, flags: int, wrap: bool) -> str | None:
    """Why a repeated body is ambiguous, or None. A variable repeat inside is fine only when a
    following character it cannot match (e.g. the `.` in `(\\w+\\.)+`) forces where it ends."""
    from re._constants import MAXREPEAT  # the parser's own constants (CPython 3.11+)

    seq = _flatten(body)
    for i, (op, av) in enumerate(seq):
        name = str(op)
        if name in ("MAX_REPEAT", "MIN_REPEAT") and av[0] != av[1]:
            if not (outer_unbounded or av[1] == MAXREPEAT):
                continue
            nxt = seq[i + 1] if i + 1 < len(seq) else (seq[0] if wrap and i else None)
            sep = _single_char(nxt) if nxt else None
            if sep is None or _overlap(_char_class(list(av[2])), sep, flags):
                return "a quantified group contains another quantifier"
        elif name == "BRANCH":
            firsts = [_char_class(_flatten(list(b))[:1]) for b in av[1]]
            if outer_unbounded and any(
                _overlap(x, y, flags) for j, x in enumerate(firsts) for y in firsts[j + 1 :]
            ):
                return "a quantified group has alternatives that can match the same text"
            if any(_repeat_problem(list(b), outer_unbounded, flags, False) for b in av[1]):
                return "a quantified group contains another quantifier"
    return None


def _unsafe_regex(items: list[Any], flags: int) -> str | None:
    from re._constants import MAXREPEAT

    for op, av in items:
        name = str(op)
        if name in ("MAX_REPEAT", "MIN_REPEAT"):
            body = list(av[2])
            if av[1] > 1 and (problem := _repeat_problem(body, av[1] == MAXREPEAT, flags, True)):
                return problem
            children = [body]
        elif name == "SUBPATTERN":
            children = [list(av[3])]
        elif name == "BRANCH":
            children = [list(b) for b in av[1]]
        elif name in ("ASSERT", "ASSERT_NOT"):
            children = [list(av[1])]
        else:  # possessive repeats and atomic groups never backtrack
            children = []
        for child in children:
            if problem := _unsafe_regex(child, flags):
                return problem
    return None


def compile_safe_regex(pattern: str) -> re.Pattern[str]:
    """Compile a user pattern, refusing long ones and ones prone to catastrophic backtracking."""
    from re import _parser  # type: ignore[attr-defined]

    if len(pattern) > MAX_PATTERN_CHARS:
        raise ToolInputError(f"pattern longer than {MAX_PATTERN_CHARS} characters")
    try:
        compiled = re.compile(pattern)
        problem = _unsafe_regex(list(_parser.parse(pattern, compiled.flags)), compiled.flags)
    except re.error as exc:
        raise ToolInputError(f"invalid regular expression: {exc}") from None
    if problem:
        raise SecurityError(
            f"pattern {pattern!r} refused: {problem}, which can take exponential time",
            hint="Make repeats unambiguous: `[\\w.]+` instead of `(\\w+\\.?)+`, or use a "
            "possessive quantifier `\\w++` / atomic group `(?>...)`.",
        )
    return compiled


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


# --- summary and classification ----------------------------------------------------------------
def _stem(word: str) -> str:
    """A light suffix stripper so `invoices`/`shipping`/`shipped` meet `invoice`/`ship`."""
    stem = word
    if word.endswith("ies") and len(word) > 4:
        stem = word[:-3] + "y"
    elif word.endswith(("sses", "xes", "zes", "ches", "shes")):
        stem = word[:-2]
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")) and len(word) > 3:
        stem = word[:-1]
    else:
        for suffix in ("ing", "ed", "ly"):
            if word.endswith(suffix) and len(word) - len(suffix) >= 3:
                stem = word[: -len(suffix)]
                if stem[-1] == stem[-2] and stem[-1] not in "lsz":  # shipp(ing) -> ship
                    stem = stem[:-1]
                break
    return stem


def _terms(text: str) -> list[str]:
    words = [w.lower().replace("'", "") for w in _WORD.findall(text)]
    return [_stem(w) for w in words if w not in STOPWORDS and len(w) > 1]


def split_sentences(text: str) -> list[str]:
    """Sentences in order; paragraphs always break, common abbreviations (Dr., e.g.) do not."""
    sentences: list[str] = []
    for paragraph in re.split(r"\n\s*\n", text):
        pieces = _SENTENCE_END.split(" ".join(paragraph.split()))
        for piece in pieces:
            last = sentences[-1].rsplit(None, 1)[-1].lower().rstrip(".") if sentences else ""
            joined = sentences and not sentences[-1].endswith("\n") and piece
            if joined and (last in _ABBREVIATIONS or (len(last) == 1 and last.isalpha())):
                sentences[-1] += " " + piece
            elif piece.strip():
                sentences.append(piece.strip())
        if sentences:
            sentences[-1] += "\n"  # marks a paragraph end: never merged across
    return [s.strip() for s in sentences]


def _extractive_summary(text: str, max_sentences: int) -> str:
    sentences = split_sentences(text)
    if len(sentences) <= max_sentences:
        return " ".join(sentences)
    per_sentence = [_terms(s) for s in sentences]
    freq = Counter(t for terms in per_sentence for t in terms)
    top = max(freq.values(), default=1)

    def score(i: int) -> float:
        terms = per_sentence[i]
        return sum(freq[t] / top for t in terms) / math.sqrt(len(terms)) if terms else 0.0

    ranked = sorted(range(len(sentences)), key=lambda i: (-score(i), i))[:max_sentences]
    return " ".join(sentences[i] for i in sorted(ranked))


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
    return _extractive_summary(text, max_sentences)


def _trigrams(word: str) -> set[str]:
    padded = f" {word} "
    return {padded[i : i + 3] for i in range(len(padded) - 2)}


def _similarity(a: str, b: str) -> float:
    """1 for the same stem, else the Dice overlap of character trigrams when it is high."""
    if a == b:
        return 1.0
    x, y = _trigrams(a), _trigrams(b)
    dice = 2 * len(x & y) / (len(x) + len(y))
    return dice if dice >= 0.5 else 0.0


# Words that signal common workflow labels although they do not share the label's letters.
_RELATED = {
    "billing": "invoice payment charge refund price cost fee subscription receipt card paid",
    "shipping": "delivery deliver package parcel tracking courier arrive shipment shipped",
    "support": "help issue problem error broken fix crash",
    "sales": "buy purchase pricing quote demo discount order trial",
    "complaint": "terrible awful disappointed angry unacceptable worst complain",
    "spam": "winner free prize lottery click offer unsubscribe",
    "urgent": "asap immediately emergency critical deadline",
    "bug": "error crash broken exception fail failing",
    "refund": "money back return reimburse",
    "account": "login password sign username",
    "cancel": "cancellation unsubscribe terminate",
}


def lexical_scores(text: str, labels: list[str]) -> dict[str, float]:
    """Label probabilities from how strongly each label's words, near forms and related words
    occur in the text (term frequency, dampened); deterministic and offline."""
    counts = Counter(_terms(text))
    raw = []
    for label in labels:
        spaced = re.sub(r"(?<=[a-z])(?=[A-Z])|_|-", " ", label)
        words = _terms(spaced) or [_stem(w.lower()) for w in _WORD.findall(spaced)]
        per_word = []
        for word in words:
            related = _RELATED.get(word) or next(
                (v for k, v in _RELATED.items() if _stem(k) == word), ""
            )
            cues = {word: 1.0} | {_stem(r): 0.7 for r in related.split()}
            per_word.append(
                max(
                    (_similarity(c, t) * w * (1 + math.log(n)) for c, w in cues.items()
                     for t, n in counts.items()),
                    default=0.0,
                )
            )  # fmt: skip
        raw.append(sum(per_word) / len(per_word) if per_word else 0.0)
    smoothing = 0.05 * max(max(raw), 1e-9) if any(raw) else 1.0
    total = sum(r + smoothing for r in raw)
    return {label: (r + smoothing) / total for label, r in zip(labels, raw, strict=True)}


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


# --- templates and time ------------------------------------------------------------------------
@flow_tool(
    category="text",
    side_effect=SideEffect.PURE,
    example={"template": "Hello {{ name }}! {% for i in items %}[{{ i }}]{% endfor %}",
             "data": {"name": "Ada", "items": [1, 2]}},
)  # fmt: skip
def render_template(
    template: Annotated[str, Field(description="Jinja2 template text ({{ var }}, {% for %}...).")],
    data: Annotated[dict[str, Any], Field(description="Variables for the template.")],
) -> str:
    """Fill a text template (Jinja2: variables, loops, conditions) with data; sandboxed.

    The data's keys are variables, and `data` is the whole dict. Output is capped in size.
    """
    from jinja2 import TemplateError
    from jinja2.exceptions import SecurityError as JinjaSecurityError

    from app.workflow.expressions import environment

    _limit(template, MAX_TEMPLATE_CHARS)
    loop_items = 0

    def bounded_range(*args: int) -> range:
        nonlocal loop_items
        items = range(*args)
        loop_items += len(items)
        if loop_items > MAX_LOOP_ITEMS:
            raise JinjaSecurityError(f"range() produced more than {MAX_LOOP_ITEMS} items")
        return items

    context = {"data": data, **{str(k): v for k, v in data.items()}, "range": bounded_range}
    try:
        private = _private_access(environment().parse(template))
        if private:  # refused statically as well as by the sandbox at run time
            raise SecurityError(f"template refused: access to private name `{private}`")
        compiled = environment().from_string(template)
    except TemplateError as exc:
        line = getattr(exc, "lineno", None)
        raise ToolInputError(f"template does not parse (line {line}): {exc}") from None
    deadline = _time.monotonic() + TEMPLATE_DEADLINE_S
    out: list[str] = []
    size = 0
    try:
        for chunk in compiled.generate(**context):
            size += len(chunk)
            out.append(chunk)
            if size > MAX_OUTPUT_CHARS or _time.monotonic() > deadline:
                raise ToolInputError(
                    f"template output exceeds {MAX_OUTPUT_CHARS} characters or "
                    f"{TEMPLATE_DEADLINE_S:g}s",
                    hint="Render less data, or split the template.",
                )
    except JinjaSecurityError as exc:
        raise SecurityError(f"template refused: {exc}") from None
    except (TemplateError, TypeError, ValueError, ArithmeticError, LookupError) as exc:
        where = f" (line {exc.lineno})" if getattr(exc, "lineno", None) else ""
        raise ToolInputError(
            f"template failed{where}: {getattr(exc, 'message', None) or exc}",
            hint=f"Available variables: {', '.join(sorted(set(context) - {'range'}))}.",
        ) from None
    except RecursionError:
        raise ToolInputError("template recursion too deep") from None
    return "".join(out)


def _private_access(tree: Any) -> str | None:
    """The first `_name` attribute or key a template reads (refused before it runs)."""
    from jinja2 import nodes

    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        key = node.attr if isinstance(node, nodes.Getattr) else getattr(node.arg, "value", None)
        if isinstance(key, str) and key.startswith("_"):
            return key
    return None


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
    classify_text, analyze_sentiment, translate_text, render_template, current_time,
]  # fmt: skip

"""Literal extraction: the values a request spells out, with their span and kind.

Kinds: url, email, file, domain, phone, quoted, number, code (all-caps token such as MX or POST),
country, timezone, language, list (`billing, technical or sales`), field (`by email`,
`the amount column`), order (ascending/descending wording). Names become codes through pycountry
(countries, languages) and zoneinfo (timezones), so nothing here is keyed to one data set.
"""

from __future__ import annotations

import re
import zoneinfo
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from agents.planner.text import GENERAL_VERBS, NUMBER_WORDS, STOPWORDS

_FILE_EXTENSIONS_TEXT = """
csv tsv json jsonl ndjson txt log md markdown yaml yml xml html htm pdf xlsx xls docx doc
ini toml cfg conf sql db sqlite j2 jinja py js ts png jpg jpeg gif svg zip gz tar parquet
"""
FILE_EXTENSIONS = _FILE_EXTENSIONS_TEXT.split()


@dataclass
class Literal:
    """One value found in the request; `context` is the few words right before it."""

    kind: str
    value: Any
    start: int
    end: int
    context: str = ""
    forms: dict[str, str] = field(default_factory=dict)  # alternative spellings (codes)
    used: bool = False


_QUOTED = re.compile(r"(?<![A-Za-z0-9])(['\"“‘])(.{1,300}?)(['\"”’])(?![A-Za-z0-9])")
_URL = re.compile(r"\b(?:https?|ftp)://[^\s<>\"']+|\bwww\.[^\s<>\"']+", re.I)
_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_FILE = re.compile(
    r"(?<![\w@/.-])(?:~?/)?(?:[\w-]+/)*[\w-]+(?:\.[\w-]+)*\.(?:"  # `~/`, `/`: absolute paths
    + "|".join(FILE_EXTENSIONS)
    + r")\b",
    re.I,
)
_DOMAIN = re.compile(r"(?<![\w@/.-])(?:[a-z0-9-]+\.)+[a-z]{2,12}\b(?![\w/@-])")
_PHONE = re.compile(r"(?<![\w+])\+?\(?\d[\d\s().-]{5,18}\d(?!\w)")
_NUMBER = re.compile(r"(?<![\w.:/-])\d+(?:\.\d+)?(?![\w:/-]|\.\d)")
_CODE = re.compile(r"\b[A-Z]{1,6}\b")
_AREA_ZONE = re.compile(r"\b[A-Z][a-z]+/[A-Z][A-Za-z_]+(?:/[A-Z][A-Za-z_]+)?\b")
_LIST = re.compile(
    r"\b([A-Za-z][\w-]*)((?:\s*,\s*[A-Za-z][\w-]*)+)\s*,?\s+(?:and|or)\s+([A-Za-z][\w-]*)\b"
)
_PAIR = re.compile(
    r"\b(?:the\s+)?([a-z][\w-]*)\s+and\s+([a-z][\w-]*)\s+(?:fields|columns|attributes|properties)\b"
)
# Two alternatives a text is sorted into: "classify it as bug or feature".
_ALTERNATIVES = re.compile(
    r"\b(?:as|into)\s+(?:either\s+)?(?:an?\s+)?([a-z][\w-]*)\s+or\s+(?:an?\s+)?([a-z][\w-]*)\b"
)
_FIELD = re.compile(
    r"\b(by|on|per|grouped by|group by|based on)\s+(?:the\s+|its\s+|their\s+|each\s+)?"
    r"([a-z_][a-z0-9_]*)(?:\s+(?:column|field|key))?\b",
    re.I,
)
_USING_AS = re.compile(r"\busing\s+(?:the\s+)?([a-z_][a-z0-9_]*)\s+as\b", re.I)
_EXPR = re.compile(
    r"\b(?:pattern|regex|regexp|expression|query|jmespath|jsonpath)\s+(?:expression\s+|query\s+)?"
    r"([^\s'\"]*[^\w\s'\"][^\s'\"]*)",
    re.I,
)
_PREP_ROLES = {
    "per": "per by group", "grouped by": "by group", "group by": "by group", "by": "by key",
    "on": "on key", "based on": "on key by",
}  # fmt: skip
_NAMED = re.compile(
    r"\b(?:the\s+)?([a-z_][a-z0-9_]*)\s+(table|collection|bucket|channel|queue|folder|directory)\b",
    re.I,
)
_NOT_COUNTRY_CODES = {
    "IT",
    "ID",
    "IN",
    "TO",
    "AT",
    "IS",
    "NO",
    "ME",
    "MY",
    "AM",
    "AS",
    "OR",
    "BY",
    "DO",
    "GO",
    "SO",
    "UP",
    "AI",
    "OK",
    "PM",
    "TV",
    "PS",
    "IO",
}
_FIELD_NOUN = re.compile(r"\bthe\s+([a-z_][a-z0-9_]*)\s+(column|field|key)\b", re.I)
# The field an aggregate is taken of: "sum the amount", "the average of price", "total amount".
_AGGREGATED = re.compile(
    r"\b(?:sum|total|average|mean|minimum|maximum|min|max)\s+(?:of\s+)?(?:the\s+)?"
    r"([a-z_][a-z0-9_]*)\b(?!\s+(?:column|field|key)\b)",
    re.I,
)
_FOR_EACH_FIELD = re.compile(r"\bfor (?:each|every)\s+([a-z_][a-z0-9_]*)\b", re.I)
_DESC = re.compile(
    r"\b(descending|highest (?:to|first)|largest (?:to|first)|biggest (?:to|first)|most \w+ "
    r"first|newest first|latest first|from (?:highest|largest|biggest|most)|top|"
    r"\w+est \w+ comes first|\w+est first|"
    r"(?:highest|biggest|largest|greatest) \w+ (?:comes )?first)\b",
    re.I,
)
_ASC = re.compile(
    r"\b(ascending|lowest (?:to|first)|smallest (?:to|first)|cheapest (?:to|first)|"
    r"from (?:lowest|smallest|cheapest|least|oldest)|oldest first|a to z|alphabetical)\b",
    re.I,
)
_COUNTRY_ALIASES = {
    "uk": "GB", "britain": "GB", "great britain": "GB", "england": "GB", "america": "US",
    "usa": "US", "united states": "US", "the states": "US", "holland": "NL",
}  # fmt: skip


def _ctx(text: str, start: int, n: int = 6) -> str:
    return " ".join(text[:start].split()[-n:]).lower()


@lru_cache(maxsize=1)
def _zones() -> tuple[dict[str, str], dict[str, str]]:
    """(lower-case key → zone, lower-case city → zone) from the system tz database."""
    keys: dict[str, str] = {}
    cities: dict[str, str] = {}
    for zone in zoneinfo.available_timezones():
        keys[zone.lower()] = zone
        if "/" in zone and not zone.startswith(("Etc/", "SystemV/", "US/")):
            cities.setdefault(zone.rsplit("/", 1)[1].replace("_", " ").lower(), zone)
    return keys, cities


@lru_cache(maxsize=1)
def _countries() -> dict[str, Any]:
    import pycountry

    names: dict[str, Any] = {}
    for c in pycountry.countries:
        for attr in ("name", "common_name", "official_name"):
            value = getattr(c, attr, None)
            if value:
                names[value.lower()] = c
    for alias, code in _COUNTRY_ALIASES.items():
        names[alias] = pycountry.countries.get(alpha_2=code)
    return names


@lru_cache(maxsize=1)
def _languages() -> dict[str, Any]:
    import pycountry

    return {
        lang.name.lower(): lang
        for lang in pycountry.languages
        if hasattr(lang, "alpha_2") and " " not in lang.name
    }


class _Finder:
    def __init__(self, text: str):
        self.text = text
        self.found: list[Literal] = []
        self.taken = [False] * len(text)

    def free(self, start: int, end: int) -> bool:
        return not any(self.taken[start:end])

    def add(self, kind: str, value: Any, start: int, end: int, **forms: str) -> Literal | None:
        if not self.free(start, end):
            return None
        lit = Literal(kind, value, start, end, _ctx(self.text, start), dict(forms))
        self.found.append(lit)
        for i in range(start, end):
            self.taken[i] = True
        return lit

    def scan(self, kind: str, pattern: re.Pattern[str], group: int = 0) -> None:
        for m in pattern.finditer(self.text):
            value = m.group(group).rstrip(".,;:!?)")
            self.add(kind, value, m.start(group), m.start(group) + len(value))


def extract(text: str) -> list[Literal]:
    """Every literal in `text`, ordered by position; spans never overlap."""
    f = _Finder(text)
    for m in _QUOTED.finditer(text):
        if (m.group(1) == "'" and m.group(3) != "'") or m.group(2).strip() == "":
            continue
        f.add("quoted", m.group(2), m.start(), m.end())
    f.scan("url", _URL)
    for m in _EXPR.finditer(text):
        value = m.group(1).rstrip(".,;:!?") if not m.group(1).endswith("*") else m.group(1)
        value = value.rstrip(",;") if value.endswith(("*.", "*,")) is False else value[:-1]
        if len(value) >= 2:
            f.add("expr", value, m.start(1), m.start(1) + len(value))
    f.scan("email", _EMAIL)
    f.scan("file", _FILE)
    f.scan("domain", _DOMAIN)
    keys, cities = _zones()
    for m in _AREA_ZONE.finditer(text):
        if m.group(0).lower() in keys:
            f.add("timezone", keys[m.group(0).lower()], m.start(), m.end())
    for m in _PHONE.finditer(text):
        raw = m.group(0).strip()
        digits = re.sub(r"\D", "", raw)
        shaped = raw.startswith("+") or re.search(r"[\s().-]", raw) or len(digits) >= 10
        if 7 <= len(digits) <= 15 and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw) and shaped:
            f.add("phone", raw, m.start(), m.start() + len(raw))
    _names(f, cities)
    _structured(f)
    for m in _NUMBER.finditer(text):
        value = float(m.group(0)) if "." in m.group(0) else int(m.group(0))
        f.add("number", value, m.start(), m.end())
    for m in re.finditer(r"\b(" + "|".join(NUMBER_WORDS) + r")\s+([a-z]+)", text, re.I):
        before = _ctx(text, m.start(), 1)
        skip = before in {"each", "every", "the", "which", "any", "no", "this", "that"}
        if not skip and m.group(2).lower() not in STOPWORDS:
            f.add("number", NUMBER_WORDS[m.group(1).lower()], m.start(1), m.end(1))
    for m in _CODE.finditer(text):
        token = m.group(0)
        if token in {"I", "OK"} or (token == "A" and not _isolated_code(text, m)):
            continue
        if len(token) == 2 and token not in _NOT_COUNTRY_CODES:
            import pycountry

            country = pycountry.countries.get(alpha_2=token)
            if country is not None:
                f.add("code", token, m.start(), m.end(), country=country.name)
                continue
        f.add("code", token, m.start(), m.end())
    return sorted(f.found, key=lambda lit: lit.start)


def _isolated_code(text: str, m: re.Match[str]) -> bool:
    """`A` is a code (a DNS record type) only mid-sentence before a lower-case noun."""
    before = text[: m.start()].rstrip()
    return bool(before) and before[-1].isalpha() and before.split()[-1].lower() == "the"


def _names(f: _Finder, cities: dict[str, str]) -> None:
    """Country, language and city (timezone) names: capitalised 1-3 word runs."""
    countries, languages = _countries(), _languages()
    for m in re.finditer(r"\b(?:the\s+)?([A-Z][A-Za-z]+(?:\s+[A-Z][A-Za-z]+){0,2})\b", f.text):
        span = m.group(1).split()
        for n in range(len(span), 0, -1):
            for i in range(len(span) - n + 1):
                phrase = " ".join(span[i : i + n])
                start = m.start(1) + len(" ".join(span[:i])) + (1 if i else 0)
                end = start + len(phrase)
                low = phrase.lower()
                if low in cities:
                    f.add("timezone", cities[low], start, end)
                elif low in countries and (len(phrase) > 3 or phrase.isupper()):
                    c = countries[low]
                    f.add("country", c.alpha_2, start, end, name=c.name, alpha_3=c.alpha_3)
                elif low in languages and low not in STOPWORDS:
                    lang = languages[low]
                    f.add("language", lang.name, start, end, alpha_2=lang.alpha_2)


def _structured(f: _Finder) -> None:
    """Lists of labels or fields, field names after `by`/`on`, and sort order."""
    text = f.text
    for m in _LIST.finditer(text):
        items = [m.group(1), *re.split(r"\s*,\s*", m.group(2).strip(" ,")), m.group(3)]
        items = [i for i in items if i]
        if items[-1].lower() in GENERAL_VERBS:  # "..., Beijing, and change the time": a clause
            continue
        if len(items) >= 3 and not any(i.lower() in STOPWORDS for i in items):
            f.add("list", [i.lower() for i in items], m.start(), m.end())
    for m in (*_PAIR.finditer(text), *_ALTERNATIVES.finditer(text)):
        f.add("list", [m.group(1).lower(), m.group(2).lower()], m.start(), m.end())
    for m in _DESC.finditer(text):
        f.add("order", True, m.start(), m.end())
    for m in _ASC.finditer(text):
        f.add("order", False, m.start(), m.end())
    for m in _NAMED.finditer(text):
        if m.group(1).lower() not in STOPWORDS:
            lit = f.add("name", m.group(1), m.start(1), m.end(1))
            if lit:
                lit.context = m.group(2).lower()
    for m in (*_FIELD_NOUN.finditer(text), *_AGGREGATED.finditer(text)):
        if m.group(1).lower() not in STOPWORDS:
            lit = f.add("field", m.group(1).lower(), m.start(1), m.end(1))
            if lit:
                lit.context = "field column"
    for m in _USING_AS.finditer(text):
        lit = f.add("field", m.group(1).lower(), m.start(1), m.end(1))
        if lit:
            lit.context = "on key by"
    for pattern, prep_group, name_group in ((_FIELD, 1, 2), (_FOR_EACH_FIELD, None, 1)):
        for m in pattern.finditer(text):
            name = m.group(name_group).lower()
            if name in STOPWORDS or name.isdigit():
                continue
            lit = f.add("field", name, m.start(name_group), m.end(name_group))
            if lit:
                prep = m.group(prep_group).lower() if prep_group else "per"
                lit.context = _PREP_ROLES.get(prep, prep)

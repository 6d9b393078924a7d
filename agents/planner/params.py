"""Binding literals to tool parameters by kind, type, name and the words around them.

A literal fits a parameter when its kind suits the parameter's JSON type and the parameter's
name or description speaks of that kind (`url`, `webhook` for URLs; `region`, `country` for
country codes...). The words just before a literal (`subject 'Hi'`, `on customer_id`) break ties.
"""

from __future__ import annotations

import re
from typing import Any

from agents.planner.literals import Literal
from agents.planner.text import STOPWORDS, content_stems, stem, words
from app.workflow.analysis import TypedSchema

KIND_WORDS: dict[str, set[str]] = {
    "url": {"url", "link", "webhook", "uri", "endpoint", "site", "page", "website", "href"},
    "email": {"email", "recipient", "mail", "to", "address", "addresses"},
    "phone": {"phone", "number", "telephone", "mobile", "tel"},
    "file": {"path", "file", "filename", "filepath", "document"},
    "domain": {"domain", "host", "hostname", "site"},
    "country": {"region", "country", "nation"},
    "timezone": {"timezone", "tz", "zone"},
    "language": {"language", "lang", "locale", "target"},
    "expr": {"pattern", "expression", "regex", "query", "jmespath", "filter"},
    "field": {"field", "fields", "key", "by", "on", "column", "group", "attribute"},
    "list": {"labels", "fields", "categories", "options", "items", "values", "tags", "columns"},
    "order": {"descending", "desc", "reverse", "ascending", "largest", "order"},
    "name": {"table", "collection", "bucket", "channel", "queue", "folder", "directory", "name"},
    "quoted": {"subject", "title", "content", "text", "body", "message", "name", "query"},
}
_KIND_TYPES = {
    "number": {"integer", "number", "string"},
    "list": {"array"},
    "order": {"boolean"},
}
_TEXT_PARAMS = {"text", "content", "body", "message", "prompt", "data", "payload", "input"}


def param_types(schema: dict[str, Any]) -> set[str] | None:
    return TypedSchema.of(schema).types()


def param_words(name: str, schema: dict[str, Any]) -> tuple[set[str], set[str]]:
    """(name words, description words) of a parameter, lower-case."""
    return set(words(name)), set(words(str(schema.get("description", ""))))


def affinity(lit: Literal, name: str, schema: dict[str, Any], after: str) -> float:
    """How well literal `lit` fits parameter `name` (0 = not at all)."""
    types = param_types(schema)
    wanted = _KIND_TYPES.get(lit.kind, {"string"})
    if types is not None and not (types & wanted or (lit.kind == "field" and "array" in types)):
        return 0.0
    if lit.kind == "list" and types is not None and "array" not in types:
        return 0.0
    names, desc = param_words(name, schema)
    kind_words = KIND_WORDS.get(lit.kind, set())
    score = 0.0
    if names & kind_words:
        score += 1.0
    elif desc & kind_words and lit.kind not in {"field", "name"}:
        score += 0.5
    if lit.kind == "code":
        options = set(
            re.findall(
                r"\b[A-Z][A-Z0-9]*\b(?=\s*(?:,|or\b|\.\.\.))", str(schema.get("description", ""))
            )
        )
        options |= set(
            re.findall(r"(?:,|\bor)\s*([A-Z][A-Z0-9]*)\b", str(schema.get("description", "")))
        )
        options |= {str(e) for e in schema.get("enum") or []}
        score = 1.5 if lit.value in options and len(options) >= 2 else 0.0
        if not score and lit.forms.get("country") and names & KIND_WORDS["country"]:
            score = 1.0
    if lit.kind == "number":
        near = set(content_stems(after)[:2])
        score += 1.0 if near & {stem(w) for w in names} else 0.0
        if types and types & {"integer", "number"}:
            score += 0.3
    if lit.kind in {"code", "field", "name", "expr", "list", "order"} and score <= 0:
        return 0.0
    context = set(lit.context.split()[-3:])
    if names & context and (score > 0 or lit.kind in {"quoted", "number"}):
        score += 0.8
    if lit.kind == "field":
        prep = set(lit.context.split())
        if names & prep:
            score += 1.0
        if name.endswith("s") and types and "array" in types and "string" not in types:
            score -= 0.2
    if lit.kind == "quoted" and not score and (names & _TEXT_PARAMS):
        score += 0.4
    if lit.kind in {"url", "email", "file", "domain"} and not score and names & {"id", "name"}:
        score += 0.1
    return score


def literal_value(lit: Literal, name: str, schema: dict[str, Any]) -> Any:
    """The literal in the form the parameter asks for (code vs name, number vs text)."""
    types = param_types(schema) or set()
    desc = str(schema.get("description", "")).lower()
    if lit.kind == "code" and lit.forms.get("country"):
        return lit.value
    if lit.kind in {"country", "language"}:
        wants_code = bool(re.search(r"two-letter|2-letter|iso|code|alpha", desc)) or "code" in name
        example = re.search(r"e\.g\.\s*([A-Za-z]+)", str(schema.get("description", "")))
        if example and len(example.group(1)) <= 3:
            wants_code = True
        if lit.kind == "country":
            return lit.value if wants_code or "region" in name else lit.forms.get("name", lit.value)
        return lit.forms.get("alpha_2", lit.value) if wants_code else lit.value
    if lit.kind == "number" and types and not types & {"integer", "number"}:
        return str(lit.value)
    if lit.kind == "field" and types and "array" in types and "string" not in types:
        return [lit.value]
    return lit.value


def option_value(name: str, schema: dict[str, Any], clause_words: list[str]) -> Any:
    """A value picked from the parameter's declared options by the words of the clause."""
    options = [str(e) for e in schema.get("enum") or []]
    if not options:
        return None
    for word in clause_words:
        for opt in options:
            o = opt.lower()
            if word == o or (len(o) >= 3 and word.startswith(o)) or _abbrev(o, word):
                return opt
    return None


def _abbrev(short: str, word: str) -> bool:
    """`avg` abbreviates `average`: same first letter, letters in order, word much longer."""
    if len(short) < 3 or len(word) < len(short) + 3 or short[0] != word[0]:
        return False
    it = iter(word)
    return all(ch in it for ch in short)


def flag_value(name: str, schema: dict[str, Any], clause_stems: set[str]) -> bool | None:
    """True for an optional boolean whose distinctive name word the clause uses (`append`)."""
    if param_types(schema) != {"boolean"} or schema.get("default") not in (False, None):
        return None
    keys = [w for w in words(name) if len(w) >= 5 and w not in STOPWORDS and w != "check"]
    keys += [syn for w in keys for syn in _FLAG_SYNONYMS.get(w, ())]
    return True if any(stem(w) in clause_stems for w in keys) else None


# Everyday words for a flag's name word: "add it to leads.csv" appends to the file.
_FLAG_SYNONYMS = {"append": ("add",)}

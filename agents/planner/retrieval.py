"""Tool retrieval: score a clause against every tool of a catalog.

Each tool becomes a small document: its name words (weighted most), description and parameter
names/descriptions. Lexical relevance is BM25 over light stems with a general-English synonym
expansion; semantic relevance is the cosine of wordllama embeddings. Both are computed once per
catalog and cached, so scoring a clause is a few vector operations.
"""

from __future__ import annotations

import math
import weakref
from collections import Counter
from dataclasses import dataclass
from typing import Any

from agents.planner import embed
from agents.planner.text import GENERAL_VERBS, STOPWORDS, content_stems, stem, words
from app.tools.base import ToolInfo
from app.tools.registry import Catalog

# General English near-synonyms of action and object words (not tied to any catalog).
_SYNONYM_GROUPS = [
    "fetch get retrieve download grab obtain pull load open read",
    "send post forward deliver submit push notify shoot",
    "save write store persist record export dump",
    "remove delete drop erase discard",
    "dedupe duplicate unique deduplicate distinct",
    "check validate verify confirm test valid",
    "find search look lookup locate discover query seek inquire inquiry",
    "summarize summarise summary digest condense brief",
    "translate translation language",
    "classify categorize categorise label category sort",
    "sentiment tone mood feeling opinion",
    "email mail e-mail address",
    "url link web site website page",
    "phone telephone mobile number",
    "book reserve reservation booking rent hire",
    "cancel cancellation abort",
    "change modify update edit alter reschedule adjust amend revise append",
    "create add new make generate draft compose",
    "show display view list see",
    "time clock date weekday hour",
    "weather forecast temperature",
    "buy purchase order",
    "pay payment transfer repay repayment",
    "movie film",
    "person people actor actress director",
    "picture image photo logo",
    "ask prompt model llm language",
    "message text note chat",
    "merge join combine",
    "count total sum aggregate average group",
    "technology technologies tech stack framework",
    "table database sql db",
    "read contents content",
    "extract pull out",
]
_SYNONYMS: dict[str, set[str]] = {}
for _group in _SYNONYM_GROUPS:
    _stems = {stem(w) for w in _group.split()}
    for _s in _stems:
        _SYNONYMS.setdefault(_s, set()).update(_stems - {_s})

# Actions that change something, by the first word of their synonym group. A clause asks for
# the changes its verbs name, and for no tool named for another change ("book a flight ticket"
# is not "flight ticket changing", "check the flight tickets" or "log into my account with this
# password" asks for no change), whatever words their descriptions share; a clause that only
# asks for a change does not ask for a tool named for looking up ("book a room" is not "hotel
# booking query"; "create a file with this content" is not "verify file content").
_MUTATIONS = ("book", "cancel", "change", "remove", "create")
# Words of those groups that name no action: "a new ticket", and "news" (stem `new`).
_NOT_ACTIONS = frozenset(["new"])


def _nominal(verb: str) -> tuple[str, ...]:
    """The nouns of an action (`modify` → modification, `delete` → deletion, `alter` →
    alteration), so a tool named `booking_modification` is named for a change."""
    if verb.endswith("y"):
        return (f"{verb[:-1]}ication",)
    if verb.endswith("e"):
        return (f"{verb[:-1]}ion", f"{verb[:-1]}ation")
    return (f"{verb}ation",)


# The verbs of the change groups (not their nouns: "reservation", "booking", "cancellation").
_CHANGE_VERBS = frozenset(
    w
    for group in _SYNONYM_GROUPS
    if group.split()[0] in _MUTATIONS
    for w in group.split()
    if not w.endswith(("ion", "ing")) and w not in _NOT_ACTIONS
)
_MUTATION_OF: dict[str, str] = {
    stem(form): group.split()[0]
    for group in _SYNONYM_GROUPS
    if group.split()[0] in _MUTATIONS
    for w in group.split()
    if w not in _NOT_ACTIONS
    # also `cancelling`, `cancelled` and, for verbs, their nouns (`deletion`)
    for form in (w, f"{w}{w[-1]}ing", f"{w}{w[-1]}ed", *(_nominal(w) if w in _CHANGE_VERBS else ()))
}
_LOOKUPS = frozenset(
    stem(w)
    for group in _SYNONYM_GROUPS
    if group.split()[0] in ("fetch", "check", "find", "show")
    for w in group.split()
)

K1, B = 1.2, 0.5
OTHER_ACTION_PENALTY = 0.15
NAME_WEIGHT, DESC_WEIGHT, PARAM_WEIGHT = 3.0, 1.0, 0.5


@dataclass
class Match:
    tool: str
    score: float
    lexical: float
    semantic: float


class ToolIndex:
    """BM25 + embedding index over one catalog's tools."""

    def __init__(self, catalog: Catalog):
        self.infos: list[ToolInfo] = catalog.infos()
        self.names = [i.name for i in self.infos]
        self.docs: list[Counter[str]] = [self._doc(i) for i in self.infos]
        self.lengths = [sum(d.values()) for d in self.docs]
        self.avg_len = sum(self.lengths) / max(1, len(self.lengths))
        df: Counter[str] = Counter()
        for doc in self.docs:
            df.update(doc.keys())
        n = len(self.docs)
        self.idf = {t: math.log(1 + (n - f + 0.5) / (f + 0.5)) for t, f in df.items()}
        self.name_stems = [{stem(w) for w in words(i.name)} for i in self.infos]
        self.verbs = _name_verbs(self.names)
        self.mutations = [named_mutation(i.name) for i in self.infos]
        self.lookups = [bool(stems & _LOOKUPS) for stems in self.name_stems]
        vectors = embed.embed([self._text(i) for i in self.infos])
        self.vectors = vectors

    @staticmethod
    def _text(info: ToolInfo) -> str:
        return " ".join(words(info.name)) + ". " + info.description

    @staticmethod
    def _doc(info: ToolInfo) -> Counter[str]:
        doc: Counter[str] = Counter()
        for s in content_stems(" ".join(words(info.name))):
            doc[s] += NAME_WEIGHT
        for s in content_stems(info.description):
            doc[s] += DESC_WEIGHT
        for name, schema in info.params.items():
            for s in content_stems(" ".join(words(name))):
                doc[s] += PARAM_WEIGHT
            for s in content_stems(str(schema.get("description", ""))):
                doc[s] += PARAM_WEIGHT / 2
        return doc

    def bm25(self, query: dict[str, float]) -> list[float]:
        scores = []
        for doc, length in zip(self.docs, self.lengths, strict=True):
            total = 0.0
            norm = K1 * (1 - B + B * length / (self.avg_len or 1))
            for term, weight in query.items():
                tf = doc.get(term)
                if tf:
                    total += weight * self.idf[term] * tf * (K1 + 1) / (tf + norm)
            scores.append(total)
        return scores

    def query_terms(self, text: str) -> dict[str, float]:
        terms: dict[str, float] = {}
        for s in content_stems(text):
            terms[s] = 1.0
        for s in list(terms):
            for syn in _SYNONYMS.get(s, ()):
                terms.setdefault(syn, 0.4)
        return terms

    def rank(self, text: str, bonus: dict[str, float] | None = None) -> list[Match]:
        """Tools by relevance to `text` (best first); `bonus` adds per-tool evidence."""
        query = self.query_terms(text)
        lexical = self.bm25(query)
        top = max(lexical) if lexical else 0.0
        semantic = [0.0] * len(self.names)
        if self.vectors is not None and text.strip():
            q = embed.embed([text])
            if q is not None:
                semantic = [float(v) for v in self.vectors @ q[0]]
        asked = asked_changes(text)
        looks = any(w == 1.0 and t in _LOOKUPS for t, w in query.items())
        matches = []
        for i, name in enumerate(self.names):
            lex = lexical[i] / (lexical[i] + 4.0) if lexical[i] else 0.0
            rel = lexical[i] / top if top else 0.0
            score = 0.45 * lex + 0.25 * rel + 0.6 * max(0.0, semantic[i])
            score += (bonus or {}).get(name, 0.0)
            made = self.mutations[i]
            other_change = made is not None and made not in asked
            only_looks_up = bool(asked) and not looks and made is None and self.lookups[i]
            if other_change or only_looks_up:
                score -= OTHER_ACTION_PENALTY
            matches.append(Match(name, score, lexical[i], semantic[i]))
        matches.sort(key=lambda m: (-m.score, m.tool))
        return matches


def _name_verbs(names: list[str]) -> frozenset[str]:
    """Stems of the words that start tool names (`dedupe_rows` → dedup) and appear nowhere else
    in a name: a word found later in another name (`book_flight`, `flight_search`) names a
    thing, not an action."""
    split = [words(name) for name in names]
    later = {stem(w) for ws in split for w in ws[1:]}
    stop = {stem(w) for w in STOPWORDS}
    return frozenset(stem(ws[0]) for ws in split if ws) - later - stop


def asked_changes(text: str) -> set[str]:
    """The changes a clause asks for, by its verbs in their base form: "book a room" asks for a
    booking, "show me the booking" and "the cancelled flight" do not."""
    return {
        _MUTATION_OF[stem(w)]
        for w in words(text)
        if w in _CHANGE_VERBS or (w in GENERAL_VERBS and stem(w) in _MUTATION_OF)
    }


def named_mutation(name: str) -> str | None:
    """The change a tool's name says it makes: its last action word (the head of a compound
    such as `hotel_booking_modification`), when that action changes something."""
    for word in reversed(words(name)):
        action = _MUTATION_OF.get(stem(word))
        if action is not None:
            return action
        if stem(word) in _LOOKUPS:  # a tool that only looks something up (`booking_query`)
            return None
    return None


_INDEXES: weakref.WeakKeyDictionary[Catalog, ToolIndex] = weakref.WeakKeyDictionary()


def index_for(catalog: Catalog) -> ToolIndex:
    """The (cached) index of a catalog."""
    index = _INDEXES.get(catalog)
    if index is None:
        index = _INDEXES[catalog] = ToolIndex(catalog)
    return index


def info_of(index: ToolIndex, name: str) -> ToolInfo:
    return index.infos[index.names.index(name)]


def describe(matches: list[Match], n: int = 5) -> list[dict[str, Any]]:
    return [{"tool": m.tool, "score": round(m.score, 3)} for m in matches[:n]]

"""Clause segmentation: a request becomes ordered clauses, each one tool call or one condition.

Splits happen at sentence ends, at sequence words (`then`, `after that`), before condition words
(`if`, `when`, `unless`, `only if`, `in case`) and at `and`/commas only when a verb follows, so
argument phrases (`by email`, `into billing, technical or sales`) stay with their verb. Literal
spans are masked first, so dots and commas inside URLs or lists never split anything.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from agents.planner.literals import Literal
from agents.planner.text import GENERAL_VERBS, stem

CONDITION = re.compile(r"^(only if|if|when|whenever it|unless|in case|provided that)\b", re.I)
PER_ITEM = re.compile(r"\b(each|every|for all|all of them|one by one)\b", re.I)
_SEQ = re.compile(r"\b(then|after that|afterwards|next|finally|subsequently|followed by)\b", re.I)
_FILLERS = {"please", "also", "just", "then", "finally", "next", "and", "or", "but", "kindly"}
_SEPARATOR = re.compile(
    r",\s*(?:and\s+|or\s+|but\s+)?(?:then\s+|after that,?\s+|afterwards,?\s+|also\s+|finally,?\s+)?"
    r"|\s+(?:and|or|but)\s+(?:then\s+|after that,?\s+|also\s+|finally\s+)?"
    r"|\s+then\s+|\s+after that,?\s+|\s*;\s*"
    r"|\s+(?:then|next|finally|afterwards|subsequently),\s*"
    r"|\s+(?=(?:if|unless|when|only if|in case)\s)"
    r"|\s+(?=after\s+\w+ing\b)",
    re.I,
)


@dataclass
class Clause:
    """One piece of the request: an action, or a condition gating a neighbouring action."""

    text: str
    start: int
    end: int
    sentence: int
    condition: bool = False
    negate: bool = False
    per_item: bool = False
    sequential: bool = False  # introduced by `then`/`after that`
    runs_first: bool = False  # `... after validating X`: runs before the previous clause
    coordinated: bool = False  # split from `verb A and B`: runs beside its sibling


def mask(text: str, literals: list[Literal]) -> str:
    """The text with literal spans blanked (same length, so offsets stay valid)."""
    chars = list(text)
    for lit in literals:
        for i in range(lit.start, lit.end):
            chars[i] = "§"
    return "".join(chars)


def _next_word(masked: str, pos: int) -> tuple[str, str]:
    """The next real word after `pos` (skipping fillers) and the word right after it."""
    ws = re.findall(r"[A-Za-z§][\w'§-]*", masked[pos : pos + 80])
    while ws and (
        ws[0].lower() in _FILLERS
        or (ws[0].lower() == "help" and len(ws) > 1 and ws[1].lower() in {"me", "us"})
    ):
        ws = ws[2:] if ws[0].lower() == "help" else ws[1:]
    return (ws[0].lower() if ws else "", ws[1].lower() if len(ws) > 1 else "")


def is_verb(word: str, verbs: frozenset[str]) -> bool:
    return word in GENERAL_VERBS or word in verbs or stem(word) in verbs


def is_imperative(clause_text: str, verbs: frozenset[str] = frozenset()) -> bool:
    """Whether the clause asks for an action: its first real word is a verb in its base form
    (`tell me the total`), unlike a condition or a subordinate phrase (`whenever I give you`)."""
    if CONDITION.match(clause_text.strip()):
        return False
    ws = [w.lower() for w in re.findall(r"[A-Za-z][\w'-]*", clause_text)]
    while ws and ws[0] in _FILLERS:
        ws = ws[1:]
    return bool(ws) and (ws[0] in GENERAL_VERBS or ws[0] in verbs)


# Words by which a clause asks for something even when it is not an imperative: "I need to
# ...", "Can you ...", "Please ...", "What is ...".
_ASKING = re.compile(
    r"\b(?:please|kindly|need|needs|want|wants|would like|'d like|hope|wish|help|let me|let's"
    r"|should|must|have to|has to|going to|try to|make sure|ensure|remember to)\b"
    r"|^\s*(?:can|could|would|will|shall|may|do|does|did|is|are|was|were|what|which|who|whom"
    r"|whose|how|when|where|why|tell|give|show)\b"
    r"|\?\s*$",
    re.I,
)


# A finite verb that states: a copula of the clause itself (not of a relative "which is"), or
# a past tense after I/we ("I booked", "we used").
_STATES = re.compile(
    r"\b(?<!which\s)(?<!that\s)(?<!who\s)(?:is|are|was|were|been)\b|\b(?:i|we)\s+\w+ed\b",
    re.I,
)


def only_states(clause_text: str, verbs: frozenset[str] = frozenset()) -> bool:
    """Whether the clause only states a fact ("my ID number is 1234", "I booked a room last
    week"): a stating verb, no imperative one and no word that asks."""
    if is_imperative(clause_text, verbs) or _ASKING.search(clause_text):
        return False
    return bool(_STATES.search(clause_text))


# A sentence ends at . ! or ? followed by the end, a line break, or a space and a word that
# does not start in lower case: a dot inside a word (`a.m.`, `e.g.`) or one followed by a
# lower-case word (`7 a.m. alarm`) is an abbreviation, not a sentence end.
_SENTENCE = re.compile(r"(?:[^.!?\n]|[.!?](?!\s*$|\n|\s+[^a-z\s]))+(?:[.!?]+|\n|$)")


# Abbreviations whose dot ends no sentence ("room No. 303", "Dr. Li", "Main St. 5").
_ABBREVIATION = re.compile(
    r"\b(?:No|Nos|Nr|Mr|Mrs|Ms|Dr|Prof|St|Rd|Ave|Jr|Sr|Inc|Ltd|Co|Corp|Dept|Tel|approx|vs)\.(?=\s)"
)


def segment(
    text: str, literals: list[Literal], verbs: frozenset[str] = frozenset()
) -> list[Clause]:
    """Ordered clauses of `text`; `verbs` adds the catalog's own action words."""
    masked = _ABBREVIATION.sub(lambda m: m.group(0)[:-1] + "_", mask(text, literals))
    clauses: list[Clause] = []
    for n, sent in enumerate(_SENTENCE.finditer(masked)):
        start, end = sent.start(), sent.end()
        cuts: list[tuple[int, int, str]] = []
        question = masked[start:end].rstrip().endswith("?")
        in_condition = bool(CONDITION.match(masked[start:end].strip())) and not (
            question and _asks_when(masked[start:end])
        )
        for m in _SEPARATOR.finditer(masked, start, end):
            word, after = _next_word(masked, m.end())
            sep = m.group(0).lower()
            is_cond = bool(CONDITION.match(masked[m.end() : end].lstrip()))
            split = (
                bool(_SEQ.search(sep))
                or ";" in sep
                or is_cond
                or masked[m.end() :].lower().startswith("after ")
                or (
                    (is_verb(word, verbs) and word not in NOUN_VERBS)
                    or (
                        word in NOUN_VERBS
                        and ("," in sep or in_condition or _starts_object(after))
                    )
                )
                or (in_condition and "," in sep)
                or (word in {"i", "we"} and _asks_anew(masked[m.end() : end]))
            )
            if split and _bare_verb(masked[cuts[-1][1] if cuts else start : m.start()], sep):
                continue  # "check and tell me the weather": both verbs share one object
            if split:
                cuts.append((m.start(), m.end(), sep))
                in_condition = is_cond
        pos, prev_sep = start, ""
        for cut_start, cut_end, sep in [*cuts, (end, end, "")]:
            action = _condition_action(masked, pos, cut_start, verbs)
            if action is not None:  # `if it is valid add it to x.csv`: condition, then action
                _add(clauses, text, masked, pos, action, n, prev_sep)
                _add(clauses, text, masked, action, cut_start, n, "")
            else:
                _add(clauses, text, masked, pos, cut_start, n, prev_sep)
            pos, prev_sep = cut_end, sep
    return _reorder(clauses)


# Verbs that are as often nouns ("by email and text"): after a plain "and" they start a clause
# only when an object follows ("... and email the summary to bob@example.com").
NOUN_VERBS = frozenset(["email", "text", "message"])
_OBJECT_STARTS_TEXT = "the a an it them this that these those me him her us my your his their its"
_OBJECT_STARTS = frozenset(_OBJECT_STARTS_TEXT.split())


def _starts_object(word: str) -> bool:
    """Whether `word` opens a verb's object: a determiner, a pronoun or a literal (§)."""
    return word in _OBJECT_STARTS or word.startswith("§")


_NEW_REQUEST = re.compile(
    r"(?:i|we)\s+(?:also\s+|then\s+|now\s+)?(?:need|want|would like|'d like|hope|wish)\s+to\b",
    re.I,
)


def _asks_anew(rest: str) -> bool:
    """`..., and I also need to cancel X`: a new subject that asks for something new."""
    return bool(_NEW_REQUEST.match(rest.lstrip()))


def _bare_verb(piece: str, sep: str) -> bool:
    """A verb with no object before a plain "and" (`please inquire and inform me of X`)."""
    ws = [w.lower() for w in re.findall(r"[A-Za-z§][\w'§-]*", piece)]
    ws = [w for w in ws if w not in _FILLERS]
    return len(ws) == 1 and sep.strip().lower() == "and" and ws[0] in GENERAL_VERBS


_COPULA_TEXT = """
is are was were isn't aren't wasn't weren't be has have hasn't haven't equals exceeds
fails passes succeeds contains matches
"""
_COPULA = frozenset(_COPULA_TEXT.split())
_PREDICATE_LEAD_TEXT = "not a an the than to over under above below more less no"
_PREDICATE_LEAD = frozenset(_PREDICATE_LEAD_TEXT.split())


def _condition_action(masked: str, start: int, end: int, verbs: frozenset[str]) -> int | None:
    """Where the action starts inside a condition clause written without a comma (`if it is
    valid add it to leads.csv` → offset of `add`), or None when the clause is only a condition.

    The action begins at the first action verb (in its base form) after the condition's
    predicate: `if <subject> is <predicate> <verb> ...`; the word right after the copula (and
    after `not`/`than`...) is always the predicate, so `if the status is open` stays whole."""
    body = masked[start:end]
    cond = CONDITION.match(body.lstrip())
    if not cond:
        return None
    offset = start + len(body) - len(body.lstrip()) + cond.end()
    tokens = list(re.finditer(r"[A-Za-z§][\w'§-]*", masked[offset:end]))
    names = [t.group(0).lower() for t in tokens]
    copula = next((i for i, w in enumerate(names) if w in _COPULA), None)
    first = (copula + 1) if copula is not None else 1  # skip the subject / the copula
    while first < len(names) and names[first] in _PREDICATE_LEAD:
        first += 1
    first += 1  # the predicate itself
    for i in range(first, len(names)):
        word = names[i]
        if "§" in word or word in _FILLERS or names[i - 1] in _PREDICATE_LEAD:
            continue
        if word in GENERAL_VERBS or word in verbs:
            return offset + tokens[i].start()
    return None


def _asks_when(body: str) -> bool:
    """`When is/was/does/did ...`: a question about time, not a condition."""
    return bool(re.match(r"\s*when\s+(?:is|are|was|were|do|does|did|will|can|could)\b", body, re.I))


def _add(out: list[Clause], text: str, masked: str, start: int, end: int, n: int, sep: str) -> None:
    raw = masked[start:end]
    lead = len(raw) - len(raw.lstrip(" ,;:.!?"))
    trail = len(raw.rstrip(" ,;:.!?"))
    start, end = start + lead, start + max(trail, lead)
    body = masked[start:end]
    tail = re.search(r"[\s,]+(?:and|or|but)$", body, re.I)
    if tail:
        end -= len(tail.group(0))
        body = masked[start:end]
    if not re.search(r"[A-Za-z§]", body) or body.lower() in _FILLERS | {"only"}:
        return
    clause = Clause(text[start:end], start, end, n, sequential=bool(_SEQ.search(sep)))
    cond = CONDITION.match(body)
    if cond and _asks_when(body) and masked[end:].lstrip().startswith("?"):
        cond = None  # `When is X released?` asks for a time; it gates nothing
    if cond:
        clause.condition = True
        clause.negate = cond.group(1).lower() in {"unless"}
    if body.lower().startswith("after ") and re.match(r"after\s+\w+ing\b", body, re.I):
        clause.runs_first = True
    clause.per_item = bool(PER_ITEM.search(body)) and not clause.condition
    out.append(clause)


def _reorder(clauses: list[Clause]) -> list[Clause]:
    """Move `after <doing X>` clauses before the clause they follow in the sentence."""
    out: list[Clause] = []
    for clause in clauses:
        if clause.runs_first and out and out[-1].sentence == clause.sentence:
            out.insert(len(out) - 1, clause)
        else:
            out.append(clause)
    return out

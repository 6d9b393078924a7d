"""Word-level text helpers shared by segmentation, retrieval and binding.

Light stemming (suffix stripping) is enough to match `validating`/`validate`/`validation` and
`emails`/`email`; it is deliberately simple so behaviour is predictable on any catalog.
"""

from __future__ import annotations

import re
from functools import lru_cache

WORD = re.compile(r"[A-Za-z][A-Za-z0-9]*")
# camelCase and acronym boundaries (`sendEmail`, `HTTPServer`); a plural acronym stays whole
# (`URLs`, `IDs`, not `UR Ls`).
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])(?![A-Z]s\b)")

_STOPWORDS_TEXT = """
a an the of to in on at for from by with into onto and or but if then than that this these
those it its it's is are was were be been being do does did i me my we our you your he she
they them their his her please can could would should will shall may might must want wanted
need needs like just also some any all each every one ones as so such there here what which
who whom whose when where why how about over under up down out off via using use help let
lets make sure have has had get got now today tomorrow yesterday am pm very more most much
many few other another same new newly own again both either neither not no nor only too well
back after before once while until unless per
"""
STOPWORDS = frozenset(_STOPWORDS_TEXT.split())

# Action verbs of everyday English, in their base form (clause starts, imperatives).
_GENERAL_VERBS_TEXT = """
add analyze analyse append apply archive ask book buy calculate call cancel change check
classify clean collect combine compare compute convert copy count create decide delete
deliver describe detect determine download draft drop email merge export extract fetch
filter find format forward generate get give grab group insert join keep list load log look
make move notify open order parse pay pick play post print pull push put query read record
register remind remove rename render reply report request reserve reset retrieve return run
save schedule search select send set share shoot show sort split store submit sum summarize
summarise tell text transfer translate turn update upload validate verify view write apply
track modify edit reschedule rate review recommend plan prepare provide calculate estimate
inform alert notify message upload download install uninstall start stop open close tweet
translate transcribe recognize identify enhance resize crop check inquire arrange purchase
sell adjust rent conduct handle confirm obtain repay withdraw rebook organize organise locate
discover acquire explain suggest replace increase decrease reduce extend renew activate
deactivate subscribe unsubscribe evaluate assess monitor restore approve reject assign invite
use
"""
GENERAL_VERBS = frozenset(_GENERAL_VERBS_TEXT.split())

NUMBER_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "twenty": 20, "single": 1,
}  # fmt: skip


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """Strip common English inflections: `validating` → `valid`, `emails` → `email`."""
    w = word.lower()
    if len(w) <= 3:
        return w
    for suffix, repl in (
        ("ability", ""), ("able", ""), ("ational", "ate"), ("ization", "ize"),
        ("ations", "ate"), ("ation", "ate"),
        ("ities", "ity"), ("ies", "y"), ("ing", ""), ("ied", "y"), ("ed", ""), ("es", "e"),
        ("s", ""), ("ly", ""), ("er", ""),
    ):  # fmt: skip
        if w.endswith(suffix) and len(w) - len(suffix) >= 3:
            w = w[: -len(suffix)] + repl
            break
    if w.endswith("e") and len(w) > 4:
        w = w[:-1]
    if len(w) > 3 and w[-1] == w[-2] and w[-1] not in "lsz":
        w = w[:-1]
    return w


def words(text: str) -> list[str]:
    """Lower-cased words of a text, identifiers split (`sendEmail`, `send_email` → send email)."""
    out: list[str] = []
    for raw in re.split(r"[_\W]+", text):
        if not raw:
            continue
        for part in _CAMEL.split(raw):
            if part and part[0].isalpha():
                out.append(part.lower())
    return out


def content_stems(text: str) -> list[str]:
    """Stems of the words that carry meaning (no stopwords), in order."""
    return [stem(w) for w in words(text) if w not in STOPWORDS and len(w) > 1]


def identifier(text: str, fallback: str = "x", limit: int = 40) -> str:
    """A spec identifier from free text: `Read CSV!` → `read_csv`."""
    ident = "_".join(words(text))[:limit].strip("_") or fallback
    return ident if ident[0].isalpha() or ident[0] == "_" else f"{fallback}_{ident}"

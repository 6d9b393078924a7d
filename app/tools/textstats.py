"""Offline text statistics: sentences, stemmed terms, extractive summaries, label scores.

Used by the text tools when no LLM is configured; plain Python, deterministic.
"""

from __future__ import annotations

import math
import re
from collections import Counter

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


def stem(word: str) -> str:
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


def terms(text: str) -> list[str]:
    words = [w.lower().replace("'", "") for w in _WORD.findall(text)]
    return [stem(w) for w in words if w not in STOPWORDS and len(w) > 1]


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


def extractive_summary(text: str, max_sentences: int) -> str:
    sentences = split_sentences(text)
    if len(sentences) <= max_sentences:
        return " ".join(sentences)
    per_sentence = [terms(s) for s in sentences]
    freq = Counter(t for terms in per_sentence for t in terms)
    top = max(freq.values(), default=1)

    def score(i: int) -> float:
        terms = per_sentence[i]
        return sum(freq[t] / top for t in terms) / math.sqrt(len(terms)) if terms else 0.0

    ranked = sorted(range(len(sentences)), key=lambda i: (-score(i), i))[:max_sentences]
    return " ".join(sentences[i] for i in sorted(ranked))


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
    counts = Counter(terms(text))
    raw = []
    for label in labels:
        spaced = re.sub(r"(?<=[a-z])(?=[A-Z])|_|-", " ", label)
        words = terms(spaced) or [stem(w.lower()) for w in _WORD.findall(spaced)]
        per_word = []
        for word in words:
            related = _RELATED.get(word) or next(
                (v for k, v in _RELATED.items() if stem(k) == word), ""
            )
            cues = {word: 1.0} | {stem(r): 0.7 for r in related.split()}
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

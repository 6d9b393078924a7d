"""Joint choice of the tools of a chain over a catalog's tool graph.

Each action clause offers its best-ranked tools (relevance scores) or nothing at all. The chosen
sequence maximises the summed relevance above a floor, minus a penalty for every consecutive
pair that is not an edge of the tool graph. So a clause whose best tool cannot follow its
neighbours gives way to a near-duplicate that can, and a weak clause ("my name is ...") that
fits nothing in the chain is left out. An edge earns no bonus: a bonus made a weak clause a
step only because it could be linked. A clause's step is one of its near-best tools, so a
clause that mentions a step again adds none. Deterministic beam search.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from agents.planner.graph import ToolGraph
from agents.planner.literals import Literal
from agents.planner.retrieval import ToolIndex, named_mutation
from agents.planner.text import STOPWORDS, stem, words
from app.tools.base import ToolInfo

FLOOR = 0.58  # relevance a tool needs to be worth a step on its own
MISS_PENALTY = 0.45  # a consecutive pair that is not an edge of the tool graph
BEAM = 12
# A clause's step scores within this of the clause's best tool. When the best is already a
# step (the clause mentions it again), a far weaker stand-in would be a step nobody asked for.
NEAR_BEST = 0.3

Path = tuple[str | None, ...]


def decode(
    options: list[list[tuple[str, float]]],
    graph: ToolGraph,
    floor: float = FLOOR,
    miss_penalty: float = MISS_PENALTY,
    prior: Callable[[str, str], float] | None = None,
) -> list[str | None]:
    """One tool (or None) per clause: the best-scoring chain over the graph."""
    beams: list[tuple[float, Path]] = [(0.0, ())]
    for cands in options:
        top = max((rel for _, rel in cands), default=0.0)
        grown: dict[tuple[str | None, frozenset[str]], tuple[float, Path]] = {}
        for score, path in beams:
            chosen = [t for t in path if t is not None]
            last = chosen[-1] if chosen else None
            moves: list[tuple[float, str | None]] = [(score, None)]
            for tool, rel in cands:
                if rel < floor or rel < top - NEAR_BEST or tool in chosen:
                    continue
                step = rel - floor
                if last is not None:
                    if not graph.has(last, tool):
                        step -= miss_penalty
                    if prior is not None:
                        step += prior(last, tool)
                moves.append((score + step, tool))
            for value, tool in moves:
                new_path = (*path, tool)
                picked = [t for t in new_path if t is not None]
                key = (picked[-1] if picked else None, frozenset(picked))
                old = grown.get(key)
                if old is None or (value, _order_key(new_path)) > (old[0], _order_key(old[1])):
                    grown[key] = (value, new_path)
        beams = sorted(grown.values(), key=lambda b: (-b[0], _order_key(b[1])))[:BEAM]
    best = beams[0][1] if beams else ()
    if not any(best) and options:
        # Nothing cleared the floor: keep the single most relevant tool of the request.
        scored = [(c[0][1], -i, c[0][0]) for i, c in enumerate(options) if c]
        if scored:
            _, neg, tool = max(scored)
            return [tool if i == -neg else None for i in range(len(options))]
    return list(best) + [None] * (len(options) - len(best))


def _order_key(path: Path) -> str:
    return "|".join(t or "-" for t in path)


# General-English words of tools that look something up rather than act on it.
LOOKUP_WORDS = frozenset(["search", "query", "find", "lookup", "look", "inquiry", "inquire"])
# Those that discover something new. One searches for what is about to be booked or worked
# on, and queries the state of what one already has before changing it.
DISCOVERY_WORDS = frozenset(["search", "find", "lookup", "look"])


def implied_lookup(
    graph: ToolGraph,
    tool: str,
    planned: set[str],
    relevance: dict[str, float],
    allowed: set[str] | None = None,
) -> str | None:
    """A lookup tool the chain implies before `tool`: a graph predecessor of it that works on the
    same entity (shares a name word) and only looks things up, when `tool` itself acts
    (`search_x → book_x`). Best a search before a booking and a query before a change
    (`DISCOVERY_WORDS`), then by shared name words, then by relevance to the request.
    None comes before a cancellation, which needs only what the request names, nor before a
    tool that changes nothing when a query of its entity's state feeds it (planned or not): an
    entity one queries is one's own (a booking, a repair request), which the request names;
    only what is searched for (a movie before its details) must be found first."""
    own = _stems(tool)
    if own & LOOKUP_WORDS:
        return None
    entity = own - LOOKUP_WORDS
    change = named_mutation(tool)
    if change == "cancel":
        return None
    books = change == "book"
    best: tuple[bool, int, float, str] | None = None
    for source in sorted(graph.pred.get(tool, ())):
        theirs = _stems(source)
        shared = len((theirs - LOOKUP_WORDS) & entity)
        if not theirs & LOOKUP_WORDS or not shared:
            continue
        discovers = bool(theirs & DISCOVERY_WORDS)
        if change is None and not discovers:
            return None  # one's own entity (it has a query of its state): named, not found
        if source in planned or (allowed is not None and source not in allowed):
            continue
        key = (discovers == books, shared, relevance.get(source, 0.0), source)
        if best is None or key > best:
            best = key
    return best[-1] if best else None


def _stems(name: str) -> set[str]:
    return {stem(w) for w in words(name)} | set(words(name))


# A tool that lists a collection ("a list of ...") needs no entity looked up first.
_LISTS = re.compile(r"\b(?:a|the)\s+list\s+of\b|\blists\s+(?:all|the)\b", re.I)
# What a list holds: the first plural noun after "list of" ("a list of the popular TV shows").
_LISTED = re.compile(r"\blist\s+of\s+(?:[\w-]+\s+){0,4}?([a-z]\w*[^s\W]s)\b", re.I)


def listed_item(info: ToolInfo) -> str | None:
    """The singular of what a tool lists ("Obtain a list of TV shows ..." → ``show``)."""
    found = _LISTED.search(info.description)
    return found.group(1).lower()[:-1] if found else None


def unexplained(index: ToolIndex, text: str, planned: set[str], literals: list[Literal]) -> str:
    """The request's content words that no planned tool's name or description mentions
    (literals such as titles and names left out)."""
    known: set[str] = set()
    for i, name in enumerate(index.names):
        if name in planned:
            known.update(index.docs[i])
    spans = [(x.start, x.end) for x in literals]
    kept = []
    for match in re.finditer(r"[A-Za-z][A-Za-z'-]*", text):
        if any(a <= match.start() < b for a, b in spans):
            continue
        for w in words(match.group()):
            if w not in STOPWORDS and len(w) > 1 and stem(w) not in known:
                kept.append(w)
    return " ".join(kept)


def implied_step(
    graph: ToolGraph,
    steps: list[ToolInfo],
    votes: dict[str, float] | None,
    relevance: Callable[[], dict[str, float]],
    min_votes: float,
) -> tuple[int, str] | None:
    """(position, tool) of one lookup step the chain implies: before the first step, or before a
    step its predecessor cannot feed (graph) when the lookup can be fed by it and feed the step.
    With learned `votes` the predecessor most nearby examples use (share ≥ `min_votes`);
    otherwise `implied_lookup` (same entity, looks things up)."""
    planned = {s.name for s in steps}
    scores: dict[str, float] | None = None
    for i, cur in enumerate(steps):
        prev = steps[i - 1].name if i else None
        if prev is not None and graph.has(prev, cur.name):
            continue
        if _LISTS.search(cur.description):
            continue
        preds = graph.pred.get(cur.name, set()) - planned
        if prev is not None:
            preds = {p for p in preds if graph.has(prev, p)}
        if votes is not None:
            voted = max(sorted(preds), key=lambda t: votes.get(t, 0.0), default=None)
            lookup = voted if voted and votes.get(voted, 0.0) >= min_votes else None
        else:
            scores = relevance() if scores is None else scores
            lookup = implied_lookup(graph, cur.name, planned, scores, preds)
        if lookup is not None:
            return i, lookup
    return None

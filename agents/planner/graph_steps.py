"""Steps the tool graph implies around the steps chosen for the clauses (untyped catalogs).

A mixin of the rules planner (`agents.planner.rules`), kept apart because it only applies when
a catalog ships a tool graph: a lookup before the first step (`chain.implied_step`), the list
whose one item the first step works on, the follower of a last list step whose one item the
request asks about, the search of a kind the request names ("the collection Harry Potter",
"directed by Sofia Coppola") and the step that bridges it to the first step.
"""

from __future__ import annotations

from typing import Any

from agents.planner import build, chain
from agents.planner.flow import Draft
from agents.planner.graph import ToolGraph
from agents.planner.literals import Literal
from agents.planner.retrieval import ToolIndex, info_of
from agents.planner.text import content_stems, words

IMPLIED_VOTES = 0.5  # share of nearby training examples that must use an implied lookup
ITEM_SCORE = 0.3  # relevance a list tool's follower needs to the words the plan leaves over


class GraphSteps:
    """Adds the steps a tool graph implies to the planner's `drafts`."""

    text: str
    index: ToolIndex
    graph: ToolGraph | None
    drafts: list[Draft]
    literals: list[Literal]
    inputs: dict[str, Any]
    votes: dict[str, float]
    examples: Any
    ranked: dict[int, list[tuple[str, float]]]  # each clause's best tools (chain mode)

    def _new_id(self, tool: str) -> str:
        raise NotImplementedError

    def _implied(self) -> None:
        """Tool graph: a lookup step the chain implies (see `chain.implied_step`)."""
        assert self.graph is not None
        found = chain.implied_step(
            self.graph,
            [d.info for d in self.drafts],
            self.votes if self.examples is not None else None,
            lambda: {m.tool: m.score for m in self.index.rank(self.text)},
            IMPLIED_VOTES,
        )
        if found is not None:
            i, lookup = found
            self.drafts.insert(i, self._step_like(lookup, self.drafts[i]))

    def _item_of_list(self) -> None:
        """Tool graph: the request asks about one item of the list its last step returns ("a
        keyword of the most popular TV show" lists the popular shows, then gets one's keywords):
        add the successor of that list tool that best explains the request's remaining words."""
        assert self.graph is not None
        last = self.drafts[-1]
        item = chain.listed_item(last.info)
        if item is None or item not in words(self.text):  # "TV shows similar to X": the list
            return
        tool = self._explaining(self.graph.succ.get(last.info.name, set()))
        if tool is not None:
            self.drafts.append(self._step_like(tool, last))

    def _list_source(self) -> None:
        """Tool graph: the first step works on one item of a list the request describes ("the
        keywords of the most popular movie"): add the list tool that feeds it, when the request
        names its item in the singular and its words explain what the plan leaves over. The
        item then needs no search (`_prerequisites` looks at the new first step)."""
        assert self.graph is not None
        first = self.drafts[0]
        said = set(words(self.text))
        sources = {
            tool
            for tool in self.graph.pred.get(first.info.name, set())
            if chain.listed_item(info_of(self.index, tool)) in said
        }
        tool = self._explaining(sources)
        if tool is not None:
            self.drafts.insert(0, self._step_like(tool, first))

    def _explaining(self, candidates: set[str]) -> str | None:
        """The unplanned candidate most relevant to the words no planned tool explains, when
        its own name or description has one of them (not only a synonym) and it fits well."""
        planned = {d.info.name for d in self.drafts}
        candidates = candidates - planned
        rest = chain.unexplained(self.index, self.text, planned, self.literals)
        if not candidates or not rest:
            return None
        rest_stems = set(content_stems(rest))
        for match in self.index.rank(rest):
            if match.tool in candidates:
                doc = self.index.docs[self.index.names.index(match.tool)]
                fits = match.score >= ITEM_SCORE and rest_stems & set(doc)
                return match.tool if fits else None
        return None

    def _step_like(self, tool: str, beside: Draft) -> Draft:
        """A step for `tool` that belongs to the same clause and group as `beside`."""
        draft = Draft(self._new_id(tool), info_of(self.index, tool), beside.clause)
        draft.group = beside.group
        build.fill_required(draft, [], self.inputs, self.text)
        return draft

    def _bridge(self, source: str, first: Draft) -> None:
        """For "a movie from the collection Harry Potter": the collection's search cannot feed
        the movie step, so the step it feeds that fits the request best (the collection's
        details) goes between them."""
        assert self.graph is not None
        if self.graph.has(source, first.info.name):
            return
        bridges = {
            tool
            for tool in self.graph.succ.get(source, set()) - {first.info.name}
            if not build.searched_kind(info_of(self.index, tool))  # a second search finds nothing
        }
        feeding = {tool for tool in bridges if self.graph.has(tool, first.info.name)}
        bridges = feeding or bridges  # best one that also feeds the step
        bridge = next((m.tool for m in self.index.rank(self.text) if m.tool in bridges), None)
        if bridge is not None:
            self.drafts.insert(0, self._step_like(bridge, first))

    def _fed_by(self, source: str, draft: Draft) -> Draft:
        """`draft`, or, when the graph says `source` cannot feed it, the clause's near-best
        tool that it can ("the lead actor in the movie X": a movie's credits, not a person's)."""
        assert self.graph is not None
        if draft.info.name == source or self.graph.has(source, draft.info.name):
            return draft
        ranked = self.ranked.get(draft.clause, [])
        own = next((score for tool, score in ranked if tool == draft.info.name), None)
        if own is None:
            return draft
        planned = {d.info.name for d in self.drafts}
        for tool, score in ranked:
            # The decoder's own trade-off: a step its predecessor cannot feed loses MISS_PENALTY.
            if score < own - chain.MISS_PENALTY:
                break
            if tool not in planned and self.graph.has(source, tool):
                fitted = self._step_like(tool, draft)
                self.drafts[self.drafts.index(draft)] = fitted
                return fitted
        return draft

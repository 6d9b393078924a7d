"""The rules planner: a deterministic, offline plan from a plain-English request (DESIGN §4).

request → guard → literals → clauses → tool per clause (lexical + semantic retrieval) → params
(literals by kind, data flow by types, inputs for the rest) → conditions and per-item loops →
ordering dependencies → a `WorkflowSpec` checked by the validator. When no tool fits, or the
plan does not validate, the result carries an error with the closest tools instead of a plan.
"""

from __future__ import annotations

import re
from typing import Any

from agents.planner import build, chain, examples
from agents.planner.flow import Draft
from agents.planner.graph import ToolGraph, attached
from agents.planner.graph_steps import GraphSteps
from agents.planner.literals import Literal, extract
from agents.planner.result import PlanningError, PlanResult, guard
from agents.planner.retrieval import Match, index_for, info_of
from agents.planner.segment import Clause, is_imperative, only_states, segment
from agents.planner.text import identifier, words
from app.tools.registry import Catalog
from app.workflow.spec import WorkflowSpec

FALLBACK_SCORE = 0.3
MAX_GRAPH_DENSITY = 0.5
CHAIN_CANDIDATES = 8
CONTEXT_WEIGHT = 0.45  # share of a clause's tool scores taken from it read with the one before
VOTE_WEIGHT, TRANSITION_WEIGHT = 0.3, 0.2  # optional learned priors


def _input_ref(value: Any) -> str | None:
    """`x` when `value` is exactly `{{ inputs.x }}`."""
    m = re.fullmatch(r"\{\{\s*inputs\.(\w+)\s*\}\}", value) if isinstance(value, str) else None
    return m.group(1) if m else None


def _checked(verdict: Draft) -> dict[str, Any]:
    """What a verdict step checks: its required params (`{"email": "ada@example.com"}`)."""
    return {k: v for k, v in verdict.params.items() if k in verdict.info.required_params}


def _whole(text: str) -> Clause:
    return Clause(text, 0, len(text), 0)


def plan(request: str, catalog: Catalog, tool_graph: ToolGraph | None = None) -> PlanResult:
    """Plan `request` over `catalog`; never raises for bad input (the error says what to fix).

    `tool_graph` (which tool can feed which) defaults to the graph attached to the catalog
    (`agents.planner.graph.attach`); without one, the request's order alone gives the chain."""
    try:
        return _Planner(request, catalog, tool_graph).run()
    except PlanningError as exc:
        return PlanResult(error=exc.as_error())


class _Planner(GraphSteps):
    def __init__(self, request: str, catalog: Catalog, graph: ToolGraph | None = None):
        self.text = guard(request)
        self.catalog = catalog
        self.index = index_for(catalog)
        graph = graph if graph is not None else attached(catalog)
        # A (near-)complete graph says nothing about which tool feeds which: ignore it.
        if graph is not None and graph.density(len(self.index.names)) > MAX_GRAPH_DENSITY:
            graph = None
        self.graph = graph
        self.examples = examples.attached(catalog) if graph is not None else None
        self.votes = self.examples.votes(self.text) if self.examples is not None else {}
        self.literals: list[Literal] = extract(self.text)
        self.clauses: list[Clause] = segment(self.text, self.literals, self.index.verbs)
        self.drafts: list[Draft] = []
        self.inputs: dict[str, Any] = {}
        self.notes: list[str] = []
        self.unused: list[Clause] = []  # clauses the plan could not use (see `_unused`)
        self.typed = any(i.output_schema for i in self.index.infos)
        self.ranked: dict[int, list[tuple[str, float]]] = {}  # chain mode: each clause's tools

    # -- choosing tools ----------------------------------------------------------------------

    def _choices(self, clause: Clause) -> list[tuple[Any, str]]:
        """(best match, query) for a clause, split in two for `verb A and B` when that fits."""
        lits = build.clause_literals(clause, self.literals)
        query = build.clause_query(self.text, clause, self.literals)
        bonus = build.literal_bonus(self.index, lits, self.text)
        best = build.choose(self.index, query, bonus)[0]
        sources = [
            x for x in lits if x.kind in {"file", "url"} and not build.is_destination(x.context)
        ]
        if sources and self.typed:
            # The verb decides when the file/URL is only where the data comes from: "count the
            # orders in orders.csv" is a count over rows read from the file.
            plain = build.clause_query(self.text, clause, self.literals, formats=False)
            others = [x for x in lits if x not in sources]
            alt = build.choose(
                self.index, plain, build.literal_bonus(self.index, others, self.text)
            )[0]
            info = info_of(self.index, alt.tool)
            if (
                alt.tool != best.tool
                and not build.takes_any(info, sources)
                and alt.score >= build.MIN_SCORE
                and build.transforms(info)
            ):
                probe = Draft("probe", info, 0)
                if any(build.source_for(self.index, probe, x, set()) for x in sources):
                    best = alt
            if not build.reachable(self.index, best, sources):
                # The step could never see the file or URL the clause names: take the best
                # fair match that can ("Get the JSON from https://..." is a request, not a read).
                fair = self._fair_alternatives(query, bonus)
                direct = (m for m in fair if build.takes_any(info_of(self.index, m.tool), sources))
                sourced = (m for m in fair if build.reachable(self.index, m, sources))
                best = next(direct, None) or next(sourced, best)
        dests = [x for x in lits if x.kind == "file" and build.is_destination(x.context)]
        if dests and self.typed and not build.takes_any(info_of(self.index, best.tool), dests):
            # "save the page to page.html": the step must be able to write that file
            fair = self._fair_alternatives(query, bonus)
            best = next(
                (m for m in fair if build.takes_any(info_of(self.index, m.tool), dests)), best
            )
        parts = re.split(r"\s+and\s+(?:the\s+|its\s+|their\s+|a\s+)?", query, maxsplit=1)
        if len(parts) == 2 and len(parts[0].split()) >= 2 and self.typed:
            verb = parts[0].split()[0]
            left, right = parts[0], f"{verb} {parts[1]}"
            a = build.choose(self.index, left, bonus)[0]
            b = build.choose(self.index, right, bonus)[0]
            if a.tool != b.tool and min(a.score, b.score) >= max(
                build.MIN_SCORE, best.score * 0.85
            ):
                return [(a, left), (b, right)]
        return [(best, query)]

    def _fair_alternatives(self, query: str, bonus: dict[str, float]) -> list[Match]:
        """The clause's next-best tools that are still fair matches on their own."""
        ranked = build.choose(self.index, query, bonus)[1:CHAIN_CANDIDATES]
        return [m for m in ranked if m.score >= build.MIN_SCORE]

    def run(self) -> PlanResult:
        if self.graph is not None and not self.typed:
            return self._run_chain()
        pending_condition: Clause | None = None
        group = 0
        for n, clause in enumerate(self.clauses):
            if clause.condition:
                if self.drafts and (n + 1 == len(self.clauses) or self.clauses[n + 1].condition):
                    self._gate(self.drafts[-1], clause)
                else:
                    pending_condition = clause
                continue
            choices = self._choices(clause)
            if choices[0][0].score < build.MIN_SCORE:
                self._unused(clause, f"no tool fits it (best {choices[0][0].tool})")
                if is_imperative(clause.text, self.index.verbs):
                    self._unplanned_action(clause)
                continue
            group += 1
            made = []
            for match, _query in choices:
                if not self.typed and any(d.info.name == match.tool for d in self.drafts):
                    continue  # untyped catalogs: a repeated tool is almost always a re-mention
                made.append(self._add_step(clause, n, match.tool, group))
            if pending_condition is not None:
                for draft in made:
                    self._gate(draft, pending_condition)
                pending_condition = None
        if pending_condition is not None:
            self._unused(pending_condition, "no step follows it to gate")
        if not self.drafts and not self.typed:
            # Untyped catalogs often answer questions ("Who directed X?") with no action verb:
            # fall back to the best tool for the whole request when it is a fair match.
            best = self.index.rank(build.clause_query(self.text, _whole(self.text), self.literals))[
                0
            ]
            if best.score >= FALLBACK_SCORE:
                self._add_step(_whole(self.text), 0, best.tool, 1)
        if not self.drafts:
            return self._no_plan()
        if not self.typed:
            self._prerequisites()
        self._globals()
        self._order()
        return self._finish()

    def _run_chain(self) -> PlanResult:
        """Untyped catalog with a tool graph: choose the clauses' tools jointly (`chain`)."""
        options = []
        previous: Clause | None = None  # what a clause is read after (a stated fact counts)
        for n, clause in enumerate(self.clauses):
            if clause.condition:
                self._unused(clause, "conditions need tools with typed outputs")
                continue
            if only_states(clause.text, self.index.verbs):
                self._unused(clause, "it states a fact and asks for no action")
                previous = clause  # "I booked a hotel ...": what the next clause changes
                continue
            lits = build.clause_literals(clause, self.literals)
            query = build.clause_query(self.text, clause, self.literals)
            bonus = build.literal_bonus(self.index, lits, self.text)
            for tool, share in self.votes.items():
                bonus[tool] = bonus.get(tool, 0.0) + VOTE_WEIGHT * share
            ranked = self._in_context(query, bonus, previous)
            options.append((n, clause, ranked))
            self.ranked[n] = ranked
            previous = clause
        assert self.graph is not None
        bank = self.examples
        prior = (lambda a, b: TRANSITION_WEIGHT * bank.transition(a, b)) if bank else None
        picks = chain.decode([o[2] for o in options], self.graph, prior=prior)
        group = 0
        for (n, clause, _), tool in zip(options, picks, strict=True):
            if tool is None:
                self._unused(clause, "no tool fits it")
                continue
            group += 1
            self._add_step(clause, n, tool, group)
        if not self.drafts:
            whole = build.clause_query(self.text, _whole(self.text), self.literals)
            best = self.index.rank(whole)[0]
            if best.score >= FALLBACK_SCORE:
                self._add_step(_whole(self.text), 0, best.tool, 1)
        if not self.drafts:
            return self._no_plan()
        self._list_source()
        self._prerequisites()
        self._item_of_list()
        self._implied()
        self._globals()
        self._order()
        return self._finish()

    def _in_context(
        self, query: str, bonus: dict[str, float], previous: Clause | None
    ) -> list[tuple[str, float]]:
        """The clause's best tools, scored partly as read after the previous clause: a later
        step often leaves its object implicit ("... a flight, and book a ticket" books a flight
        ticket), so the previous clause's nouns help tell same-action tools apart."""
        ranked = self.index.rank(query, bonus)
        if previous is not None:
            before = build.clause_query(self.text, previous, self.literals)
            joint = {m.tool: m.score for m in self.index.rank(f"{before} {query}", bonus)}
            w = CONTEXT_WEIGHT
            scored = [(m.tool, (1 - w) * m.score + w * joint[m.tool]) for m in ranked]
        else:
            scored = [(m.tool, m.score) for m in ranked]
        scored.sort(key=lambda x: (-x[1], x[0]))
        return scored[:CHAIN_CANDIDATES]

    def _no_plan(self) -> PlanResult:
        closest = [m.tool for m in self.index.rank(self.text)[:5]]
        raise PlanningError(
            "no tool in the catalog matches this request",
            code="NO_MATCHING_TOOL",
            hint="Rephrase with the action you want (e.g. fetch, validate, save), or add a tool.",
            closest=closest,
        )

    # -- building steps ----------------------------------------------------------------------

    def _new_id(self, tool: str) -> str:
        base = identifier(tool, "step", 48)
        ids = {d.id for d in self.drafts}
        if base not in ids:
            return base
        k = 2
        while f"{base}_{k}" in ids:
            k += 1
        return f"{base}_{k}"

    def _add_step(self, clause: Clause, n: int, tool: str, group: int) -> Draft:
        info = info_of(self.index, tool)
        draft = Draft(self._new_id(tool), info, n, per_item=clause.per_item, group=group)
        lits = build.clause_literals(clause, self.literals)
        each = re.search(r"\b(?:each|every)\s+(?:of\s+the\s+)?([a-z_]+)", clause.text, re.I)
        if each and each.group(1).lower() not in {"one", "of", "them", "item", "row", "line"}:
            draft.item_field = re.sub(r"'s$", "", each.group(1).lower())
        build.fill_literals(draft, lits, self.text, clause.text)
        for lit in lits:
            if lit.used or lit.kind not in {"file", "url"}:
                continue
            if build.is_destination(lit.context):
                continue
            source = build.source_for(self.index, draft, lit, {d.id for d in self.drafts})
            if source is None:
                continue
            reader = Draft(self._new_id(source.name), source, n, source=True, group=group)
            (pname,) = source.required_params
            reader.params[pname] = build.literal_value(lit, pname, source.params[pname])
            lit.used = True
            self.drafts.append(reader)
        earlier = [d for d in self.drafts if d.clause != n or d.source]
        if draft.per_item and not self.typed:
            draft.per_item = False
        build.fill_required(draft, earlier, self.inputs, clause.text)
        self.drafts.append(draft)
        return draft

    def _gate(self, draft: Draft, clause: Clause) -> None:
        earlier = (
            [
                d
                for d in self.drafts
                if d is not draft and self.drafts.index(d) < self.drafts.index(draft)
            ]
            if draft in self.drafts
            else list(self.drafts)
        )
        verdict = build.verdict_before(earlier)
        if verdict is None or verdict is draft:
            self._unused(clause, "no earlier step gives a verdict to test")
            return
        if build.judges_each(verdict):
            self._gate_each(draft, clause, verdict)
            return
        draft.when = build.when_expression(clause.text, verdict, clause.negate)
        self._rows_of_subject(draft, verdict)
        self._pronoun_subject(draft, verdict)

    def _gate_each(self, draft: Draft, clause: Clause, verdict: Draft) -> None:
        """`for each email in leads.csv, validate it and if it is valid send a welcome email`:
        a `when` would test the whole list of verdicts, so the step runs once per result that
        passes instead, on the value the result gives back for what was checked. What else it
        had taken from the items or the verdicts becomes a workflow input."""
        found = build.passing_results(clause.text, verdict, clause.negate)
        value = found[1] if found else None
        if found is None or (value is None and self._says_it(draft)):
            raise PlanningError(
                f"the condition {clause.text!r} tests each item's result, and the results of "
                f"{verdict.info.name} that pass it do not carry the item they judged",
                code="PER_ITEM_CONDITION",
                hint="Ask for the results as a whole (e.g. write them to a file), or keep the "
                "items you want first ('keep the rows where …').",
            )
        draft.for_each, draft.when = found[0], None
        for name, current in list(draft.params.items()):
            from_items = re.search(rf"\bitem\b|steps\.{verdict.id}\b", repr(current))
            ident = _input_ref(current)
            schema = draft.info.params.get(name, {})
            takes = value is not None and build.takes_checked(verdict, name, schema)
            if takes and (from_items or ident):
                draft.params[name] = "{{ item." + str(value) + " }}"
                if ident is not None:
                    self._drop_unused_input(ident)
            elif from_items and name in draft.info.required_params:
                draft.params[name] = build.declare_input(self.inputs, name, schema)
            elif from_items:
                del draft.params[name]

    def _unplanned_action(self, clause: Clause) -> None:
        """An action the user asked for that no tool performs: a plan without it would do less
        than asked while looking complete, so there is no plan (the error names the clause)."""
        query = build.clause_query(self.text, clause, self.literals)
        closest = [m.tool for m in self.index.rank(query)[:5]]
        raise PlanningError(
            f"no tool in the catalog does {clause.text!r}",
            code="UNPLANNED_ACTION",
            hint="Rephrase that part with the action a tool performs, add a tool for it, or "
            "leave it out of the request.",
            closest=closest,
        )

    def _unused(self, clause: Clause, why: str) -> None:
        """Say which part of the request the plan leaves out, and why."""
        self.notes.append(f"unused clause {clause.text!r}: {why}")
        self.unused.append(clause)

    def _rows_of_subject(self, draft: Draft, verdict: Draft) -> None:
        """`check X and if it is valid add it to leads.csv`: the gated step stores what was
        checked, so rows left as a bare workflow input become one row of the verdict's inputs."""
        if not build.is_verdict(verdict):
            return
        subject = _checked(verdict)
        if not subject:
            return
        for name, value in list(draft.params.items()):
            schema = draft.info.params.get(name, {})
            items = schema.get("items") if isinstance(schema.get("items"), dict) else {}
            if build.param_types(schema) != {"array"} or build.param_types(items) != {"object"}:
                continue
            ident = _input_ref(value)
            if ident is None or ident not in self.inputs:
                continue
            draft.params[name] = [dict(subject)]
            self._drop_unused_input(ident)

    def _pronoun_subject(self, draft: Draft, verdict: Draft) -> None:
        """`validate ada@example.com and if it is valid, send it a welcome email`: "it" is the
        checked value, so a param left as a workflow input that the value fits takes it."""
        if not build.is_verdict(verdict) or not self._says_it(draft):
            return
        checked = {repr(v) for v in _checked(verdict).values()}
        subjects = [x for x in self.literals if repr(x.value) in checked]
        for name, value in list(draft.params.items()):
            ident = _input_ref(value)
            if ident is None or ident not in self.inputs:
                continue
            schema = draft.info.params.get(name, {})
            fit = next((x for x in subjects if build.affinity(x, name, schema, "") >= 1.0), None)
            if fit is None:
                continue
            draft.params[name] = build.literal_value(fit, name, schema)
            self._drop_unused_input(ident)

    def _says_it(self, draft: Draft) -> bool:
        """Whether the step's clause refers to what was checked as "it" or "them"."""
        return bool(re.search(r"\b(?:it|them)\b", self.clauses[draft.clause].text, re.I))

    def _drop_unused_input(self, ident: str) -> None:
        """Remove workflow input `ident` once no step reads it any more."""
        used = repr([(d.params, d.when, d.for_each) for d in self.drafts])
        if not re.search(rf"\binputs\.{re.escape(ident)}\b", used):
            del self.inputs[ident]

    def _prerequisites(self) -> None:
        """Untyped catalogs: a tool that works "by ID" takes the ID from the step before it; only
        the first step, with nothing before it, needs the search tool of its entity first. With
        a tool graph, a name given with its kind ("the movie X") is searched as that kind, and
        a person named as an agent or owner ("directed by X", "X's latest movie") as a person,
        even before a step that needs no ID ("the latest movie directed by X")."""
        named = build.typed_searcher(self.index, self.text) if self.graph is not None else None
        first = self.drafts[0]
        if named is not None and build.searched_kind(named) in words(first.info.name):
            first = self._fed_by(named.name, first)  # "the lead actor in the movie X"
        found = build.prerequisite(self.index, first, self.text)
        searched = found.name if found is not None else None
        if named is not None and named.name not in (searched, first.info.name):
            self._bridge(named.name, first)
            found = named
        if found is None:
            return
        draft = Draft(self._new_id(found.name), found, first.clause, group=first.group)
        self.drafts.insert(0, draft)

    def _globals(self) -> None:
        """Country, timezone and language names apply to every step with a matching param."""
        for lit in self.literals:
            if lit.kind not in build._GLOBAL_KINDS:
                continue
            for draft in self.drafts:
                for name, schema in draft.info.params.items():
                    if name in draft.params:
                        continue
                    if build.affinity(lit, name, schema, "") >= 1.0:
                        draft.params[name] = build.literal_value(lit, name, schema)

    def _order(self) -> None:
        """A step that reads nothing from earlier steps waits for the previous clause's steps."""
        for i, draft in enumerate(self.drafts):
            if draft.source or draft.refs() or i == 0:
                continue
            if not self.typed:  # no types to follow: assume the request's order is the chain
                draft.depends_on = [self.drafts[i - 1].id]
                continue
            prev_groups = [d.group for d in self.drafts[:i] if d.group < draft.group]
            if not prev_groups:
                continue
            last = max(prev_groups)
            sinks = [d.id for d in self.drafts[:i] if d.group == last and not d.source]
            draft.depends_on = sinks or [self.drafts[i - 1].id]

    def _outputs(self) -> dict[str, str]:
        """What a run shows: the output of each step whose data no other step reads (`result`
        when there is one; ordering-only `depends_on` does not count as reading) and, for steps
        gated on a verdict, the verdict's flag or label (`valid`, `label`)."""
        used = set()
        for d in self.drafts:
            text = repr(d.params) + repr(d.when) + repr(d.for_each)
            used |= {o.id for o in self.drafts if o is not d and f"steps.{o.id}." in text}
        sinks = [d for d in self.drafts if d.id not in used]
        outputs: dict[str, str] = {}
        for d in self.drafts:
            m = re.match(r"\{\{\s*(?:not\s+)?steps\.(\w+)\.output\.(\w+)", d.when or "")
            if m:
                ref = f"steps.{m.group(1)}.output.{m.group(2)}"
                outputs.setdefault(identifier(m.group(2), "verdict"), "{{ " + ref + " }}")
        for d in sinks:
            name = "result" if len(sinks) == 1 else identifier(d.id, "result")
            if name in outputs:
                name = identifier(f"{d.id}_result", "result")
            outputs[name] = f"{{{{ steps.{d.id}.output }}}}"
        return outputs

    def _finish(self) -> PlanResult:
        from app.workflow.validator import validate

        steps = []
        for d in self.drafts:
            step: dict[str, Any] = {"id": d.id, "tool": d.info.name, "params": d.params}
            if d.when:
                step["when"] = d.when
            if d.for_each:
                step["for_each"] = d.for_each
            if d.depends_on:
                step["depends_on"] = d.depends_on
            steps.append(step)
        name = "-".join(words(self.text)[:6]) or "workflow"
        data = {
            "flowwright": "1",
            "name": name[:100],
            "description": self.text[:500],
            "inputs": self.inputs,
            "steps": steps,
            "outputs": self._outputs(),
        }
        spec = WorkflowSpec.model_validate(data)
        diagnostics = validate(spec, self.catalog)
        errors = [d for d in diagnostics if d.is_error and d.code not in {"TOOL_PLANNING_ONLY"}]
        if errors:
            closest = [d.info.name for d in self.drafts]
            raise PlanningError(
                f"the plan does not validate: {errors[0].message}",
                code="PLAN_INVALID",
                hint=errors[0].hint or "Rephrase the request more explicitly.",
                closest=closest,
            )
        return PlanResult(spec=spec, diagnostics=diagnostics, notes=self.notes)

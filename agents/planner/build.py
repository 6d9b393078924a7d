"""From clauses to draft steps: tool choice, literals, inserted sources, data flow, conditions."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from agents.planner.flow import Draft, bind_from, is_verdict, output_of
from agents.planner.literals import FILE_EXTENSIONS, Literal
from agents.planner.params import (
    KIND_WORDS,
    affinity,
    flag_value,
    literal_value,
    option_value,
    param_types,
    param_words,
)
from agents.planner.retrieval import _SYNONYMS, Match, ToolIndex, info_of
from agents.planner.segment import NOUN_VERBS, Clause
from agents.planner.text import content_stems, identifier, stem, words
from app.tools.base import ToolInfo

MIN_SCORE = 0.58
_KIND_TOKENS = {
    "url": "", "email": "", "phone": "", "domain": "", "file": "", "name": "",
    "timezone": "timezone", "country": "country", "language": "language", "quoted": "",
    "number": "", "code": "", "list": "", "field": "", "order": "", "expr": "expression",
}  # fmt: skip
_DEST = re.compile(r"\b(to|into|as|called|named|onto)\s*(?:the\s+)?(?:file\s*)?$")
_DEST_IN = re.compile(
    r"\b(save|store|write|put|keep|append|record|export|dump)\b.*\bin\s*(?:the\s+)?$"
)


TRANSFORM_PARAMS = {"text", "content", "body", "data", "rows", "payload", "left", "right", "input"}


def transforms(info: ToolInfo) -> bool:
    """Whether the tool works on data handed to it (rows, text...) rather than fetching it."""
    for name in info.required_params:
        types = param_types(info.params.get(name, {})) or set()
        if name in TRANSFORM_PARAMS or types & {"array", "object"}:
            return True
    return False


def is_destination(context: str) -> bool:
    """`... to x.csv`, `save ... in x.csv`: the file receives data rather than providing it."""
    return bool(_DEST.search(context) or _DEST_IN.search(context))


_GLOBAL_KINDS = {"country", "timezone", "language"}


def clause_query(text: str, clause: Clause, literals: list[Literal], formats: bool = True) -> str:
    """Clause text with literals replaced by words for their kind (`stack.json` → `json file`)."""
    out, pos = [], clause.start
    for lit in literals:
        if clause.start <= lit.start < clause.end:
            out.append(text[pos : lit.start])
            if lit.kind == "file" and formats:
                ext = str(lit.value).rsplit(".", 1)[-1].lower()
                # a destination is a file to write, whatever its format names
                out.append(f" {ext} file " if is_destination(lit.context) else f" {ext} ")
            elif lit.kind == "url":
                host = re.sub(r"^\w+://", "", str(lit.value)).split("/")[0]
                labels = [w for w in host.split(".")[:-1] if w not in {"www", "api", "hooks"}]
                out.append(" " + " ".join(labels) + " ")
            elif lit.kind == "code":
                out.append(f" {lit.value} ")
            else:
                out.append(f" {_KIND_TOKENS.get(lit.kind, '')} ")
            pos = lit.end
    out.append(text[pos : clause.end])
    query = re.sub(r"\s+", " ", "".join(out)).strip()
    return _SENDING_VERB.sub(r"\g<0> send", query)  # "email bob@…" sends; it checks nothing


# A clause that starts with "email", "text" or "message" asks to send one.
_SENDING_VERB = re.compile(
    r"^(?:(?:please|also|then|and)\s+)*(?:" + "|".join(sorted(NOUN_VERBS)) + r")\b", re.I
)


def clause_literals(clause: Clause, literals: list[Literal]) -> list[Literal]:
    return [lit for lit in literals if clause.start <= lit.start < clause.end]


_FORMATS = set(FILE_EXTENSIONS)


def literal_bonus(index: ToolIndex, lits: list[Literal], text: str) -> dict[str, float]:
    """Evidence from literals: a tool with a parameter that fits a literal gains a little; a
    file named as a destination (`to x.csv`) favours tools that write, a source file the others;
    a tool named after another file format than the literal's loses a little."""
    bonus: dict[str, float] = {}
    for info in index.infos:
        total = 0.0
        name_words = set(words(info.name))
        for lit in lits:
            if lit.kind != "file":
                continue
            ext = str(lit.value).rsplit(".", 1)[-1].lower()
            formats = name_words & _FORMATS
            if formats:
                total += 0.1 if ext in formats else -0.3
            writes = info.side_effect.value == "writes"
            dest = is_destination(lit.context)
            if info.side_effect.value in {"writes", "reads"}:
                total += 0.12 if writes == dest else -0.2
        for lit in lits:
            if lit.kind in {"number", "quoted", "field"}:
                continue
            after = text[lit.end : lit.end + 30]
            best = max((affinity(lit, n, s, after) for n, s in info.params.items()), default=0)
            total += min(best, 1.5) * (0.15 if lit.kind in {"url", "email", "phone"} else 0.1)
        if total:
            bonus[info.name] = min(total, 0.3)
    return bonus


def choose(index: ToolIndex, query: str, bonus: dict[str, float]) -> list[Match]:
    return index.rank(query, bonus)


def takes_any(info: ToolInfo, lits: list[Literal]) -> bool:
    """Whether the tool has a parameter that one of the literals fits."""
    return any(affinity(x, n, s, "") >= 0.5 for x in lits for n, s in info.params.items())


def reachable(index: ToolIndex, match: Match, sources: list[Literal]) -> bool:
    """Whether the step can get at the file or URL the clause names: it takes one itself, or
    a reading/fetching step can turn one into what it needs (`source_for`)."""
    info = info_of(index, match.tool)
    if takes_any(info, sources):
        return True
    probe = Draft("probe", info, 0)
    return any(source_for(index, probe, x, set()) for x in sources)


def fill_literals(draft: Draft, lits: list[Literal], text: str, clause_text: str) -> None:
    """Assign the clause's literals to the step's params, best fits first."""
    params = draft.info.params
    pairs = []
    for lit in lits:
        after = text[lit.end : lit.end + 30]
        for name, schema in params.items():
            score = affinity(lit, name, schema, after)
            if lit.kind in {"file", "url"} and is_destination(lit.context) and "read" in name:
                score -= 0.5
            if score > 0.25:
                pairs.append((score, -lit.start, name, lit))
    pairs.sort(key=lambda p: (-p[0], p[1], p[2]))
    for _, _, name, lit in pairs:
        if name in draft.params or lit.used:
            continue
        draft.params[name] = literal_value(lit, name, params[name])
        lit.used = True
    clause_words = words(clause_text)
    stems = set(content_stems(clause_text))
    for name, schema in params.items():
        if name in draft.params:
            continue
        option = option_value(name, schema, clause_words)
        if option is not None:
            draft.params[name] = option
            continue
        flag = flag_value(name, schema, stems)
        if flag is not None:
            draft.params[name] = flag


def source_for(
    index: ToolIndex, draft: Draft, lit: Literal, earlier_ids: set[str]
) -> ToolInfo | None:
    """A tool that turns `lit` (a file or URL the step cannot take) into what the step needs:
    one that reads files for a file, fetches over the network for a URL (parsing a URL, say,
    does not get at what it points to)."""
    wanted = [
        param_types(s)
        for n, s in draft.info.params.items()
        if n in draft.info.required_params and n not in draft.params
    ]
    if not wanted:
        return None
    ext = str(lit.value).rsplit(".", 1)[-1].lower() if lit.kind == "file" else ""
    best: tuple[float, str] | None = None
    for info in index.infos:
        if len(info.required_params) != 1 or info.name == draft.info.name:
            continue
        if info.side_effect.value != ("network" if lit.kind == "url" else "reads"):
            continue
        (pname,) = info.required_params
        fit = affinity(lit, pname, info.params[pname], "")
        if fit < 0.5 or (not info.output_schema and info.planning_only):
            continue
        name_words = set(words(info.name)) | set(words(info.description))
        if name_words & {"write", "send", "post", "save", "delete", "insert"}:
            continue
        probe = Draft("probe", info, draft.clause)
        out = output_of(probe)
        if out is None:
            continue
        score = fit + (1.0 if ext and ext in words(info.name) else 0.0)
        score += 0.3 * len(name_words & {"read", "fetch", "load", "download", "get", "page"})
        if (
            ext
            and any(e in words(info.name) for e in ("csv", "json", "xml", "yaml"))
            and ext not in words(info.name)
        ):
            score -= 2.0
        test = Draft("t", draft.info, draft.clause, dict(draft.params), item_field=draft.item_field)
        if not any(
            bind_from(test, n, s, [probe])
            for n, s in draft.info.params.items()
            if n in draft.info.required_params and n not in draft.params
        ):
            continue
        if best is None or score > best[0]:
            best = (score, info.name)
    return info_of(index, best[1]) if best else None


def _negative(cond_text: str, negate: bool) -> bool:
    """Whether the condition asks for the verdict's flag to be false ("if it is invalid")."""
    return negate != bool({"not", "invalid", "isn", "fails", "no"} & set(words(cond_text)))


def _flags(props: dict[str, Any]) -> list[str]:
    return [k for k, v in props.items() if isinstance(v, dict) and v.get("type") == "boolean"]


def _label_in(cond_text: str, verdict: Draft) -> str | None:
    """The label a condition names ("if it is a bug" → ``bug``) among the verdict's labels."""
    labels = verdict.params.get("labels")
    known = [*(labels if isinstance(labels, list) else []), "positive", "negative", "neutral"]
    return next((w for w in words(cond_text) if w in known), None)


def when_expression(cond_text: str, verdict: Draft, negate: bool) -> str:
    """`{{ steps.x.output.label == 'billing' }}` or `{{ steps.x.output.valid }}`."""
    out = output_of(verdict)
    ref = f"steps.{verdict.id}.output"
    props = (out.resolved().get("properties") or {}) if out else {}
    label = _label_in(cond_text, verdict) if "label" in props else None
    if label is not None:
        op = "!=" if negate else "=="
        return "{{ " + f"{ref}.label {op} '{label}'" + " }}"
    flags = _flags(props)
    target = f"{ref}.{flags[0]}" if flags else ref
    return "{{ " + ("not " if _negative(cond_text, negate) else "") + target + " }}"


def _one_call(step: Draft) -> Draft:
    """`step` as a single call: its output is one result, not the list a `for_each` gives."""
    return Draft(step.id, step.info, step.clause)


def judges_each(step: Draft) -> bool:
    """A verdict tool run once per item (`validate_email` over the rows of a file)."""
    return step.for_each is not None and is_verdict(_one_call(step))


def passing_results(cond_text: str, verdict: Draft, negate: bool) -> tuple[str, str | None] | None:
    """For a verdict taken per item: the results that pass the condition, as a `for_each`
    expression, and the field of a passing result that gives back the checked value in
    canonical form (validate_email's `normalized`, validate_phone's `e164`: the first text
    field of a flag verdict). The field is None where results do not carry it (labels, failed
    checks); the whole answer is None when the condition names nothing the results say."""
    one = output_of(_one_call(verdict))
    props = (one.resolved().get("properties") or {}) if one else {}
    ref = f"steps.{verdict.id}.output"
    label = _label_in(cond_text, verdict) if "label" in props else None
    if label is not None:
        pick = "rejectattr" if negate else "selectattr"
        return "{{ " + f"{ref} | {pick}('label', 'equalto', '{label}') | list" + " }}", None
    flags = _flags(props)
    if not flags:
        return None
    negative = _negative(cond_text, negate)
    value = next((k for k, v in props.items() if "string" in (param_types(v) or set())), None)
    pick = "rejectattr" if negative else "selectattr"
    return "{{ " + f"{ref} | {pick}('{flags[0]}') | list" + " }}", None if negative else value


def takes_checked(verdict: Draft, name: str, schema: dict[str, Any]) -> bool:
    """Whether param `name` takes the kind of value `verdict` checks (send_email's `to` takes
    what validate_email's `email` checked: both are email words)."""
    checked = {w for param in verdict.info.required_params for w in words(param)}
    kinds = [ws for ws in KIND_WORDS.values() if checked & ws]
    names, _ = param_words(name, schema)
    return any(names & ws for ws in kinds) and "string" in (param_types(schema) or set())


def declare_input(inputs: dict[str, Any], name: str, schema: dict[str, Any]) -> str:
    types = param_types(schema) or {"any"}
    kind = next(iter(sorted(types))) if len(types) == 1 else "any"
    if kind == "null":
        kind = "any"
    ident = identifier(name, "value")
    inputs.setdefault(ident, {"type": kind, "description": str(schema.get("description") or name)})
    return "{{ inputs." + ident + " }}"


def fill_required(
    draft: Draft, earlier: list[Draft], inputs: dict[str, Any], clause_text: str
) -> None:
    """Bind every still-missing required param: data flow first, then a workflow input."""
    info = draft.info
    order = sorted(info.required_params, key=lambda n: n not in _CONTENT)
    kinds = [tuple(sorted(param_types(info.params.get(n, {})) or ())) for n in order]
    several = any(kinds.count(k) > 1 and "array" in k for k in kinds)
    for name in order:
        if name in draft.params:
            continue
        schema = info.params.get(name, {})
        types = param_types(schema)
        structured = types is not None and bool(types & {"array", "object"})
        fieldish = bool(set(words(name)) & {"by", "key", "on", "fields", "field", "column"})
        if (
            not fieldish
            and (structured or not draft.refs())
            and bind_from(draft, name, schema, earlier, oldest=several and structured)
        ):
            continue
        if set(words(name)) & {"prompt", "instruction", "question"}:
            draft.params[name] = clause_text
        elif name == "where" and (expr := where_expression(clause_text)):
            draft.params[name] = expr
        elif types is not None and "null" in types:
            # Required but nullable, and the request says nothing of it: null is its "none"
            # ("count the rows": no grouping), not a question for whoever runs the workflow.
            draft.params[name] = None
        else:
            draft.params[name] = declare_input(inputs, name, schema)


_CONTENT = {"text", "content", "body", "message", "data", "payload", "rows", "input", "url"}
_COMPARE = {
    "below": "<", "under": "<", "less than": "<", "lower than": "<", "fewer than": "<",
    "over": ">", "above": ">", "more than": ">", "greater than": ">", "higher than": ">",
    "at least": ">=", "at most": "<=", "equal to": "==", "equals": "==",
}  # fmt: skip


def where_expression(text: str) -> str | None:
    """`quantity is below 10` → `row.quantity|float < 10` (None when no comparison is found)."""
    ops = "|".join(sorted(_COMPARE, key=len, reverse=True))
    m = re.search(
        rf"\b([a-z_][a-z0-9_]*)\s+(?:is\s+|are\s+)?({ops})\s+(-?\d+(?:\.\d+)?)\b", text, re.I
    )
    if not m:
        return None
    return f"row.{m.group(1).lower()}|float {_COMPARE[m.group(2).lower()]} {m.group(3)}"


def verdict_before(drafts: list[Draft]) -> Draft | None:
    for d in reversed(drafts):
        if is_verdict(d):
            return d
    return drafts[-1] if drafts else None


_LOOKUPS = {"search", "find", "lookup"}
# A capitalised name after the first word (`... Sofia Coppola`, `... Titanic`).
_PROPER_NAME = re.compile(r"(?<=[a-z,] )[A-Z][a-z]+(?: [A-Z][a-z]+)*")
# An identifier the request gives itself: "ID 123456", "ticket number G1234", "No. 303", or a
# code of capitals and digits ("CA1234").
_GIVEN_ID = re.compile(
    r"\b(?:IDs?|number|No\.|code)\s*(?:is\s+)?:?\s*[A-Z]*\d[\w-]*|\b[A-Z]+\d{2,}[\w-]*\b"
)


def prerequisite(index: ToolIndex, first: Draft, text: str) -> ToolInfo | None:
    """The search tool to run before `first` when it needs an entity's ID (or works "for a"
    named thing) that the request gives by name: REST-style `search → get`. Later steps take
    the ID from the step before them, so only the first step can need one, and none does when
    the request gives an identifier itself ("cancel ticket G1234")."""
    searchers = [i for i in index.infos if set(words(i.name)) & _LOOKUPS]
    if not searchers or set(words(first.info.name)) & _LOOKUPS or _GIVEN_ID.search(text):
        return None
    needs_id = re.search(r"\bIDs?\b|\bidentifier\b", first.info.description) or (
        _PROPER_NAME.search(text) and re.search(r"\b(?:for|of) an?\b", first.info.description)
    )
    return entity_searcher(index, first, searchers, text) if needs_id else None


def searched_kind(info: ToolInfo) -> str | None:
    """The one kind of thing a search tool finds (`search_collection` → ``collection``)."""
    return _kind_in_name(info.name)


@lru_cache(maxsize=8192)
def _kind_in_name(name: str) -> str | None:
    # Cached: every plan over a graph catalog asks this of each of its tools.
    parts = words(name)
    kinds = [w for w in parts if w not in _LOOKUPS]
    return kinds[0] if len(kinds) == 1 and len(kinds) < len(parts) else None


# A person named as the agent or owner of something: "directed by Sofia Coppola", "Christopher
# Nolan's latest movie" (a full name: two or more capitalised words).
_PERSON = {stem("person"), *_SYNONYMS[stem("person")]}
_AGENT = re.compile(
    r"\bby\s+[A-Z][a-z]+(?:\s+[A-Z][a-zA-Z]+)+|\b[A-Z][a-z]+(?:\s+[A-Z][a-zA-Z]+)+'s\b"
)


def typed_searcher(index: ToolIndex, text: str) -> ToolInfo | None:
    """The search tool of the kind of thing the request names explicitly: the kind word right
    before or after a name ("the collection Harry Potter", "Star Wars collection", "the company
    'Universal Pictures'") that is the rest of a search tool's name (`search_collection`), or
    people for a full name given as an agent or owner ("directed by Sofia Coppola")."""
    found: list[tuple[int, str, ToolInfo]] = []
    for info in index.infos:
        kind = searched_kind(info)
        if kind is None:
            continue
        kind = re.escape(kind)
        before = rf"\b{kind}\s+(?:[\"'“][^\"'”]+|[A-Z][a-z]+)"
        after = rf"\b[A-Z][a-z]+\s+{kind}\b"
        hit = re.search(before, text) or re.search(after, text)
        if hit is None and stem(kind) in _PERSON:
            hit = _AGENT.search(text)
        if hit:
            found.append((hit.start(), info.name, info))
    return min(found)[2] if found else None  # the first named in the request


def entity_searcher(
    index: ToolIndex, draft: Draft, searchers: list[ToolInfo], text: str
) -> ToolInfo | None:
    """The search tool for the entity a `... by ID` tool works on (shared name words first,
    then relevance to the request)."""
    own = {stem(w) for w in words(draft.info.name)}
    own |= {syn for w in own for syn in _SYNONYMS.get(w, ())}
    ranked = {m.tool: m.score for m in index.rank(text)}
    best: tuple[float, str] | None = None
    for info in searchers:
        theirs = {stem(w) for w in words(info.name)} - {"search", "find", "lookup"}
        overlap = len(theirs & own)
        if not overlap:
            continue
        score = overlap + ranked.get(info.name, 0.0)
        if best is None or score > best[0]:
            best = (score, info.name)
    return info_of(index, best[1]) if best else None

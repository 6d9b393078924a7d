"""Rules planner: a plain-English description of an application → a backend data model.

Deterministic and offline. It finds entities (nouns in relation phrases), relations from phrases
such as "has many", "belongs to", "can have several", "<subject> <verb> <object>" ("users write
posts"), event verbs that are themselves records ("readers comment on posts" → Comment), and
fields, listed explicitly ("products with name, price and stock", "books (title, isbn)") or
chosen per entity, with types inferred from the field names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from app.backend.naming import pascal, plural, singular, snake, word_problem

MANY = r"(?:many|several|multiple|lots of|a list of|any number of|one or more|zero or more|some)"
HAVE = r"(?:has|have|can have|may have|contain|contains|hold|holds|include|includes|own|owns)"
SPLIT = re.compile(
    r"[.;:!?\n]|,? (?:where|while|whereas|so that|then)\b"
    r"|\band\b(?= \w+ (?:" + HAVE.strip("(?:)") + r"|belongs?|\w+s?\b))"
)
ARTICLES = re.compile(r"\b(?:a|an|the|each|every|its|their|his|her)\b\s*")
M2M_NOUNS = {
    "tag",
    "label",
    "category",
    "skill",
    "genre",
    "topic",
    "keyword",
    "interest",
    "amenity",
    "feature",
    "ingredient",
    "allergen",
    "permission",
    "role",
    "course",
}
EVENT_VERBS = {
    "comment": "comment",
    "review": "review",
    "rate": "rating",
    "enroll": "enrollment",
    "book": "booking",
    "borrow": "loan",
    "rent": "rental",
    "attend": "attendance",
    "bid": "bid",
    "vote": "vote",
    "apply": "application",
    "subscribe": "subscription",
    "register": "registration",
    "reserve": "reservation",
    "order": "order",
    "purchase": "purchase",
    "like": "reaction",
    "donate": "donation",
    "visit": "visit",
    "check": "checkout",
}
ROLES = {
    "reader",
    "writer",
    "author",
    "visitor",
    "subscriber",
    "follower",
    "buyer",
    "seller",
    "owner",
    "creator",
    "poster",
    "commenter",
    "reviewer",
    "attendee",
    "host",
    "organizer",
    "assignee",
    "manager",
    "admin",
}
STOP = {
    "app",
    "application",
    "system",
    "platform",
    "service",
    "api",
    "backend",
    "site",
    "website",
    "thing",
    "stuff",
    "way",
    "where",
    "which",
    "that",
    "who",
    "also",
    "can",
    "and",
    "or",
    "with",
    "for",
    "on",
    "in",
    "to",
    "of",
    "by",
    "at",
    "from",
    "them",
    "it",
    "they",
    "there",
    "be",
    "is",
    "are",
}
DEFAULT_FIELDS: dict[str, list[str]] = {
    "user": ["username", "email"],
    "post": ["title", "body", "published"],
    "comment": ["body"],
    "tag": ["name"],
    "product": ["name", "price", "sku", "stock"],
    "order": ["status", "total"],
    "customer": ["name", "email"],
    "category": ["name"],
    "book": ["title", "isbn", "published_on"],
    "author": ["name", "bio"],
    "member": ["name", "email"],
    "loan": ["borrowed_on", "due_on", "returned_at"],
    "student": ["name", "email"],
    "course": ["title", "code", "credits"],
    "enrollment": ["enrolled_on", "grade"],
    "patient": ["name", "date_of_birth"],
    "doctor": ["name", "specialty"],
    "appointment": ["scheduled_at", "notes", "status"],
    "project": ["name", "description"],
    "task": ["title", "done", "due_on", "priority"],
    "event": ["name", "starts_at"],
    "venue": ["name", "address", "capacity"],
    "ticket": ["seat", "price"],
    "review": ["rating", "body"],
    "invoice": ["number", "amount", "issued_on"],
    "employee": ["name", "email", "hired_on"],
    "department": ["name"],
    "listing": ["title", "price", "address"],
    "agent": ["name", "email", "phone"],
    "restaurant": ["name", "address"],
    "dish": ["name", "price"],
    "menu": ["name"],
    "team": ["name"],
    "player": ["name", "number"],
    "match": ["played_at", "score"],
    "booking": ["starts_on", "ends_on", "status"],
    "room": ["number", "capacity", "price"],
    "hotel": ["name", "address"],
    "guest": ["name", "email"],
    "workout": ["performed_at", "duration_minutes"],
    "exercise": ["name"],
    "recipe": ["title", "instructions"],
    "ingredient": ["name"],
    "rating": ["score"],
    "vehicle": ["plate", "model_name"],
    "reservation": ["starts_on", "ends_on", "status"],
    "teacher": ["name", "email"],
    "order_item": ["quantity", "unit_price"],
}
RECORD_NOUNS = {
    "appointment",
    "reservation",
    "booking",
    "order",
    "ticket",
    "loan",
    "rental",
    "enrollment",
    "subscription",
    "application",
    "donation",
    "visit",
}
UNIQUE = {"username", "email", "sku", "isbn", "slug", "code", "number", "plate"}
STATUS = {
    "order": ["pending", "paid", "shipped", "cancelled"],
    "post": ["draft", "published"],
    "task": ["todo", "in_progress", "done"],
    "appointment": ["scheduled", "completed", "cancelled"],
    "booking": ["pending", "confirmed", "cancelled"],
}
TYPE_RULES: list[tuple[str, dict[str, Any]]] = [
    (r"(^|_)(uuid|guid|token)$", {"type": "uuid"}),
    (r"_at$|timestamp", {"type": "datetime"}),
    (r"_on$|(^|_)date($|_)|birthday|date_of_birth|dob", {"type": "date"}),
    (r"_time$|^time$", {"type": "time"}),
    (
        r"price|amount|cost|total|salary|balance|fee|budget",
        {"type": "decimal", "precision": 12, "scale": 2},
    ),
    (
        r"^(is|has|can)_|^(active|published|enabled|done|completed|available|verified|paid)$",
        {"type": "boolean", "default": False},
    ),
    (
        r"count|quantity|qty|stock|age|year|number_of|rating|score|capacity|seats|pages|duration|"
        r"minutes|priority|credits|grade|floor",
        {"type": "integer"},
    ),
    (r"latitude|longitude|weight|height|percent|ratio|distance", {"type": "float"}),
    (
        r"description|content|body|bio|notes|text|summary|message|instructions|comment",
        {"type": "text"},
    ),
    (r"url|website|link", {"type": "string", "length": 2048}),
    (r"phone|mobile", {"type": "string", "length": 32}),
    (r"metadata|settings|attributes|preferences|properties|extra", {"type": "json"}),
    (r"^(status|state)$", {"type": "enum"}),
    (r"email", {"type": "string", "length": 255}),
]


@dataclass
class _Entity:
    name: str  # singular snake
    fields: list[str] = field(default_factory=list)
    enum_values: dict[str, list[str]] = field(default_factory=dict)
    fks: list[tuple[str, str, bool, bool]] = field(
        default_factory=list
    )  # field, target, null, uniq
    relations: list[dict[str, Any]] = field(default_factory=list)


class _Plan:
    def __init__(self, text: str) -> None:
        self.text = text
        self.entities: dict[str, _Entity] = {}
        self.mentions_user = bool(re.search(r"\busers?\b", text))

    def entity(self, word: str) -> str:
        name = singular(snake(word))
        if name in ROLES and self.mentions_user and name not in self.entities:
            name = "user"
        if word_problem(plural(name)) or name in STOP:
            name = f"{name}_item"
        self.entities.setdefault(name, _Entity(name))
        return name

    def role(self, word: str) -> str:
        return singular(snake(word))

    def belongs(
        self, child: str, parent: str, role: str | None = None, *, unique: bool = False
    ) -> None:
        """child gets `<role>_id` → parent; both sides get navigable relations."""
        role = role or parent
        role = parent if role == child else role
        fk = f"{role}_id" if child != parent else "parent_id"
        c = self.entities[child]
        if any(f == fk for f, *_ in c.fks):
            return
        nullable = child == parent or self._reaches(parent, child)
        c.fks.append((fk, parent, nullable, unique))
        many = plural(child) if child != parent else "children"
        p = self.entities[parent]
        taken = {r["name"] for r in p.relations} | set(p.fields)
        back = many if many not in taken else f"{role}_{many}"
        if unique:
            back = child if child not in taken else f"{role}_{child}"
        name = fk[:-3]
        kind = "one_to_one" if unique else "many_to_one"
        c.relations.append(
            {
                "name": name,
                "kind": kind,
                "target": parent,
                "back_populates": back,
                "foreign_key": fk,
            }
        )
        p.relations.append(
            {
                "name": back,
                "kind": "one_to_one" if unique else "one_to_many",
                "target": child,
                "back_populates": name,
                "foreign_key": fk,
            }
        )

    def many_to_many(self, a: str, b: str) -> None:
        if a == b or any(
            r["target"] == b and r["kind"] == "many_to_many" for r in self.entities[a].relations
        ):
            return
        self.entities[a].relations.append(
            {"name": plural(b), "kind": "many_to_many", "target": b, "back_populates": plural(a)}
        )
        self.entities[b].relations.append(
            {"name": plural(a), "kind": "many_to_many", "target": a, "back_populates": plural(b)}
        )

    def _reaches(self, start: str, goal: str) -> bool:
        """Is `goal` reachable from `start` over required foreign keys (would close a cycle)?"""
        seen, todo = set(), [start]
        while todo:
            node = todo.pop()
            if node == goal:
                return True
            if node not in seen:
                seen.add(node)
                todo += [t for _, t, null, _ in self.entities[node].fks if not null and t != node]
        return False


def _words(phrase: str) -> list[str]:
    """Items of a list: "title, body and a published date" → [title, body, published_date]."""
    parts = re.split(r",|\band\b|\bor\b|&", ARTICLES.sub("", phrase))
    return [snake(p) for p in parts if snake(p)]


def _is_field(word: str) -> bool:
    w = singular(snake(word))
    if w in DEFAULT_FIELDS or w in M2M_NOUNS:
        return False
    return any(re.search(rx, w) for rx, _ in TYPE_RULES) or w in {
        "name",
        "title",
        "username",
        "sku",
        "isbn",
        "slug",
        "code",
        "address",
        "city",
        "country",
        "seat",
        "plate",
        "number",
        "first_name",
        "last_name",
        "specialty",
        "model_name",
    }


def _starts_clause(segment: str) -> bool:
    """Does the text after a comma start a clause ("readers comment on posts") rather than
    continue a list ("price and stock", "a published date", "date of birth")?"""
    words = ARTICLES.sub("", segment).strip(" ,")
    words = re.sub(r"^(?:and|or|then|also)\b\s*", "", words)
    head = re.split(r"\b(?:and|or)\b|&", words)[0].split()
    if len(head) < 3 or head[0] in STOP or _is_field(head[0]):
        return False
    return head[1] not in {"of", "per"}


def _comma_clauses(sentence: str) -> list[str]:
    """Split a sentence at the commas (outside parentheses) that separate clauses."""
    parts: list[str] = []
    depth, start = 0, 0
    for i, ch in enumerate(sentence):
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if ch == "," and depth <= 0 and _starts_clause(sentence[i + 1 :].split(",")[0]):
            parts.append(sentence[start:i])
            start = i + 1
    parts.append(sentence[start:])
    return [re.sub(r"^\s*(?:and|then)\b", "", p) for p in parts]


def plan_model(request: str) -> dict[str, Any]:
    """A Flowwright model (plain data, validated by the caller) for a plain-English request."""
    text = " " + re.sub(r"\s+", " ", request.lower()).strip() + " "
    plan = _Plan(text)
    for sentence in SPLIT.split(text):
        for clause in _comma_clauses(sentence):
            _clause(plan, ARTICLES.sub("", clause).strip(" ,"))
    if not plan.entities:
        for word in re.findall(r"[a-z]+s\b", text):
            if word not in STOP and not _is_field(word):
                plan.entity(word)
    return _emit(plan, request)


def _clause(plan: _Plan, clause: str) -> None:
    if not clause:
        return
    m = re.match(r"(?:there (?:are|is) )?(\w+) \(([^)]*)\)", clause)
    if m:
        e = plan.entity(m.group(1))
        plan.entities[e].fields += [
            w for w in _words(m.group(2)) if w not in plan.entities[e].fields
        ]
        return
    m = re.match(rf"(\w+) (?:can )?belongs? to (?:{MANY} )(\w+)", clause)
    if m:
        plan.many_to_many(plan.entity(m.group(1)), plan.entity(m.group(2)))
        return
    m = re.match(r"(\w+) (?:are|is|get|gets|can be) assigned (to )?(\w+)", clause)
    if m:
        a, b = plan.entity(m.group(1)), plan.entity(m.group(3))
        child, parent = (a, b) if m.group(2) else (b, a)
        plan.belongs(child, parent, "assignee")
        return
    m = re.match(r"([a-z_ ]+?) (?:\w+ly )?(?:belongs?|belonging) to (?:one )?([a-z_ ]+)$", clause)
    if m:
        child, parent = plan.entity(snake(m.group(1))), plan.entity(snake(m.group(2)))
        plan.belongs(child, parent, parent)
        return
    m = re.match(rf"(\w+) (?:{HAVE}|with|having) (?:({MANY}|one|single|sub|parent) )?(.+)$", clause)
    if m:
        _have(plan, m.group(1), m.group(2), m.group(3))
        return
    m = re.match(
        r"(\w+) (?:can |may |will )?(\w+?)(?:s|es)? (?:on |in |to |for |at |about )?(\w+)"
        r"(?: (?:with|for|at|from|to|in|on) (\w+))?",
        clause,
    )
    if m and m.group(1) not in STOP:
        _verb(plan, *m.groups())


def _have(plan: _Plan, subject: str, quantifier: str | None, rest: str) -> None:
    owner = plan.entity(subject)
    items = _words(rest)
    if quantifier in ("sub", "parent") or any(
        singular(i) in (f"sub{owner}", f"parent_{owner}") for i in items
    ):
        plan.belongs(owner, owner)
        return
    fields = [i for i in items if _is_field(i)]
    for f in fields:
        if f not in plan.entities[owner].fields:
            plan.entities[owner].fields.append(f)
    for item in (i for i in items if not _is_field(i)):
        if item in STOP:
            continue
        other = plan.entity(item)
        if other == owner:
            plan.belongs(owner, owner)
        elif quantifier in ("one", "single") or (quantifier is None and singular(item) == item):
            plan.belongs(other, owner, unique=True)
        elif other in M2M_NOUNS:
            plan.many_to_many(owner, other)
        else:
            plan.belongs(other, owner)


def _verb(plan: _Plan, subject: str, verb: str, obj: str, extra: str | None) -> None:
    """ "users write posts" (posts belong to users); "readers comment on posts" (Comment)."""
    if obj in STOP or subject in STOP:
        return
    stem = verb.rstrip("s") if verb not in EVENT_VERBS else verb
    actor = plan.entity(subject)
    role = plan.role(subject)
    if stem in EVENT_VERBS or stem + "e" in EVENT_VERBS:
        made = singular(obj) in RECORD_NOUNS
        record = plan.entity(obj if made else EVENT_VERBS.get(stem) or EVENT_VERBS[stem + "e"])
        plan.belongs(record, actor, role)
        target = plan.entity(obj)
        if target != record and not made:
            plan.belongs(record, target)
        if extra and extra not in STOP:
            plan.belongs(record, plan.entity(extra))
        return
    target = plan.entity(obj)
    if target == actor:
        plan.belongs(actor, actor)
        return
    plan.belongs(target, actor, role)
    if extra and extra not in STOP and not _is_field(extra):
        plan.belongs(target, plan.entity(extra))


def _field(name: str, entity: str, values: dict[str, list[str]]) -> dict[str, Any]:
    spec: dict[str, Any] = {"name": name}
    for rx, rule in TYPE_RULES:
        if re.search(rx, name):
            spec.update(rule)
            break
    else:
        spec.update(type="string", length=200)
    if spec["type"] == "enum":
        spec["values"] = values.get(name) or STATUS.get(entity, ["active", "inactive"])
        spec["default"] = spec["values"][0]
        spec["nullable"] = False
    if name in UNIQUE:
        spec.update(unique=True, nullable=False)
    elif name in ("name", "title", "username"):
        spec["nullable"] = False
    return spec


def _emit(plan: _Plan, request: str) -> dict[str, Any]:
    m = re.match(
        r"\s*(?:build|create|make|write|design|generate)?\s*(?:me\s+)?(?:an?\s+)?"
        r"([a-z][a-z -]{1,40}?)\s+(?:where|with|for|that|in which|whose|to)\b",
        request.lower(),
    )
    base = snake(m.group(1)) if m else (next(iter(plan.entities), "backend"))
    entities = []
    for e in plan.entities.values():
        names = [f for f in (e.fields or DEFAULT_FIELDS.get(e.name, ["name"]))]
        names = [n if not word_problem(n) else f"{n}_value" for n in names]
        fk_names = {fk for fk, *_ in e.fks}
        fields: list[dict[str, Any]] = [{"name": "id", "type": "integer", "primary_key": True}]
        fields += [
            _field(n, e.name, e.enum_values)
            for n in dict.fromkeys(names)
            if n not in fk_names and n != "id"
        ]
        for fk, target, nullable, unique in e.fks:
            fields.append(
                {
                    "name": fk,
                    "type": "integer",
                    "references": f"{pascal(target)}.id",
                    "nullable": nullable,
                    "unique": unique,
                    "index": not unique,
                    "on_delete": "SET NULL" if nullable else "CASCADE",
                }
            )
        relations = [{**r, "target": pascal(r["target"])} for r in e.relations]
        entities.append(
            {
                "name": pascal(e.name),
                "fields": fields,
                "relations": relations,
                "timestamps": True,
                "soft_delete": e.name in ("user", "customer", "member", "post"),
            }
        )
    return {
        "flowwright_model": "1",
        "name": f"{base}_api",
        "description": request.strip()[:500],
        "entities": entities,
    }

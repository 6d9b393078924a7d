"""Rules planner: plain English → data models that validate, with the expected structure."""

from __future__ import annotations

import pytest

from app.backend.planner import plan_model
from app.backend.validator import validate_data

# (request, entity names, (entity, relation, kind, target) that must exist)
DOMAINS = [
    (
        "a blog where users write posts and readers comment on posts; posts have tags",
        {"User", "Post", "Comment", "Tag"},
        [
            ("Post", "user", "many_to_one", "User"),
            ("Comment", "reader", "many_to_one", "User"),
            ("Comment", "post", "many_to_one", "Post"),
            ("Post", "tags", "many_to_many", "Tag"),
        ],
    ),
    (
        "an online shop where customers place orders; orders have many order items; "
        "each order item belongs to a product; products belong to categories",
        {"Customer", "Order", "OrderItem", "Product", "Category"},
        [
            ("OrderItem", "order", "many_to_one", "Order"),
            ("OrderItem", "product", "many_to_one", "Product"),
            ("Category", "products", "one_to_many", "Product"),
        ],
    ),
    (
        "a library where members borrow books; books belong to authors; books have genres",
        {"Member", "Loan", "Book", "Author", "Genre"},
        [
            ("Loan", "member", "many_to_one", "Member"),
            ("Loan", "book", "many_to_one", "Book"),
            ("Book", "genres", "many_to_many", "Genre"),
        ],
    ),
    (
        "a school where students enroll in courses; teachers teach courses",
        {"Student", "Enrollment", "Course", "Teacher"},
        [
            ("Enrollment", "student", "many_to_one", "Student"),
            ("Course", "teacher", "many_to_one", "Teacher"),
        ],
    ),
    (
        "a clinic where patients book appointments with doctors; doctors belong to departments",
        {"Patient", "Appointment", "Doctor", "Department"},
        [
            ("Appointment", "patient", "many_to_one", "Patient"),
            ("Appointment", "doctor", "many_to_one", "Doctor"),
        ],
    ),
    (
        "a project tracker where projects have many tasks; users are assigned tasks; "
        "tasks can have several comments",
        {"Project", "Task", "User", "Comment"},
        [
            ("Task", "assignee", "many_to_one", "User"),
            ("Task", "comments", "one_to_many", "Comment"),
        ],
    ),
    (
        "an event ticketing app where venues host events and customers buy tickets for events",
        {"Venue", "Event", "Customer", "Ticket"},
        [("Event", "venue", "many_to_one", "Venue"), ("Ticket", "event", "many_to_one", "Event")],
    ),
    (
        "a hotel booking system where guests reserve rooms; hotels have many rooms",
        {"Guest", "Reservation", "Room", "Hotel"},
        [("Reservation", "room", "many_to_one", "Room"), ("Hotel", "rooms", "one_to_many", "Room")],
    ),
    (
        "a company directory: employees belong to departments; employees can have a parent employee",
        {"Employee", "Department"},
        [
            ("Employee", "parent", "many_to_one", "Employee"),
            ("Employee", "children", "one_to_many", "Employee"),
        ],
    ),
    (
        "a recipe site where users publish recipes (title, instructions, prep_minutes, is_vegan); "
        "recipes have ingredients; users review recipes",
        {"User", "Recipe", "Ingredient", "Review"},
        [
            ("Recipe", "ingredients", "many_to_many", "Ingredient"),
            ("Review", "recipe", "many_to_one", "Recipe"),
        ],
    ),
]


@pytest.mark.parametrize(
    ("request_text", "entities", "relations"), DOMAINS, ids=[d[0][:24] for d in DOMAINS]
)
def test_domain_plans_validate(request_text: str, entities: set[str], relations: list) -> None:
    data = plan_model(request_text)
    report = validate_data(data)
    assert report.ok, [(d.path, d.message) for d in report.diagnostics]
    assert {e.name for e in report.model.entities} == entities
    found = {
        (e.name, r.name, str(r.kind), r.target) for e in report.model.entities for r in e.relations
    }
    for rel in relations:
        assert rel in found


def test_types_are_inferred_from_names() -> None:
    data = plan_model(
        "a shop where products (name, price, stock, is_active, released_on, "
        "launched_at, website, metadata, status) belong to categories"
    )
    product = next(e for e in data["entities"] if e["name"] == "Product")
    types = {f["name"]: f["type"] for f in product["fields"]}
    assert types["price"] == "decimal" and types["stock"] == "integer"
    assert types["is_active"] == "boolean" and types["released_on"] == "date"
    assert types["launched_at"] == "datetime" and types["website"] == "string"
    assert types["status"] == "enum" and types["metadata_value"] == "json"
    assert validate_data(data).ok


def test_foreign_keys_closing_a_cycle_become_nullable() -> None:
    data = plan_model("teams have many players; players lead teams")
    report = validate_data(data)
    assert report.ok
    fks = {
        (e.name, f.name): f.is_nullable
        for e in report.model.entities
        for f in e.fields
        if f.references
    }
    assert fks[("Player", "team_id")] is False and fks[("Team", "player_id")] is True


def test_project_name_comes_from_the_request() -> None:
    assert plan_model("a blog where users write posts")["name"] == "blog_api"


def _shape(request_text: str) -> tuple[set[str], set[tuple[str, str, str, str]]]:
    report = validate_data(plan_model(request_text))
    assert report.ok, [(d.path, d.message) for d in report.diagnostics]
    entities = {e.name for e in report.model.entities}
    relations = {
        (e.name, r.name, str(r.kind), r.target) for e in report.model.entities for r in e.relations
    }
    return entities, relations


@pytest.mark.parametrize("sep", [", ", "; ", ". ", ", and "])
def test_clauses_separated_by_commas_semicolons_or_stops_plan_alike(sep: str) -> None:
    clauses = ["users write posts", "readers comment on posts", "posts have tags"]
    assert _shape(sep.join(clauses)) == _shape(". ".join(clauses))
    entities, relations = _shape(sep.join(clauses))
    assert entities == {"User", "Post", "Comment", "Tag"}
    assert ("Comment", "post", "many_to_one", "Post") in relations
    assert ("Post", "tags", "many_to_many", "Tag") in relations


@pytest.mark.parametrize(
    ("request_text", "entity", "fields"),
    [
        ("products with name, price, and stock, customers place orders", "Product",
         ["name", "price", "stock"]),
        ("products with name, price and stock; customers place orders", "Product",
         ["name", "price", "stock"]),
        ("books (title, isbn, published_on), members borrow books", "Book",
         ["title", "isbn", "published_on"]),
        ("patients with name, date of birth and phone, doctors see patients", "Patient",
         ["name", "date_of_birth", "phone"]),
    ],
)  # fmt: skip
def test_comma_lists_of_fields_stay_together(
    request_text: str, entity: str, fields: list[str]
) -> None:
    data = plan_model(request_text)
    found = next(e for e in data["entities"] if e["name"] == entity)
    names = [f["name"] for f in found["fields"]]
    assert names[1 : 1 + len(fields)] == fields
    assert validate_data(data).ok


def test_comma_lists_of_entities_stay_together() -> None:
    entities, relations = _shape("users have posts, comments and likes, posts have tags")
    assert entities == {"User", "Post", "Comment", "Like", "Tag"}
    assert ("Comment", "user", "many_to_one", "User") in relations
    assert ("Post", "tags", "many_to_many", "Tag") in relations

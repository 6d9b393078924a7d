"""Rules planner over untyped (name + description) catalogs: ID prerequisites, sequence words,
time questions, paths and clause context. Small synthetic catalogs, written here."""

from __future__ import annotations

import json
from pathlib import Path

from agents.planner import plan
from agents.planner.graph import ToolGraph
from agents.planner.literals import extract
from agents.planner.retrieval import index_for, named_mutation
from agents.planner.segment import only_states, segment
from app.tools.registry import Catalog, tools_from_taskbench
from app.workflow.spec import WorkflowSpec

WIDGETS = [
    {"id": "search_widget", "desc": "Search for widgets by name and return their IDs."},
    {"id": "widget_detail", "desc": "Get the details of a widget by its ID."},
    {"id": "widget_image", "desc": "Fetch the images of a widget using its ID."},
    {"id": "popular_widgets", "desc": "Retrieve a list of the currently popular widgets."},
]


def _catalog(tmp_path: Path, nodes: list[dict[str, str]]) -> Catalog:
    path = tmp_path / "tool_desc.json"
    path.write_text(json.dumps({"nodes": nodes}))
    return Catalog(tools_from_taskbench(path))


def _tools(spec: WorkflowSpec | None) -> list[str]:
    assert spec is not None
    return [s.tool for s in spec.steps]


def _links(spec: WorkflowSpec | None) -> set[tuple[str, str]]:
    assert spec is not None
    tool = {s.id: s.tool for s in spec.steps}
    return {(tool[d], s.tool) for s in spec.steps for d in s.depends_on}


def test_named_entity_is_searched_before_a_tool_that_needs_its_id(tmp_path) -> None:
    cat = _catalog(tmp_path, WIDGETS)
    result = plan("Show details of the widget Foo", cat)
    assert _tools(result.spec) == ["search_widget", "widget_detail"]
    assert _links(result.spec) == {("search_widget", "widget_detail")}


def test_an_identifier_the_request_gives_needs_no_search(tmp_path) -> None:
    cat = _catalog(tmp_path, WIDGETS)
    for request in ("Show details of the widget Foo, ID 4711", "Show details of widget WX2041"):
        assert _tools(plan(request, cat).spec) == ["widget_detail"]


def test_a_step_fed_by_an_earlier_step_needs_no_search(tmp_path) -> None:
    """The ID comes from the step before (a list of widgets), not from a search."""
    cat = _catalog(tmp_path, WIDGETS)
    graph = ToolGraph.from_links(
        [
            ("popular_widgets", "widget_image"),
            ("search_widget", "widget_image"),
            ("search_widget", "widget_detail"),
        ]
    )
    result = plan(
        "Get the currently popular widgets, then fetch the images of the first.", cat, graph
    )
    assert _tools(result.spec) == ["popular_widgets", "widget_image"]
    assert _links(result.spec) == {("popular_widgets", "widget_image")}


def test_sequence_word_after_a_quote_starts_a_new_step() -> None:
    text = "Write the text 'Hello, how are you?' Next, change it to 'Hi' Finally, delete it."
    clauses = [c.text for c in segment(text, extract(text))]
    assert clauses == ["Write the text 'Hello, how are you?'", "change it to 'Hi'", "delete it"]


def test_when_question_is_not_a_condition() -> None:
    text = "When is the widget Foo released?"
    (clause,) = segment(text, extract(text))
    assert not clause.condition
    gate = "When the widget is released, notify me."
    assert segment(gate, extract(gate))[0].condition


def test_absolute_path_is_one_file_literal() -> None:
    text = "Update the file /home/user/docs/report.doc and then delete it."
    files = [x.value for x in extract(text) if x.kind == "file"]
    assert files == ["/home/user/docs/report.doc"]
    assert len(segment(text, extract(text))) == 2


def test_clause_borrows_the_object_of_the_previous_clause(tmp_path) -> None:
    """`book a ticket` after a flight search leans to booking a flight ticket."""
    from agents.planner.rules import _Planner

    nodes = [
        {"id": "flight_search", "desc": "Search for flights between two cities"},
        {"id": "book_flight", "desc": "Book a ticket for a flight"},
        {"id": "book_ticket", "desc": "Book a ticket for a concert"},
    ]
    planner = _Planner("Search for flights to Rome, and book a ticket.", _catalog(tmp_path, nodes))
    first, second = planner.clauses
    alone = dict(planner._in_context("book a ticket", {}, None))
    after = dict(planner._in_context("book a ticket", {}, first))
    assert second.text == "book a ticket"
    gap_alone = alone["book_ticket"] - alone["book_flight"]
    assert after["book_ticket"] - after["book_flight"] < gap_alone - 0.05


def test_abbreviation_dots_do_not_end_a_sentence(tmp_path: Path) -> None:
    text = "Cancel my 7 a.m. alarm and set a new one for 8 a.m. Then call Ada."
    clauses = [c.text for c in segment(text, extract(text))]
    assert clauses == ["Cancel my 7 a.m. alarm", "set a new one for 8 a.m", "call Ada"]
    catalog = _catalog(tmp_path, [
        {"id": "alarm_cancel", "desc": "Cancel an alarm that is set."},
        {"id": "alarm_set", "desc": "Set a new alarm for a time."},
        {"id": "send_sms", "desc": "Send a text message to a phone number."},
    ])  # fmt: skip
    result = plan("Cancel my 7 a.m. alarm and set a new one for 8 a.m.", catalog)
    assert _tools(result.spec) == ["alarm_cancel", "alarm_set"]


def test_using_something_to_do_a_thing_is_a_clause_of_its_own(tmp_path: Path) -> None:
    """A request to "use my savings card to make a repayment" asks for the repayment."""
    catalog = _catalog(tmp_path, [
        {"id": "card_debt", "desc": "Look up the debt of a credit card."},
        {"id": "card_repayment", "desc": "Repay the debt of a credit card."},
    ])  # fmt: skip
    text = "Check the debt of my credit card 1234, and use my savings card 5678 to make a repayment"
    assert len(segment(text, extract(text))) == 2
    assert _tools(plan(text, catalog).spec) == ["card_debt", "card_repayment"]


def test_repaying_a_debt_asks_for_a_repayment_tool(tmp_path: Path) -> None:
    """To repay is the verb of a repayment (and a kind of paying)."""
    catalog = _catalog(tmp_path, [
        {"id": "loan_debt", "desc": "Loan debt inquiry"},
        {"id": "loan_repayment", "desc": "Loan repayment"},
        {"id": "savings_balance_query", "desc": "Query the balance of a savings account"},
        {"id": "weather_query", "desc": "Weather forecast query"},
    ])  # fmt: skip
    graph = ToolGraph.from_links([("loan_debt", "loan_repayment")])
    result = plan("Check the debt of my loan, then repay the debt", catalog, graph)
    assert _tools(result.spec) == ["loan_debt", "loan_repayment"]


def test_a_clause_that_asks_to_create_does_not_pick_a_tool_that_checks(tmp_path: Path) -> None:
    catalog = _catalog(tmp_path, [
        {"id": "verify_file_content", "desc": "Verify if the content of a file matches"},
        {"id": "file_write", "desc": "Used to write content to a specified file."},
        {"id": "file_modify", "desc": "Used to modify the content of an existing file."},
        {"id": "weather_query", "desc": "Weather forecast query"},
        {"id": "get_news_for_topic", "desc": "Get the latest news on a topic."},
    ])  # fmt: skip
    text = "I need to create a new configuration file on the server, the content is a string"
    assert _tools(plan(text, catalog).spec) == ["file_write"]
    # "news" (stem `new`) names no creation: a request that creates nothing may still get it.
    assert named_mutation("get_news_for_topic") is None
    assert _tools(plan("Get me the latest news about cars", catalog).spec) == ["get_news_for_topic"]


def test_appending_to_a_file_modifies_it(tmp_path: Path) -> None:
    catalog = _catalog(tmp_path, [
        {"id": "file_write", "desc": "Used to write content to a specified file."},
        {"id": "file_modify", "desc": "Used to modify the content of an existing file."},
        {"id": "weather_query", "desc": "Weather forecast query"},
    ])  # fmt: skip
    graph = ToolGraph.from_links([("file_write", "file_modify")])
    text = "Write 'Agenda' to the file notes.txt, then append 'Budget' to the file content"
    assert _tools(plan(text, catalog, graph).spec) == ["file_write", "file_modify"]


PARCELS = [
    {"id": "book_courier", "desc": "Courier booking tool"},
    {
        "id": "courier_ticket_changing",
        "desc": "Courier Ticket Booking Modification or Rescheduling Tool",
    },
    {"id": "courier_ticket_cancelling", "desc": "Courier Ticket Booking Cancellation Tool"},
    {"id": "weather_query", "desc": "Weather forecast query tool"},
    {"id": "send_email", "desc": "Send an email to a recipient"},
    {"id": "file_write", "desc": "Write content to a file"},
    {"id": "hotel_search", "desc": "Hotel search tool"},
    {"id": "train_ticket_query", "desc": "Train ticket query tool"},
]


def test_a_tool_named_for_another_change_is_not_chosen(tmp_path) -> None:
    """A description may mention the booking it modifies; the tool's name says what it does."""
    cat = _catalog(tmp_path, PARCELS)
    booked = plan("I need to book a courier ticket for tomorrow at 9 am.", cat)
    assert _tools(booked.spec) == ["book_courier"]
    for verb in ("reschedule", "adjust", "amend"):
        changed = plan(f"Please {verb} my courier ticket to Friday.", cat)
        assert _tools(changed.spec) == ["courier_ticket_changing"], verb


def test_a_clause_that_only_looks_up_does_not_pick_a_tool_named_for_a_change(tmp_path) -> None:
    """A request to check courier tickets shares every noun with `courier_ticket_cancelling`;
    its verb asks to look, so the lookup tool wins."""
    cat = _catalog(
        tmp_path, [*PARCELS, {"id": "courier_ticket_query", "desc": "Courier ticket query tool"}]
    )
    result = plan("Please check the courier tickets I have for tomorrow", cat)
    assert _tools(result.spec) == ["courier_ticket_query"]
    # "booking" is a noun here: the clause asks to see a booking, not to book.
    shown = plan("Show me the details of my courier ticket booking", cat)
    assert _tools(shown.spec) == ["courier_ticket_query"]


def test_a_clause_that_asks_for_no_change_does_not_pick_a_tool_named_for_one(tmp_path) -> None:
    """Logging in with a password is not changing it, though "password" names that tool."""
    cat = _catalog(
        tmp_path,
        [
            {"id": "account_login", "desc": "Log in to an online account"},
            {"id": "change_password", "desc": "Change the password of an account"},
            {"id": "account_balance_query", "desc": "Query the balance of an account"},
        ],
    )
    result = plan("Please log into my account with ID 123456 and password abc123", cat)
    assert _tools(result.spec) == ["account_login"]


def test_a_tool_named_by_the_noun_of_a_change_is_named_for_that_change(tmp_path) -> None:
    """`cabin_booking_modification` modifies: it is not a booking tool that changing avoids."""
    cabins = [
        {"id": "cabin_booking", "desc": "Cabin booking tool"},
        {"id": "cabin_booking_modification", "desc": "Cabin booking modification tool"},
        {"id": "cabin_booking_cancellation", "desc": "Cabin booking cancellation tool"},
    ]
    cat = _catalog(tmp_path, cabins)
    changed = plan("Change my cabin booking to two nights", cat)
    assert _tools(changed.spec) == ["cabin_booking_modification"]
    assert _tools(plan("Book a cabin for Friday", cat).spec) == ["cabin_booking"]


def test_renting_or_hiring_asks_for_a_booking(tmp_path) -> None:
    cars = [
        {"id": "car_rental_booking", "desc": "Car rental booking tool"},
        {"id": "car_rental_cancelling", "desc": "Cancel a car rental booking"},
        {"id": "car_rental_changing", "desc": "Change a car rental booking"},
    ]
    result = plan("Hire a car for me in Berlin for Friday", _catalog(tmp_path, cars))
    assert _tools(result.spec) == ["car_rental_booking"]


def test_a_clause_that_only_asks_for_a_change_does_not_pick_a_lookup_tool(tmp_path) -> None:
    """Booking a courier ticket shares every noun with the tool that queries bookings."""
    query = {
        "id": "courier_ticket_booking_query",
        "desc": "Query the courier ticket bookings you made",
    }
    cat = _catalog(tmp_path, [*PARCELS, query])
    result = plan("Please book a courier ticket for tomorrow", cat)
    assert _tools(result.spec) == ["book_courier"]


def test_a_clause_that_mentions_a_step_again_adds_no_other_step(tmp_path) -> None:
    """Both clauses cancel an alarm: the second adds no `alarm_set`, a fair match on its own
    words ("alarm clock") but far below the clause's best tool, which is already a step."""
    nodes = [
        {"id": "alarm_change", "desc": "Change the time or frequency of an alarm clock."},
        {"id": "alarm_set", "desc": "Set a new alarm clock."},
        {"id": "alarm_cancel", "desc": "Cancel an alarm clock."},
        {"id": "weather_query", "desc": "Weather forecast query tool"},
    ]
    cat = _catalog(tmp_path, nodes)
    alarms = [n["id"] for n in nodes[:3]]
    graph = ToolGraph.from_links([(a, b) for a in alarms for b in alarms if a != b])
    request = "Cancel my alarm clock for 8:00 AM today, and also cancel the alarm clock for Sunday."
    assert _tools(plan(request, cat, graph).spec) == ["alarm_cancel"]


def test_a_clause_that_only_states_a_fact_gets_no_step(tmp_path) -> None:
    """A clause such as "I booked flight CA123 last week" says what was done: no booking."""
    nodes = [
        {"id": "flight_ticket_changing", "desc": "Change a flight ticket to another date."},
        {"id": "book_flight", "desc": "Flight booking tool"},
        {"id": "flight_search", "desc": "Flight search tool"},
    ]
    graph = ToolGraph.from_links(
        [
            ("flight_search", "book_flight"),
            ("flight_search", "flight_ticket_changing"),
            ("book_flight", "flight_ticket_changing"),
        ]
    )
    result = plan(
        "I booked flight ticket CA123 last week, and the booking is for Li Si. "
        "Please change the flight ticket to July 8th.",
        _catalog(tmp_path, nodes),
        graph,
    )
    assert _tools(result.spec) == ["flight_search", "flight_ticket_changing"]
    assert any("states a fact" in note for note in result.notes)
    # The fact is still what the next clause is read after: "it" is the hotel room.
    hotels = [
        {"id": "hotel_booking_modification", "desc": "Modify a hotel booking"},
        {"id": "flight_ticket_changing", "desc": "Change a flight ticket"},
        {"id": "clock_alarm_change", "desc": "Change the time of an alarm clock"},
        {"id": "hotel_booking_query", "desc": "Query a hotel booking"},
    ]
    changed = plan(
        "I booked a hotel room last week. Please change it to Friday.",
        _catalog(tmp_path, hotels),
        ToolGraph.from_links([("hotel_booking_query", "hotel_booking_modification")]),
    )
    assert _tools(changed.spec) == ["hotel_booking_query", "hotel_booking_modification"]
    assert only_states("The original appointment has been cancelled")
    # Asking words keep a clause an action, even without an imperative verb.
    assert not only_states("I need a flight ticket to Paris")
    assert not only_states("Can you tell me what is playing")
    assert not only_states("opening hours of the park, which is open on Monday")


def test_the_implied_lookup_searches_before_a_booking_and_queries_before_a_change(
    tmp_path,
) -> None:
    """One searches for what is about to be booked, queries what one holds before changing it,
    and needs nothing looked up to cancel it: the request names what it cancels."""
    nodes = [
        {"id": "search_barge", "desc": "Search for barge trips by route and date."},
        {"id": "barge_ticket_query", "desc": "Query a barge ticket."},
        {"id": "barge_ticket_booking", "desc": "Book a barge ticket."},
        {"id": "barge_ticket_changing", "desc": "Change a barge ticket."},
        {"id": "barge_ticket_cancelling", "desc": "Cancel a barge ticket."},
    ]
    lookups, actions = [n["id"] for n in nodes[:2]], [n["id"] for n in nodes[2:]]
    graph = ToolGraph.from_links(
        [(a, b) for a in lookups for b in actions]
        + [("barge_ticket_cancelling", b) for b in ("search_barge", "barge_ticket_booking")]
    )
    cat = _catalog(tmp_path, nodes)
    booked = plan("Book me a barge ticket from Ulm to Passau on Friday.", cat, graph)
    assert _tools(booked.spec) == ["search_barge", "barge_ticket_booking"]
    changed = plan("Change my barge ticket to Saturday.", cat, graph)
    assert _tools(changed.spec) == ["barge_ticket_query", "barge_ticket_changing"]
    cancelled = plan("Cancel my barge ticket for Friday.", cat, graph)
    assert _tools(cancelled.spec) == ["barge_ticket_cancelling"]
    rebooked = plan(
        "Cancel my barge ticket for Friday and book a new barge ticket for Saturday.", cat, graph
    )
    assert _tools(rebooked.spec) == ["barge_ticket_cancelling", "barge_ticket_booking"]


def test_only_what_is_searched_for_is_looked_up_before_a_tool_that_changes_nothing(
    tmp_path,
) -> None:
    """A cabin is found by a search before its details; one's own repair request (an entity
    with a query of its state) is named by the request, so nothing is looked up before it."""
    nodes = [
        {"id": "search_cabin", "desc": "Search for cabins by region."},
        {"id": "cabin_details", "desc": "Cabin details tool."},
        {"id": "search_repair_provider", "desc": "Search for repair providers."},
        {"id": "boat_repair_status_query", "desc": "Query the status of a boat repair."},
        {"id": "boat_repair_request", "desc": "Request a boat repair at an address."},
    ]
    links = [
        ("search_cabin", "cabin_details"),
        ("search_repair_provider", "boat_repair_request"),
        ("boat_repair_status_query", "boat_repair_request"),
    ]
    graph = ToolGraph.from_links(links)
    cat = _catalog(tmp_path, nodes)
    cabin = plan("Show me the cabin details for the lake region.", cat, graph)
    assert _tools(cabin.spec) == ["search_cabin", "cabin_details"]
    repair = plan("Request a boat repair at 5 Harbour Road tomorrow.", cat, graph)
    assert _tools(repair.spec) == ["boat_repair_request"]
    # Also when the request queries that state later: no provider is searched for first.
    graph = ToolGraph.from_links([*links, ("boat_repair_request", "boat_repair_status_query")])
    repair = plan(
        "Request a boat repair at 5 Harbour Road tomorrow, then query the boat repair status.",
        cat,
        graph,
    )
    assert _tools(repair.spec) == ["boat_repair_request", "boat_repair_status_query"]


def test_a_word_that_starts_a_tool_name_is_a_verb_only_if_no_name_uses_it_as_a_thing(
    tmp_path,
) -> None:
    """`flight_search` starts with "flight", but `book_flight` shows it is a thing: ", flight
    number CA984" continues the clause; `dedupe_rows` still makes "dedupe" a verb."""
    nodes = [
        {"id": "flight_search", "desc": "Flight search tool"},
        {"id": "book_flight", "desc": "Flight booking tool"},
        {"id": "dedupe_rows", "desc": "Remove duplicate rows"},
    ]
    verbs = index_for(_catalog(tmp_path, nodes)).verbs
    assert {"book", "dedup"} <= verbs
    assert "flight" not in verbs
    text = "Please change my ticket for June 5, flight number CA984, to June 7"
    assert [c.text for c in segment(text, extract(text), verbs)] == [text]


def test_one_item_of_a_list_gets_the_step_the_request_asks_of_it(tmp_path) -> None:
    """Asking for "the images of the most popular widget" lists the popular widgets, then
    fetches one's images; asking for the widgets themselves (plural) is the list alone."""
    cat = _catalog(tmp_path, WIDGETS)
    graph = ToolGraph.from_links(
        [
            ("popular_widgets", "widget_image"),
            ("popular_widgets", "widget_detail"),
            ("search_widget", "widget_image"),
            ("search_widget", "widget_detail"),
        ]
    )
    for request in (
        "Give me the images of the most popular widget",  # the list tool, then its follower
        "Fetch the images of the most popular widget",  # the image tool, fed by the list
    ):
        one = plan(request, cat, graph)
        assert _tools(one.spec) == ["popular_widgets", "widget_image"], request
        assert _links(one.spec) == {("popular_widgets", "widget_image")}, request
    listed = plan("Which widgets are currently popular?", cat, graph)
    assert _tools(listed.spec) == ["popular_widgets"]
    # A named widget is searched for, not taken from the list ("show" is no word of the
    # list tool's own, only a synonym of "list").
    named = plan("Show details of the widget Foo", cat, graph)
    assert _tools(named.spec) == ["search_widget", "widget_detail"]


def test_a_name_given_with_its_kind_is_searched_as_that_kind(tmp_path) -> None:
    """The name in "a widget from the crate Blue Box" is a crate's: the crate is searched,
    then its details (the graph step it feeds) lead to the widget's images."""
    crates = [
        {"id": "search_crate", "desc": "Search for crates by name and return their IDs."},
        {"id": "crate_detail", "desc": "Get the details of a crate, with its widgets, by ID."},
    ]
    cat = _catalog(tmp_path, WIDGETS + crates)
    graph = ToolGraph.from_links(
        [
            ("search_crate", "crate_detail"),
            ("crate_detail", "widget_detail"),
            ("search_widget", "widget_image"),
            ("search_widget", "widget_detail"),
        ]
    )
    result = plan("Fetch the images of a widget from the crate Blue Box", cat, graph)
    assert _tools(result.spec) == ["search_crate", "crate_detail", "widget_image"]
    plain = plan("Fetch the images of the widget Blue Box", cat, graph)
    assert _tools(plain.spec) == ["search_widget", "widget_image"]


def test_a_named_kind_picks_the_tool_its_search_can_feed(tmp_path) -> None:
    """The maker "of the widget Blue Box" is in that widget's credits: the widget search
    feeds `widget_credits`, not a maker's credits (which need a maker's ID)."""
    nodes = [
        {"id": "search_widget", "desc": "Search for widgets by name and return their IDs."},
        {"id": "search_maker", "desc": "Search for makers by name and return their IDs."},
        {"id": "widget_credits", "desc": "Retrieve the makers and designers of a widget by ID."},
        {"id": "maker_widget_credits", "desc": "Retrieve the widget credits for a maker."},
    ]
    cat = _catalog(tmp_path, nodes)
    graph = ToolGraph.from_links(
        [
            ("search_widget", "widget_credits"),
            ("search_maker", "maker_widget_credits"),
            ("widget_credits", "maker_widget_credits"),
        ]
    )
    result = plan("Who is the maker of the widget Blue Box?", cat, graph)
    assert _tools(result.spec) == ["search_widget", "widget_credits"]


def test_a_person_named_as_agent_or_owner_is_searched_first(tmp_path) -> None:
    """Both "designed by Ada Lovelace" and "Ada Lovelace's" name a person: people are
    searched, then the person's credits (not a second search) feed the widget step."""
    nodes = [
        *WIDGETS,
        {"id": "search_people", "desc": "Search for people by name and return their IDs."},
        {"id": "person_widget_credits", "desc": "Retrieve the widgets a person designed."},
    ]
    cat = _catalog(tmp_path, nodes)
    graph = ToolGraph.from_links(
        [
            ("search_people", "person_widget_credits"),
            ("search_people", "search_widget"),
            ("person_widget_credits", "widget_image"),
            ("search_widget", "widget_image"),
        ]
    )
    for request in (
        "Fetch the images of the widgets designed by Ada Lovelace",
        "Fetch the images of Ada Lovelace's latest widget",
    ):
        result = plan(request, cat, graph)
        assert _tools(result.spec) == ["search_people", "person_widget_credits", "widget_image"]
        assert _links(result.spec) == {
            ("search_people", "person_widget_credits"),
            ("person_widget_credits", "widget_image"),
        }, request
    named = plan("Fetch the images of the widget Blue Box", cat, graph)
    assert _tools(named.spec) == ["search_widget", "widget_image"]

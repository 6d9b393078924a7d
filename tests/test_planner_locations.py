"""Parameters that say where data is (file paths, URLs) are bound only to paths and URLs.

A fetched page's text is a string, and so is a file path; binding one to the other makes a plan
that validates and then fails at run time. These tests pin the rule on the built-in catalog.
"""

from __future__ import annotations

from agents.planner import plan
from agents.planner.flow import Draft, bind_from, location_kind
from app.tools.registry import Catalog


def _draft(catalog: Catalog, tool: str, step_id: str | None = None) -> Draft:
    return Draft(step_id or tool, catalog.info(tool), 0)


def test_location_kinds_come_from_names() -> None:
    assert location_kind("path") == location_kind("file_path") == "file"
    assert location_kind("extract_urls") == location_kind("webhookUrl") == "url"
    assert location_kind("text") is None and location_kind("technologies") is None


def test_a_path_takes_a_written_path_never_fetched_text() -> None:
    catalog = Catalog.builtin()
    schema = catalog.info("read_json").params["path"]
    reader = _draft(catalog, "read_json")
    assert not bind_from(reader, "path", schema, [_draft(catalog, "fetch_page")])
    assert "path" not in reader.params
    written = _draft(catalog, "write_file", "save")
    assert bind_from(reader, "path", schema, [written])
    assert reader.params["path"] == "{{ steps.save.output.path }}"


def test_a_url_takes_each_extracted_url_but_not_a_list_of_names() -> None:
    catalog = Catalog.builtin()
    schema = catalog.info("fetch_page").params["url"]
    fetch = _draft(catalog, "fetch_page")
    assert not bind_from(fetch, "url", schema, [_draft(catalog, "detect_tech_stack", "stack")])
    assert bind_from(fetch, "url", schema, [_draft(catalog, "extract_urls", "urls")])
    assert fetch.for_each == "{{ steps.urls.output }}" and fetch.params["url"] == "{{ item }}"


def test_json_from_a_url_is_requested_not_read_from_a_file() -> None:
    result = plan(
        "Get the JSON from https://api.example.com/users and pull out each user's email "
        "with the JMESPath expression [].email.",
        Catalog.builtin(),
    )
    assert result.spec is not None, result.error
    steps = result.spec.steps
    assert [s.tool for s in steps] == ["http_request", "json_query"]
    assert steps[0].params == {"url": "https://api.example.com/users"}
    assert steps[1].params["data"] == "{{ steps.http_request.output }}"
    assert steps[1].params["expression"] == "[].email"
    assert not result.spec.inputs  # nothing left for the user to supply

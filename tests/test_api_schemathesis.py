"""Property-based API tests: schemathesis drives every operation of /openapi.json against a
live server (authenticated) and checks for 5xx and responses that break the documented schema."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance

from app.services import auth as svc
from tests.api_server import PASSWORD, Server, bearer, login, running_server

pytestmark = pytest.mark.slow
MODES = (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE)
# Bodies these operations take are checked by the workflow validator (or against the stored
# workflow's declared inputs), which no JSON Schema can express: a schema-valid but semantically
# invalid spec is rightly a 422 problem with diagnostics, not a schema violation.
SEMANTIC_422 = {
    "POST /api/v1/workflows",
    "PUT /api/v1/workflows/{workflow_id}",
    "POST /api/v1/workflows/{workflow_id}/runs",
}


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, dict[str, str]]]:
    limits = "100000/minute"
    home = tmp_path_factory.mktemp("schemathesis")
    with running_server(
        home,
        FLOWWRIGHT_RATE_LIMIT_ANONYMOUS=limits,
        FLOWWRIGHT_RATE_LIMIT_AUTHENTICATED=limits,
        FLOWWRIGHT_RATE_LIMIT_VALIDATION=limits,
        FLOWWRIGHT_RATE_LIMIT_GENERATION=limits,
        FLOWWRIGHT_WORKSPACE=str(home / "workspace"),  # fuzzed `execute: true` jobs write here
    ) as server:
        svc.create_user(server.database_url, "fuzz", PASSWORD, admin=True)
        with httpx.Client(base_url=server.url, timeout=30) as client:
            headers = bearer(login(client, "fuzz")["access_token"])
        yield server, headers


def test_api_conforms_to_its_schema(live: tuple[Server, dict[str, str]]) -> None:
    """Every operation, 20 positive and 20 negative cases each, all default checks (5xx, status codes, content
    types, response schemas, negative-data rejection...).

    Driven through schemathesis' strategies rather than `schemathesis.pytest.from_fixture`,
    whose lazy loader reads `Function._nodeid`, which pytest 9 no longer has."""
    server, headers = live
    schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json")
    labels, failures = [], []
    statuses: list[int] = []
    for result, mode in itertools.product(list(schema.get_all_operations()), MODES):
        operation = result.ok()
        labels.append(f"{mode} {operation.label}")
        semantic = operation.label in SEMANTIC_422

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=20,
            deadline=None,
            derandomize=True,  # the same cases on every CI run; vary by editing max_examples
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case: schemathesis.Case) -> None:
            # A YAML/plain-text body is text: whatever schemathesis serialises into it is a valid
            # string, so "negative" text bodies are not negative. JSON bodies keep the check.
            text_body = (case.media_type or "").startswith(("text/", "application/yaml"))
            excluded = [negative_data_rejection] if text_body else []
            if semantic:  # noqa: B023 - check() runs inside this iteration
                excluded.append(positive_data_acceptance)
            response = case.call_and_validate(headers=headers, excluded_checks=excluded)
            statuses.append(response.status_code)
            if semantic and response.status_code == 422:  # noqa: B023
                problem = response.json()
                content_type = response.headers["content-type"]  # schemathesis: a list of values
                assert str(content_type[0] if isinstance(content_type, list) else content_type
                           ).startswith("application/problem+json")  # fmt: skip
                assert problem.get("code"), problem

        try:
            check()
        except Unsatisfiable:
            assert mode is schemathesis.GenerationMode.NEGATIVE  # nothing to violate (no params)
        except Exception as exc:  # collect all operations' failures, then report them together
            failures.append(f"{mode} {operation.label}: {exc}")
    assert len(labels) >= 2 * 8, labels
    assert not failures, "\n\n".join(failures)
    assert len(statuses) >= 5 * len(labels), len(statuses)
    assert {200, 422} <= set(statuses), sorted(set(statuses))  # positive and negative cases ran

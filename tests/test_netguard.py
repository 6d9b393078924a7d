"""The SSRF guard: refusals happen before any connection, every redirect hop is re-checked,
the checked address is the one connected to, bodies are capped, 5xx/429 are transient."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from app.config import get_settings
from app.errors import SecurityError, ToolError, TransientToolError
from app.tools import netguard
from app.tools.netguard import allow_exact_address, blocked_reason, guarded_request


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """Default settings (private networks refused) and a fresh shared client."""
    for name in ("ALLOW_PRIVATE_NETWORKS", "HTTP_MAX_BYTES", "HTTP_TIMEOUT_S"):
        monkeypatch.delenv(f"FLOWWRIGHT_{name}", raising=False)
    get_settings.cache_clear()
    netguard.reset_client()
    yield monkeypatch
    netguard.reset_client()
    get_settings.cache_clear()


@pytest.fixture
def connects(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """Every TCP connection the process opens, recorded (and still made)."""
    seen: list[tuple[str, int]] = []
    real = socket.create_connection

    def record(address, *args, **kwargs):  # type: ignore[no-untyped-def]
        seen.append((address[0], address[1]))
        return real(address, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", record)
    return seen


@pytest.fixture(scope="module")
def server() -> Iterator[HTTPServer]:
    srv = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    srv.start()
    yield srv
    srv.clear()
    srv.stop()


@pytest.fixture
def local(server: HTTPServer, env: pytest.MonkeyPatch) -> Iterator[HTTPServer]:
    """The test server, allowed by its exact address only (the setting stays off)."""
    server.clear()
    with allow_exact_address("127.0.0.1", server.port):
        yield server
    server.clear()


REFUSED = [
    "http://127.0.0.1/",
    "http://localhost/",
    "http://169.254.169.254/latest/meta-data",
    "http://10.0.0.1/",
    "http://192.168.1.1/",
    "http://172.16.0.1/",
    "http://100.64.0.1/",
    "http://[::1]/",
    "http://[fe80::1]/",
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:169.254.169.254]/",
    "http://0.0.0.0/",
    "http://224.0.0.1/",
    "http://2130706433/",
    "http://0177.0.0.1/",
    "http://0x7f.1/",
    "http://127.1/",
    "https://127.0.0.1:8443/admin",
    "ftp://example.com/file",
    "file:///etc/passwd",
    "http://user:pass@example.com/",
]


@pytest.mark.parametrize("url", REFUSED)
def test_private_and_tricky_targets_are_refused_before_connecting(
    env: pytest.MonkeyPatch, connects: list[tuple[str, int]], url: str
) -> None:
    with pytest.raises(SecurityError) as info:
        guarded_request("GET", url, timeout_s=1)
    assert info.value.code == "SECURITY"
    assert info.value.hint
    assert connects == []


def test_refusal_hint_names_the_operator_setting(env: pytest.MonkeyPatch) -> None:
    with pytest.raises(SecurityError) as info:
        guarded_request("GET", "http://169.254.169.254/latest/meta-data")
    assert "FLOWWRIGHT_ALLOW_PRIVATE_NETWORKS" in (info.value.hint or "")
    assert "link-local" in info.value.message


@pytest.mark.parametrize(
    "answers", [["127.0.0.1"], ["93.184.216.34", "10.1.2.3"], ["::1"], ["::ffff:10.0.0.1"]]
)
def test_hostname_resolving_to_a_private_address_is_refused_before_connecting(
    env: pytest.MonkeyPatch, connects: list[tuple[str, int]], answers: list[str]
) -> None:
    env.setattr(netguard, "_resolve", lambda host, port: answers)
    with pytest.raises(SecurityError, match=r"rebind\.example\.com"):
        guarded_request("GET", "http://rebind.example.com/")
    assert connects == []


def test_connects_to_exactly_the_address_it_checked_and_keeps_the_host_header(
    local: HTTPServer, connects: list[tuple[str, int]], env: pytest.MonkeyPatch
) -> None:
    """One lookup per connection, and the socket goes to that lookup's answer (no TOCTOU)."""
    lookups: list[str] = []

    def resolve(host: str, port: int) -> list[str]:
        lookups.append(host)
        return ["127.0.0.1"]

    env.setattr(netguard, "_resolve", resolve)
    local.expect_request(
        "/hello", headers={"Host": f"public.example.com:{local.port}"}
    ).respond_with_data("hi")
    response = guarded_request("GET", f"http://public.example.com:{local.port}/hello")
    assert response.text == "hi"
    assert lookups == ["public.example.com"]
    assert connects == [("127.0.0.1", local.port)]


def test_rebinding_after_a_first_good_answer_is_caught_on_the_next_connection(
    local: HTTPServer, connects: list[tuple[str, int]], env: pytest.MonkeyPatch
) -> None:
    answers = iter([["127.0.0.1"], ["169.254.169.254"]])
    env.setattr(netguard, "_resolve", lambda host, port: next(answers))
    local.expect_request("/x").respond_with_data("ok")
    url = f"http://flip.example.com:{local.port}/x"
    assert guarded_request("GET", url).status_code == 200
    netguard.reset_client()  # drop pooled connections: the next request must connect again
    with pytest.raises(SecurityError, match=r"169\.254\.169\.254"):
        guarded_request("GET", url)
    assert connects == [("127.0.0.1", local.port)]


def test_redirect_to_metadata_service_is_refused(
    local: HTTPServer, connects: list[tuple[str, int]]
) -> None:
    local.expect_request("/go").respond_with_data(
        "", status=302, headers={"Location": "http://169.254.169.254/latest/meta-data"}
    )
    with pytest.raises(SecurityError, match=r"169\.254\.169\.254"):
        guarded_request("GET", f"http://127.0.0.1:{local.port}/go")
    assert {address for address in connects} == {("127.0.0.1", local.port)}


def test_redirect_hops_are_followed_and_post_becomes_get_on_303(local: HTTPServer) -> None:
    base = f"http://127.0.0.1:{local.port}"
    local.expect_request("/a", method="POST").respond_with_data(
        "", status=303, headers={"Location": "/b"}
    )
    local.expect_request("/b", method="GET").respond_with_data(
        "", status=307, headers={"Location": f"{base}/c?x=1"}
    )
    local.expect_request("/c", method="GET", query_string="x=1").respond_with_data("done")
    response = guarded_request("POST", f"{base}/a", json={"k": 1})
    assert (response.status_code, response.text, str(response.url)) == (
        200,
        "done",
        f"{base}/c?x=1",
    )
    local.check_assertions()


def test_cross_origin_redirect_drops_credentials(local: HTTPServer) -> None:
    other = HTTPServer(host="127.0.0.1", port=0)
    other.start()
    try:
        seen: list[dict[str, str]] = []

        def record(request: Request) -> Response:
            seen.append(dict(request.headers))
            return Response("other")

        other.expect_request("/land").respond_with_handler(record)
        local.expect_request("/hop").respond_with_data(
            "", status=302, headers={"Location": f"http://127.0.0.1:{other.port}/land"}
        )
        with allow_exact_address("127.0.0.1", other.port):
            response = guarded_request(
                "GET", f"http://127.0.0.1:{local.port}/hop", headers={"Authorization": "secret"}
            )
        assert response.text == "other"
        assert "Authorization" not in seen[0]
    finally:
        other.clear()
        other.stop()


def test_too_many_redirects(local: HTTPServer) -> None:
    local.expect_request("/loop").respond_with_data("", status=302, headers={"Location": "/loop"})
    with pytest.raises(ToolError) as info:
        guarded_request("GET", f"http://127.0.0.1:{local.port}/loop")
    assert info.value.code == "TOO_MANY_REDIRECTS"
    assert len(local.log) == netguard.MAX_REDIRECTS + 1


def test_allowing_one_address_does_not_allow_its_neighbours(
    local: HTTPServer, connects: list[tuple[str, int]]
) -> None:
    with pytest.raises(SecurityError):
        guarded_request("GET", f"http://127.0.0.1:{local.port + 1}/")
    with pytest.raises(SecurityError):
        guarded_request("GET", f"http://127.0.0.2:{local.port}/")
    assert connects == []


def test_operator_setting_allows_private_targets(
    server: HTTPServer, env: pytest.MonkeyPatch
) -> None:
    server.clear()
    env.setenv("FLOWWRIGHT_ALLOW_PRIVATE_NETWORKS", "1")
    get_settings.cache_clear()
    server.expect_request("/p").respond_with_data("private ok")
    assert guarded_request("GET", server.url_for("/p")).text == "private ok"


@pytest.mark.parametrize("chunked", [False, True])
def test_body_over_the_cap_is_refused(
    local: HTTPServer, env: pytest.MonkeyPatch, chunked: bool
) -> None:
    env.setenv("FLOWWRIGHT_HTTP_MAX_BYTES", "1000")
    get_settings.cache_clear()
    if chunked:  # no Content-Length: the cap must hold while streaming
        local.expect_request("/big").respond_with_handler(
            lambda request: Response((b"x" * 100 for _ in range(50)), mimetype="text/plain")
        )
    else:
        local.expect_request("/big").respond_with_data(b"x" * 5000)
    local.expect_request("/small").respond_with_data(b"y" * 1000)
    with pytest.raises(ToolError) as info:
        guarded_request("GET", f"http://127.0.0.1:{local.port}/big")
    assert info.value.code == "RESPONSE_TOO_LARGE"
    assert guarded_request("GET", f"http://127.0.0.1:{local.port}/small").content == b"y" * 1000


def test_503_and_429_are_transient_with_retry_after(local: HTTPServer) -> None:
    base = f"http://127.0.0.1:{local.port}"
    local.expect_request("/down").respond_with_data("busy", status=503)
    local.expect_request("/slow-down").respond_with_data(
        "later", status=429, headers={"Retry-After": "2"}
    )
    with pytest.raises(TransientToolError) as down:
        guarded_request("GET", f"{base}/down")
    assert down.value.transient and down.value.retry_after_s is None
    with pytest.raises(TransientToolError) as limited:
        guarded_request("GET", f"{base}/slow-down")
    assert limited.value.retry_after_s == 2


def test_404_is_returned_not_raised(local: HTTPServer) -> None:
    local.expect_request("/missing").respond_with_data("nope", status=404)
    assert guarded_request("GET", f"http://127.0.0.1:{local.port}/missing").status_code == 404


def test_timeouts_and_refused_connections_are_transient(local: HTTPServer) -> None:
    def slow(request: Request) -> Response:
        time.sleep(1.0)
        return Response("late")

    local.expect_request("/slow").respond_with_handler(slow)
    started = time.monotonic()
    with pytest.raises(TransientToolError, match="timed out"):
        guarded_request("GET", f"http://127.0.0.1:{local.port}/slow", timeout_s=0.2)
    assert time.monotonic() - started < 0.9

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    with allow_exact_address("127.0.0.1", closed_port), pytest.raises(TransientToolError):
        guarded_request("GET", f"http://127.0.0.1:{closed_port}/")


def test_retry_after_parsing() -> None:
    assert netguard.retry_after_seconds("2") == 2
    assert netguard.retry_after_seconds(None) is None
    assert netguard.retry_after_seconds("soon") is None
    future = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    assert 25 <= (netguard.retry_after_seconds(future) or 0) <= 31
    past = format_datetime(datetime.now(UTC) - timedelta(hours=1), usegmt=True)
    assert netguard.retry_after_seconds(past) == 0


@pytest.mark.parametrize(
    ("ip", "blocked"),
    [
        ("8.8.8.8", False),
        ("1.1.1.1", False),
        ("2001:4860:4860::8888", False),
        ("::ffff:8.8.8.8", False),
        ("127.0.0.1", True),
        ("10.255.0.1", True),
        ("100.64.0.1", True),
        ("169.254.169.254", True),
        ("0.0.0.0", True),
        ("255.255.255.255", True),
        ("::", True),
        ("fe80::1", True),
        ("fc00::1", True),
        ("ff02::1", True),
        ("::ffff:10.0.0.1", True),
        ("64:ff9b::a9fe:a9fe", True),  # NAT64 of 169.254.169.254
        ("2002:7f00:1::", True),  # 6to4 of 127.0.0.1
    ],
)
def test_blocked_reason(ip: str, blocked: bool) -> None:
    assert (blocked_reason(ip) is not None) is blocked


def test_one_shared_client_per_process(env: pytest.MonkeyPatch) -> None:
    assert netguard.get_client() is netguard.get_client()
    assert netguard.get_client()._trust_env is False


def test_slow_drip_body_is_cut_by_the_total_timeout(local: HTTPServer) -> None:
    """Each chunk arrives within the read timeout, but the whole body may not take longer."""

    def drip(request: Request) -> Response:
        def chunks() -> Iterator[bytes]:
            for _ in range(10):
                time.sleep(0.1)
                yield b"x" * 10

        return Response(chunks(), mimetype="text/plain")

    local.expect_request("/drip").respond_with_handler(drip)
    started = time.monotonic()
    with pytest.raises(TransientToolError, match="timed out"):
        guarded_request("GET", f"http://127.0.0.1:{local.port}/drip", timeout_s=0.35)
    assert time.monotonic() - started < 0.9

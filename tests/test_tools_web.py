"""Web tools against real local servers: an HTTP server on 127.0.0.1 and a UDP DNS server."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator

import dns.message
import dns.rcode
import dns.rrset
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from app.config import get_settings
from app.errors import SecurityError, ToolError, ToolInputError, TransientToolError
from app.tools import netguard, web
from app.tools.base import SideEffect, tool_info
from app.tools.web import (
    detect_tech_stack,
    dns_lookup,
    fetch_page,
    http_request,
    match_signatures,
    send_slack_message,
    send_webhook,
)


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    monkeypatch.setenv("FLOWWRIGHT_ALLOW_PRIVATE_NETWORKS", "1")
    monkeypatch.setenv("FLOWWRIGHT_HTTP_TIMEOUT_S", "2")
    monkeypatch.delenv("FLOWWRIGHT_DNS_SERVERS", raising=False)
    get_settings.cache_clear()
    netguard.reset_client()
    web._resolver.cache_clear()
    yield monkeypatch
    netguard.reset_client()
    web._resolver.cache_clear()
    get_settings.cache_clear()


@pytest.fixture(scope="module")
def _server() -> Iterator[HTTPServer]:
    srv = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    srv.start()
    yield srv
    srv.clear()
    srv.stop()


@pytest.fixture
def server(_server: HTTPServer, env: pytest.MonkeyPatch) -> Iterator[HTTPServer]:
    _server.clear()
    yield _server
    _server.clear()


def test_tools_declare_category_side_effect_and_example() -> None:
    expected = {
        "http_request": ("web", ["url", "method", "headers", "params", "json", "timeout_s"]),
        "fetch_page": ("web", ["url"]),
        "detect_tech_stack": ("web", ["url"]),
        "dns_lookup": ("web", ["domain", "record_type"]),
        "send_webhook": ("web", ["url", "payload"]),
        "send_slack_message": ("messaging", ["webhook_url", "text"]),
    }
    for name, (category, params) in expected.items():
        info = tool_info(getattr(web, name))
        assert (info.name, info.category, info.side_effect) == (name, category, SideEffect.NETWORK)
        assert list(info.params) == params
        assert info.example and set(info.example) <= set(params)
        assert info.output_schema.get("type") in ("object", "array")


def test_http_request_get_json_with_params_and_headers(server: HTTPServer) -> None:
    server.expect_request(
        "/api", method="GET", query_string={"q": "ada", "n": "2"}, headers={"X-Key": "k1"}
    ).respond_with_json({"items": [1, 2]}, headers={"X-Total": "2"})
    result = http_request.invoke(
        {"url": server.url_for("/api"), "params": {"q": "ada", "n": 2}, "headers": {"X-Key": "k1"}}
    )
    assert result["status"] == 200
    assert result["json"] == {"items": [1, 2]}
    assert json.loads(result["text"]) == {"items": [1, 2]}
    assert result["headers"]["x-total"] == "2"
    server.check_assertions()


def test_http_request_post_json_and_4xx_is_a_result(server: HTTPServer) -> None:
    server.expect_request("/items", method="POST", json={"name": "x"}).respond_with_json(
        {"id": 7}, status=201
    )
    server.expect_request("/missing").respond_with_data("not here", status=404)
    created = http_request.invoke(
        {"url": server.url_for("/items"), "method": "post", "json": {"name": "x"}}
    )
    assert (created["status"], created["json"]) == (201, {"id": 7})
    missing = http_request.invoke({"url": server.url_for("/missing")})
    assert (missing["status"], missing["json"], missing["text"]) == (404, None, "not here")


def test_http_request_5xx_and_429_raise_transient(server: HTTPServer) -> None:
    server.expect_request("/boom").respond_with_data("oops", status=503)
    server.expect_request("/limit").respond_with_data("", status=429, headers={"Retry-After": "2"})
    with pytest.raises(TransientToolError):
        http_request.invoke({"url": server.url_for("/boom")})
    with pytest.raises(TransientToolError) as info:
        http_request.invoke({"url": server.url_for("/limit")})
    assert info.value.retry_after_s == 2


def test_http_request_rejects_bad_method_and_private_targets_by_default(
    env: pytest.MonkeyPatch,
) -> None:
    with pytest.raises(ToolInputError):
        http_request.invoke({"url": "http://example.com", "method": "TRACE"})
    env.delenv("FLOWWRIGHT_ALLOW_PRIVATE_NETWORKS")
    get_settings.cache_clear()
    for tool, args in [
        (http_request, {"url": "http://169.254.169.254/latest/meta-data"}),
        (fetch_page, {"url": "http://localhost/"}),
        (detect_tech_stack, {"url": "http://10.0.0.1/"}),
        (send_webhook, {"url": "http://[::1]/hook", "payload": {}}),
        (send_slack_message, {"webhook_url": "http://2130706433/", "text": "hi"}),
    ]:
        with pytest.raises(SecurityError):
            tool.invoke(args)


PAGE = """<!doctype html><html><head><title> Acme  Tools </title>
<style>.x{color:red}</style><script>var secret = "hidden";</script></head>
<body><h1>Welcome</h1><p>Best   tools in <b>town</b>.</p>
<noscript>enable js</noscript>
<a href="/about">About</a> <a href="/about#team">Team</a> <a href="https://other.example/x">X</a>
<a href="mailto:a@b.c">mail</a> <a href="javascript:void(0)">js</a> <a href="sub/page?a=1">Sub</a>
</body></html>"""


def test_fetch_page_returns_title_visible_text_and_absolute_links(server: HTTPServer) -> None:
    server.expect_request("/start").respond_with_data("", status=301, headers={"Location": "/dir/"})
    server.expect_request("/dir/").respond_with_data(PAGE, content_type="text/html; charset=utf-8")
    page = fetch_page.invoke({"url": server.url_for("/start")})
    base = server.url_for("/").rstrip("/")
    assert page["url"] == f"{base}/dir/"
    assert page["status"] == 200
    assert page["title"] == "Acme Tools"
    assert page["text"] == "Welcome Best tools in town. About Team X mail js Sub"
    assert "hidden" not in page["text"] and "color" not in page["text"]
    assert page["links"] == [f"{base}/about", "https://other.example/x", f"{base}/dir/sub/page?a=1"]


def test_fetch_page_of_plain_text(server: HTTPServer) -> None:
    server.expect_request("/robots.txt").respond_with_data(
        "User-agent: *", content_type="text/plain"
    )
    page = fetch_page.invoke({"url": server.url_for("/robots.txt")})
    assert (page["title"], page["text"], page["links"]) == (None, "User-agent: *", [])


STACK_PAGE = """<html><head><meta name="generator" content="WordPress 6.4.2">
<link rel="stylesheet" href="/wp-content/themes/x/bootstrap.min.css">
<script src="https://code.jquery.com/jquery-3.7.1.min.js"></script>
<script src="/_next/static/chunks/main-abc.js"></script>
<script async src="https://www.googletagmanager.com/gtag/js?id=G-XYZ"></script>
<script>window.dataLayer=[];gtag('config','G-XYZ');</script></head><body></body></html>"""


def test_detect_tech_stack_from_headers_cookies_meta_and_scripts(server: HTTPServer) -> None:
    def handler(request: Request) -> Response:
        response = Response(STACK_PAGE, mimetype="text/html")
        response.headers["Server"] = "nginx/1.25.3"
        response.headers["X-Powered-By"] = "Express"
        response.headers["CF-RAY"] = "8abc-FRA"
        response.set_cookie("csrftoken", "t")
        response.set_cookie("laravel_session", "s")
        return response

    server.expect_request("/").respond_with_handler(handler)
    found = detect_tech_stack.invoke({"url": server.url_for("/")})
    assert set(found) == {
        "WordPress", "PHP", "Bootstrap", "jQuery", "Next.js", "React", "Google Analytics",
        "nginx", "Express", "Node.js", "Cloudflare", "Django", "Python", "Laravel",
    }  # fmt: skip
    assert found == sorted(found, key=str.lower)


def test_detect_tech_stack_has_no_false_positives_on_a_plain_page(server: HTTPServer) -> None:
    server.expect_request("/").respond_with_data(
        "<html><head><title>Hi</title></head><body><p>Plain page</p></body></html>",
        content_type="text/html",
    )
    assert detect_tech_stack.invoke({"url": server.url_for("/")}) == []


@pytest.mark.parametrize(
    ("evidence", "expected"),
    [
        ({"header:x-shopid": ["123"]}, ["Shopify"]),
        ({"html": ['<div id="__nuxt"></div>']}, ["Nuxt", "Vue"]),
        ({"html": ['<app-root ng-version="17.0.0">']}, ["Angular"]),
        ({"link": ["https://cdn.jsdelivr.net/npm/tailwindcss@2/dist/tailwind.min.css"]},
         ["Tailwind CSS"]),
        ({"header:server": ["Apache/2.4.57 (Debian)"]}, ["Apache"]),
        ({"script": ["https://unpkg.com/vue@3/dist/vue.global.js"]}, ["Vue"]),
    ],
)  # fmt: skip
def test_signature_table(evidence: dict[str, list[str]], expected: list[str]) -> None:
    assert match_signatures(evidence) == expected


def test_send_webhook_posts_json_and_raises_on_rejection(server: HTTPServer) -> None:
    server.expect_request("/hook", method="POST", json={"lead": "ada"}).respond_with_data("ok")
    server.expect_request("/bad", method="POST").respond_with_data("bad token", status=403)
    assert send_webhook.invoke({"url": server.url_for("/hook"), "payload": {"lead": "ada"}}) == {
        "status": 200
    }
    with pytest.raises(ToolError, match="403") as info:
        send_webhook.invoke({"url": server.url_for("/bad"), "payload": {}})
    assert not info.value.transient
    server.check_assertions()


def test_send_slack_message_posts_text(server: HTTPServer) -> None:
    server.expect_request(
        "/services/T/B/X", method="POST", json={"text": "New lead: Ada"}
    ).respond_with_data("ok")
    result = send_slack_message.invoke(
        {"webhook_url": server.url_for("/services/T/B/X"), "text": "New lead: Ada"}
    )
    assert result == {"status": 200}
    server.check_assertions()
    with pytest.raises(ToolInputError):
        send_slack_message.invoke({"webhook_url": server.url_for("/x"), "text": "  "})


# --- DNS: a tiny UDP server built with dnspython ----------------------------------------------

ZONE = {
    ("example.test.", "A"): ["93.184.216.34", "93.184.216.35"],
    ("example.test.", "AAAA"): ["2606:2800:220:1:248:1893:25c8:1946"],
    ("example.test.", "MX"): ["20 backup.example.test.", "10 mail.example.test."],
    ("example.test.", "TXT"): ['"v=spf1 -all"'],
    ("example.test.", "NS"): ["ns1.example.test."],
    ("example.test.", "SOA"): ["ns1.example.test. admin.example.test. 1 7200 900 1209600 300"],
    ("example.test.", "CAA"): ['0 issue "letsencrypt.org"'],
    ("www.example.test.", "CNAME"): ["example.test."],
}


class DnsServer:
    """Answers from ZONE; NXDOMAIN for unknown names; never answers `slow.test`."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.stop = threading.Event()
        self.queries: list[tuple[str, str]] = []
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self) -> None:
        while not self.stop.is_set():
            try:
                wire, peer = self.sock.recvfrom(4096)
            except TimeoutError:
                continue
            query = dns.message.from_wire(wire)
            question = query.question[0]
            name, rtype = question.name.to_text(), dns.rdatatype.to_text(question.rdtype)
            self.queries.append((name, rtype))
            if name == "slow.test.":
                continue
            response = dns.message.make_response(query)
            if (name, rtype) in ZONE:
                response.answer.append(
                    dns.rrset.from_text_list(name, 300, "IN", rtype, ZONE[(name, rtype)])
                )
            elif not any(key[0] == name for key in ZONE):
                response.set_rcode(dns.rcode.NXDOMAIN)
            self.sock.sendto(response.to_wire(), peer)

    def close(self) -> None:
        self.stop.set()
        self.thread.join()
        self.sock.close()


@pytest.fixture
def dns_server(env: pytest.MonkeyPatch) -> Iterator[DnsServer]:
    srv = DnsServer()
    env.setenv("FLOWWRIGHT_DNS_SERVERS", f"127.0.0.1:{srv.port}")
    env.setenv("FLOWWRIGHT_HTTP_TIMEOUT_S", "0.5")
    get_settings.cache_clear()
    yield srv
    srv.close()


@pytest.mark.parametrize(
    ("domain", "record_type", "expected"),
    [
        ("example.test", "A", ["93.184.216.34", "93.184.216.35"]),
        ("example.test.", "aaaa", ["2606:2800:220:1:248:1893:25c8:1946"]),
        ("example.test", "MX", ["10 mail.example.test", "20 backup.example.test"]),
        ("example.test", "TXT", ["v=spf1 -all"]),
        ("example.test", "NS", ["ns1.example.test"]),
        ("www.example.test", "CNAME", ["example.test"]),
        ("example.test", "CAA", ['0 issue "letsencrypt.org"']),
    ],
)
def test_dns_lookup_record_types(
    dns_server: DnsServer, domain: str, record_type: str, expected: list[str]
) -> None:
    got = dns_lookup.invoke({"domain": domain, "record_type": record_type})
    assert got == expected  # sorted; MX by preference
    assert dns_server.queries[-1] == (domain.rstrip(".") + ".", record_type.upper())


def test_dns_lookup_soa_default_type_and_missing_names(dns_server: DnsServer) -> None:
    [soa] = dns_lookup.invoke({"domain": "example.test", "record_type": "SOA"})
    assert soa.startswith("ns1.example.test. admin.example.test. 1 ")
    assert dns_lookup.invoke({"domain": "example.test"}) == ["93.184.216.34", "93.184.216.35"]
    assert dns_lookup.invoke({"domain": "nope.test"}) == []  # NXDOMAIN
    assert dns_lookup.invoke({"domain": "www.example.test", "record_type": "MX"}) == []  # NoAnswer


def test_dns_lookup_timeout_is_transient(dns_server: DnsServer) -> None:
    with pytest.raises(TransientToolError):
        dns_lookup.invoke({"domain": "slow.test"})


@pytest.mark.parametrize(
    ("domain", "record_type"),
    [("example.test", "PTR"), ("example.test", "ANY"), ("https://example.test/x", "A"), ("", "A")],
)
def test_dns_lookup_rejects_bad_input(dns_server: DnsServer, domain: str, record_type: str) -> None:
    with pytest.raises(ToolInputError):
        dns_lookup.invoke({"domain": domain, "record_type": record_type})
    assert dns_server.queries == []

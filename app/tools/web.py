"""Web tools: HTTP calls, page fetching, tech-stack detection, DNS, webhooks and Slack.

Every HTTP call goes through `app.tools.netguard.guarded_request` (SSRF guard, redirects, body cap,
error mapping). Status codes: `http_request`, `fetch_page` and `detect_tech_stack` return 4xx as
normal results (a workflow may branch on 404); 5xx and 429 raise TransientToolError so the engine's
`retry` works. `send_webhook` and `send_slack_message` raise on 4xx too: a rejected delivery must
not look like success. `dns_lookup` treats NXDOMAIN and "no such record" as an empty list (the
normal "nothing there" answer); timeouts and unreachable servers are transient errors.

Resolvers come from `Settings.dns_servers` (`FLOWWRIGHT_DNS_SERVERS`: `ip[:port]`, `[v6]:port`).
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Annotated, Any

from pydantic import Field
from typing_extensions import TypedDict

from app.config import get_settings
from app.errors import NotConfiguredError, ToolError, ToolInputError, TransientToolError
from app.tools.base import SideEffect, flow_tool
from app.tools.netguard import guarded_request

HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
DNS_RECORD_TYPES = ("A", "AAAA", "MX", "TXT", "CNAME", "NS", "SOA", "CAA")
_SPACE_BEFORE_PUNCT = re.compile(r" ([.,;:!?)])")
_JSON_TYPE = re.compile(r"^application/([\w.+-]+\+)?json\b|^text/json\b", re.I)


class HttpResult(TypedDict):
    """Status code, response headers, parsed JSON body (null unless JSON) and body text."""

    status: int
    headers: dict[str, str]
    json: Any
    text: str


class Page(TypedDict):
    """The final URL after redirects, status, <title>, visible text and absolute links."""

    url: str
    status: int
    title: str | None
    text: str
    links: list[str]


class Delivery(TypedDict):
    """HTTP status the receiving endpoint answered with."""

    status: int


@dataclass(frozen=True)
class Signature:
    """One rule: `pattern` (a regex, case-insensitive) searched in one place of a response.

    `where` is `header:<name>`, `cookie` (Set-Cookie names), `generator` (meta generator),
    `script` (script srcs), `link` (stylesheet/link hrefs) or `html` (the raw page).
    """

    tech: str
    where: str
    pattern: str
    implies: tuple[str, ...] = ()


_S = Signature
SIGNATURES: tuple[Signature, ...] = (
    _S("WordPress", "generator", r"wordpress", ("PHP",)),
    _S("WordPress", "script", r"/wp-(content|includes)/", ("PHP",)),
    _S("WordPress", "link", r"/wp-(content|includes)/|api\.w\.org", ("PHP",)),
    _S("Drupal", "generator", r"drupal", ("PHP",)),
    _S("Drupal", "header:x-generator", r"drupal", ("PHP",)),
    _S("Joomla", "generator", r"joomla", ("PHP",)),
    _S("Wix", "header:x-wix-request-id", r""),
    _S("Squarespace", "html", r"static1?\.squarespace\.com"),
    _S("Ghost", "generator", r"^ghost"),
    _S("Hugo", "generator", r"^hugo"),
    _S("Gatsby", "generator", r"^gatsby", ("React",)),
    _S("Shopify", "header:x-shopid", r""),
    _S("Shopify", "script", r"cdn\.shopify\.com"),
    _S("Shopify", "html", r"Shopify\.theme"),
    _S("Next.js", "html", r'id="__NEXT_DATA__"|/_next/static/', ("React",)),
    _S("Next.js", "header:x-powered-by", r"next\.js", ("React",)),
    _S("Nuxt", "html", r'id="__nuxt"|window\.__NUXT__|/_nuxt/', ("Vue",)),
    _S("React", "html", r"data-reactroot|data-reactid"),
    _S("React", "script", r"react(-dom)?(@[\d.]+)?(\.production)?(\.min)?\.js|/react(-dom)?@"),
    _S("Vue", "html", r"data-v-[0-9a-f]{8}|data-server-rendered"),
    _S("Vue", "script", r"vue(@[\d.]+)?(\.global|\.runtime)?(\.prod)?(\.min)?\.js|/vue@"),
    _S("Angular", "html", r"ng-version=|_nghost-|ng-app="),
    _S("Angular", "script", r"angular(\.min)?\.js"),
    _S("Svelte", "html", r'class="[^"]*svelte-[a-z0-9]{5,}'),
    _S("jQuery", "script", r"jquery([.-][\d.]+)?(\.slim)?(\.min)?\.js|code\.jquery\.com"),
    _S("Bootstrap", "script", r"bootstrap(\.bundle)?(\.min)?\.js"),
    _S("Bootstrap", "link", r"bootstrap(\.min)?\.css"),
    _S("Tailwind CSS", "script", r"cdn\.tailwindcss\.com"),
    _S("Tailwind CSS", "link", r"tailwind(css)?[^/]*\.css"),
    _S("Font Awesome", "link", r"font-?awesome"),
    _S("Django", "cookie", r"^(csrftoken|django_language)$", ("Python",)),
    _S("Django", "html", r"csrfmiddlewaretoken", ("Python",)),
    _S("Laravel", "cookie", r"^laravel_session$", ("PHP",)),
    _S("Ruby on Rails", "html", r'name="csrf-param" content="authenticity_token"', ("Ruby",)),
    _S("Express", "header:x-powered-by", r"\bexpress\b", ("Node.js",)),
    _S("PHP", "header:x-powered-by", r"\bphp\b"),
    _S("PHP", "cookie", r"^PHPSESSID$"),
    _S("ASP.NET", "header:x-powered-by", r"asp\.net"),
    _S("ASP.NET", "header:x-aspnet-version", r""),
    _S("ASP.NET", "cookie", r"^ASP\.NET_SessionId$"),
    _S("Java", "cookie", r"^JSESSIONID$"),
    _S("nginx", "header:server", r"nginx"),
    _S("Apache", "header:server", r"apache"),
    _S("Microsoft IIS", "header:server", r"microsoft-iis"),
    _S("LiteSpeed", "header:server", r"litespeed"),
    _S("Caddy", "header:server", r"caddy"),
    _S("Cloudflare", "header:server", r"cloudflare"),
    _S("Cloudflare", "header:cf-ray", r""),
    _S("Cloudflare", "cookie", r"^__cf_bm$|^__cfduid$"),
    _S("Amazon CloudFront", "header:x-amz-cf-id", r""),
    _S("Fastly", "header:x-fastly-request-id", r""),
    _S("Varnish", "header:x-varnish", r""),
    _S("Vercel", "header:x-vercel-id", r""),
    _S("Netlify", "header:server", r"netlify"),
    _S("Google Analytics", "script", r"google-analytics\.com/(analytics|ga)\.js|gtag/js"),
    _S("Google Analytics", "html", r"gtag\(\s*['\"]config['\"]|ga\(\s*['\"]create['\"]"),
    _S("Google Tag Manager", "script", r"googletagmanager\.com/gtm\.js"),
    _S("Google Tag Manager", "html", r"googletagmanager\.com/ns\.html|GTM-[A-Z0-9]{4,}"),
    _S("Google Fonts", "link", r"fonts\.googleapis\.com"),
    _S("Stripe", "script", r"js\.stripe\.com"),
    _S("HubSpot", "script", r"js\.hs-scripts\.com|js\.hsforms\.net"),
    _S("Hotjar", "html", r"static\.hotjar\.com"),
)


def _validate_common(url: str, timeout_s: float) -> None:
    if not url or not url.strip():
        raise ToolInputError("url is empty", hint="Give an absolute http(s) URL.")
    if not 0 < timeout_s <= 300:
        raise ToolInputError(
            f"timeout_s {timeout_s} is out of range", hint="Use 0 < timeout_s ≤ 300."
        )


@flow_tool(
    category="web",
    side_effect=SideEffect.NETWORK,
    example={"url": "https://api.github.com/repos/python/cpython", "method": "GET"},
)
def http_request(
    url: Annotated[str, Field(description="Absolute http(s) URL")],
    method: Annotated[
        str, Field(description="HTTP method: GET, POST, PUT, PATCH, DELETE...")
    ] = "GET",
    headers: Annotated[dict[str, str], Field(description="Request headers")] = {},  # noqa: B006
    params: Annotated[dict[str, Any], Field(description="Query-string parameters")] = {},  # noqa: B006
    json: Annotated[Any, Field(description="JSON request body, or null for none")] = None,
    timeout_s: Annotated[float, Field(description="Timeout in seconds")] = 10,
) -> HttpResult:
    """Call an HTTP API and return its status, headers, parsed JSON and text."""
    method = method.upper().strip()
    if method not in HTTP_METHODS:
        raise ToolInputError(
            f"unsupported HTTP method {method!r}", hint=f"Use one of {HTTP_METHODS}."
        )
    _validate_common(url, timeout_s)
    response = guarded_request(
        method, url, headers=headers, params=params, json=json, timeout_s=timeout_s
    )
    parsed: Any = None
    if _JSON_TYPE.match(response.headers.get("content-type", "")) and response.content.strip():
        try:
            parsed = response.json()
        except ValueError:
            parsed = None
    return {
        "status": response.status_code,
        "headers": dict(response.headers),
        "json": parsed,
        "text": response.text,
    }


def _tree(html: str) -> Any:
    from selectolax.lexbor import LexborHTMLParser

    return LexborHTMLParser(html)


def _page_parts(html: str, base_url: str) -> tuple[str | None, str, list[str]]:
    """Title, visible text and absolute de-duplicated http(s) links of an HTML document."""
    import httpx

    tree = _tree(html)
    title_node = tree.css_first("title")
    title = " ".join(title_node.text().split()) if title_node else None
    base_node = tree.css_first("base[href]")
    base = httpx.URL(base_url)
    if base_node is not None:
        with contextlib.suppress(httpx.InvalidURL):
            base = base.join(base_node.attributes.get("href") or "")
    links: dict[str, None] = {}
    for node in tree.css("a[href]"):
        href = (node.attributes.get("href") or "").strip()
        if not href or href.startswith(("#", "javascript:", "mailto:", "tel:", "data:")):
            continue
        try:
            absolute = base.join(href).copy_with(fragment=None)
        except (httpx.InvalidURL, ValueError):
            continue
        if absolute.scheme in ("http", "https"):
            links[str(absolute)] = None
    tree.strip_tags(["script", "style", "noscript", "template", "svg", "head"])
    root = tree.body or tree.root
    text = " ".join(root.text(separator=" ").split()) if root is not None else ""
    text = _SPACE_BEFORE_PUNCT.sub(r"\1", text)  # "town ." from "<b>town</b>." → "town."
    return title, text, list(links)


@flow_tool(category="web", side_effect=SideEffect.NETWORK, example={"url": "https://example.com"})
def fetch_page(url: Annotated[str, Field(description="Absolute http(s) URL of the page")]) -> Page:
    """Download a web page and return its title, visible text and links."""
    _validate_common(url, get_settings().http_timeout_s)
    response = guarded_request("GET", url, headers={"Accept": "text/html,*/*;q=0.8"})
    content_type = response.headers.get("content-type", "").lower()
    final_url = str(response.url)
    if "html" in content_type or (not content_type and b"<html" in response.content[:2048].lower()):
        title, text, links = _page_parts(response.text, final_url)
    else:
        title, text, links = None, response.text, []
    return {
        "url": final_url,
        "status": response.status_code,
        "title": title,
        "text": text,
        "links": links,
    }


def _evidence(response: Any) -> dict[str, list[str]]:
    """Where signatures look: header values, cookie names, generator, script/link URLs, html."""
    html = response.text if "html" in response.headers.get("content-type", "html") else ""
    found: dict[str, list[str]] = {
        f"header:{k.lower()}": [v] for k, v in response.headers.multi_items()
    }
    found["cookie"] = [v.split("=", 1)[0].strip() for v in response.headers.get_list("set-cookie")]
    found["html"] = [html]
    if html:
        tree = _tree(html)
        found["generator"] = [
            n.attributes.get("content") or "" for n in tree.css('meta[name="generator" i]')
        ]
        found["script"] = [n.attributes.get("src") or "" for n in tree.css("script[src]")]
        found["link"] = [n.attributes.get("href") or "" for n in tree.css("link[href]")]
    return found


@lru_cache(maxsize=1)
def _compiled() -> tuple[tuple[Signature, re.Pattern[str]], ...]:
    return tuple((sig, re.compile(sig.pattern, re.I)) for sig in SIGNATURES)


def match_signatures(evidence: dict[str, list[str]]) -> list[str]:
    """Technologies whose signatures match the evidence, plus what they imply, sorted."""
    techs: set[str] = set()
    for sig, regex in _compiled():
        values = evidence.get(sig.where)
        if values and any(regex.search(v) for v in values):
            techs.add(sig.tech)
            techs.update(sig.implies)
    return sorted(techs, key=str.lower)


@flow_tool(category="web", side_effect=SideEffect.NETWORK, example={"url": "https://example.com"})
def detect_tech_stack(
    url: Annotated[str, Field(description="Absolute http(s) URL of the site")],
) -> list[str]:
    """Detect the technologies a website uses (CMS, frameworks, servers, CDN, analytics)."""
    _validate_common(url, get_settings().http_timeout_s)
    response = guarded_request("GET", url, headers={"Accept": "text/html,*/*;q=0.8"})
    return match_signatures(_evidence(response))


@lru_cache(maxsize=4)
def _resolver(servers: str, lifetime: float) -> Any:
    import dns.resolver

    if not servers.strip():
        resolver = dns.resolver.Resolver()
    else:
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers = [
            _nameserver(item.strip()) for item in servers.split(",") if item.strip()
        ]
    resolver.lifetime = lifetime
    resolver.timeout = min(lifetime, 3.0)
    return resolver


def _nameserver(item: str) -> Any:
    """`ip`, `ip:port` or `[v6]:port` from FLOWWRIGHT_DNS_SERVERS as a dnspython nameserver."""
    import ipaddress

    import dns.nameserver

    bracketed = re.fullmatch(r"\[([^\]]+)\](?::(\d+))?", item)
    host, port = (bracketed.group(1), bracketed.group(2)) if bracketed else (item, None)
    if not bracketed and item.count(":") == 1:
        host, port = item.split(":")
    try:
        ipaddress.ip_address(host)
        return dns.nameserver.Do53Nameserver(host, int(port or 53))
    except ValueError as exc:
        raise NotConfiguredError(
            f"FLOWWRIGHT_DNS_SERVERS entry {item!r} is not an IP[:port]",
            hint="List resolver IPs, e.g. FLOWWRIGHT_DNS_SERVERS=1.1.1.1,8.8.8.8:53.",
        ) from exc


def _record_text(record_type: str, rdata: Any) -> str:
    if record_type in ("A", "AAAA"):
        return rdata.address
    if record_type == "MX":
        return f"{rdata.preference} {rdata.exchange.to_text().rstrip('.')}"
    if record_type in ("CNAME", "NS"):
        return rdata.target.to_text().rstrip(".")
    if record_type == "TXT":
        return b"".join(rdata.strings).decode("utf-8", "replace")
    return rdata.to_text()


@flow_tool(
    category="web",
    side_effect=SideEffect.NETWORK,
    example={"domain": "example.com", "record_type": "MX"},
)
def dns_lookup(
    domain: Annotated[str, Field(description="Domain name, e.g. example.com")],
    record_type: Annotated[
        str, Field(description="DNS record type: A, AAAA, MX, TXT, CNAME, NS, SOA or CAA")
    ] = "A",
) -> list[str]:
    """Look up DNS records of a domain, sorted (empty when the domain or record does not exist)."""
    import dns.exception
    import dns.name
    import dns.resolver

    rtype = record_type.strip().upper()
    if rtype not in DNS_RECORD_TYPES:
        raise ToolInputError(
            f"unsupported record type {record_type!r}",
            hint=f"Use one of {', '.join(DNS_RECORD_TYPES)}.",
        )
    name = domain.strip().rstrip(".")
    if not name or "/" in name or " " in name or "@" in name:
        raise ToolInputError(
            f"{domain!r} is not a domain name",
            hint="Give a bare domain such as example.com (no scheme or path).",
        )
    try:
        qname = dns.name.from_text(name)
    except (dns.exception.DNSException, UnicodeError) as exc:
        raise ToolInputError(
            f"{domain!r} is not a domain name: {exc}",
            hint="Give a bare domain such as example.com.",
        ) from exc
    resolver = _resolver(get_settings().dns_servers or "", get_settings().http_timeout_s)
    try:
        answer = resolver.resolve(qname, rtype, search=False)
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return []
    except (dns.exception.Timeout, dns.resolver.NoNameservers) as exc:
        raise TransientToolError(
            f"DNS lookup of {name} failed: {exc}",
            hint="The DNS server did not answer; retry later.",
        ) from exc
    except dns.exception.DNSException as exc:
        raise ToolError(f"DNS lookup of {name} failed: {exc}", hint="Check the domain.") from exc
    records = [_record_text(rtype, r) for r in answer]
    if rtype == "MX":  # by preference, then name; other types sorted: DNS order is random
        return sorted(records, key=lambda r: (int(r.split(" ", 1)[0]), r))
    return sorted(records)


def _deliver(url: str, payload: Any) -> Delivery:
    _validate_common(url, get_settings().http_timeout_s)
    response = guarded_request("POST", url, json=payload)
    if response.status_code >= 400:
        raise ToolError(
            f"{response.url.host} refused the delivery with HTTP {response.status_code}: "
            f"{response.text[:200]}",
            hint="Check the URL and payload the receiver expects.",
            code="HTTP_STATUS",
        )
    return {"status": response.status_code}


@flow_tool(
    category="web",
    side_effect=SideEffect.NETWORK,
    example={"url": "https://hooks.example.com/lead", "payload": {"email": "ada@example.com"}},
)
def send_webhook(
    url: Annotated[str, Field(description="Webhook URL that receives the JSON POST")],
    payload: Annotated[dict[str, Any], Field(description="JSON object to send")],
) -> Delivery:
    """POST a JSON payload to a webhook URL."""
    return _deliver(url, payload)


@flow_tool(
    category="messaging",
    side_effect=SideEffect.NETWORK,
    example={"webhook_url": "https://hooks.slack.com/services/T000/B000/XXXX", "text": "New lead"},
)
def send_slack_message(
    webhook_url: Annotated[str, Field(description="Slack incoming-webhook URL")],
    text: Annotated[str, Field(description="Message text (Slack mrkdwn)")],
) -> Delivery:
    """Post a message to a Slack channel through an incoming webhook."""
    if not text.strip():
        raise ToolInputError("text is empty", hint="Give the message to post.")
    return _deliver(webhook_url, {"text": text})

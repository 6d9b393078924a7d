"""SSRF protection for every outbound HTTP request the tools make.

How it stays safe against DNS rebinding: the check and the connection are the same step. The
shared `httpx.Client` runs on an httpcore connection pool whose *network backend* is
`_GuardedBackend`: when httpcore opens a TCP connection it asks the backend to connect to
`(host, port)`; the backend resolves the host once (`_resolve`), refuses if ANY address is not
public, and then connects to exactly those checked IP addresses. There is no second lookup an
attacker's DNS could answer differently, and the URL keeps its hostname, so the `Host` header,
TLS SNI, certificate verification and connection pooling (keyed by hostname) are all unchanged.
Pooled connections were checked when they were opened. Proxies from the environment are ignored
(`trust_env=False`): a proxy would resolve names where we cannot check them.

Before any connection, `guarded_request` also refuses non-http(s) schemes, credentials in the URL,
literal private IPs and legacy numeric host forms (`2130706433`, `0177.0.0.1`, `0x7f.1`), which
libc would quietly read as IPv4 addresses. Redirects are followed by hand (at most 5), each hop
re-validated; bodies are read as a stream and refused past `settings.http_max_bytes`.

Tests may allow one exact `(ip, port)` with `allow_exact_address`; nothing else widens the guard
except the operator setting `FLOWWRIGHT_ALLOW_PRIVATE_NETWORKS`.
"""

from __future__ import annotations

import contextlib
import email.utils
import ipaddress
import re
import socket
import threading
import time
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from app.config import get_settings
from app.errors import SecurityError, ToolError, ToolInputError, TransientToolError

if TYPE_CHECKING:
    import httpx

MAX_REDIRECTS = 5
ALLOWED_SCHEMES = frozenset({"http", "https"})
_REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})
_PRIVATE_HINT = (
    "Network tools only reach public addresses; an operator can set "
    "FLOWWRIGHT_ALLOW_PRIVATE_NETWORKS=1 to allow private, loopback and link-local targets."
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NUMERIC_HOST = re.compile(r"^(0x[0-9a-f]*|[0-9]+)(\.(0x[0-9a-f]*|[0-9]+)){0,3}\.?$", re.I)

# Exact (ip, port) pairs a test allowed; empty in production.
_test_allowed: set[tuple[str, int]] = set()
_client: httpx.Client | None = None
_client_lock = threading.Lock()


@contextlib.contextmanager
def allow_exact_address(ip: str, port: int) -> Iterator[None]:
    """Allow one exact address and port (a test server) while the block runs; tests only."""
    key = (str(ipaddress.ip_address(ip)), port)
    _test_allowed.add(key)
    try:
        yield
    finally:
        _test_allowed.discard(key)


def blocked_reason(ip: str) -> str | None:
    """Why an address is not public (`loopback`, `private`, ...), or None when it is."""
    addr = ipaddress.ip_address(ip.split("%", 1)[0])
    if isinstance(addr, ipaddress.IPv6Address):
        embedded = addr.ipv4_mapped or addr.sixtofour
        if embedded is None and addr in _NAT64:
            embedded = ipaddress.IPv4Address(int(addr) & 0xFFFFFFFF)
        if embedded is not None:
            inner = blocked_reason(str(embedded))
            return f"embedded IPv4 {embedded} is {inner}" if inner else None
    for attr in ("is_loopback", "is_link_local", "is_multicast", "is_unspecified", "is_reserved"):
        if getattr(addr, attr):
            return attr.removeprefix("is_").replace("_", "-")
    if addr.is_private:
        return "private"
    if not addr.is_global:  # CGNAT 100.64/10 and other special-purpose ranges
        return "not globally routable"
    return None


def check_address(ip: str, port: int, *, host: str | None = None) -> None:
    """Raise SecurityError unless `ip` may be contacted on `port` under the current settings."""
    reason = blocked_reason(ip)
    if reason is None or get_settings().allow_private_networks:
        return
    if (str(ipaddress.ip_address(ip.split("%", 1)[0])), port) in _test_allowed:
        return
    shown = f"{host} ({ip})" if host and host != ip else ip
    raise SecurityError(f"refused to connect to {shown}: address is {reason}", hint=_PRIVATE_HINT)


def _resolve(host: str, port: int) -> list[str]:
    """All addresses `host` resolves to (tests monkeypatch this to simulate DNS)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def resolve_checked(host: str, port: int) -> list[str]:
    """Resolve `host` and refuse if any address is not allowed; returns the checked addresses."""
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
        addresses = [host]
    except ValueError:
        try:
            addresses = _resolve(host, port)
        except (socket.gaierror, UnicodeError) as exc:
            raise TransientToolError(
                f"cannot resolve host {host!r}: {exc}", hint="Check the host name and DNS."
            ) from exc
    if not addresses:
        raise TransientToolError(f"host {host!r} has no addresses", hint="Check the host name.")
    for ip in addresses:
        check_address(ip, port, host=host)
    return addresses


def _network_backend() -> Any:
    """An httpcore backend that connects only to the addresses it has just checked."""
    import httpcore

    class _GuardedBackend(httpcore.SyncBackend):
        def connect_tcp(
            self,
            host: str,
            port: int,
            timeout: float | None = None,
            local_address: str | None = None,
            socket_options: Any = None,
        ) -> Any:
            addresses = resolve_checked(host, port)
            last: Exception | None = None
            for ip in addresses:
                try:
                    return super().connect_tcp(ip, port, timeout, local_address, socket_options)
                except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                    last = exc
            assert last is not None
            raise last

    return _GuardedBackend()


def get_client() -> httpx.Client:
    """The process-wide client (connection reuse); built on first use."""
    global _client
    if _client is None:
        with _client_lock:
            if _client is None:
                _client = _build_client()
    return _client


def _build_client() -> httpx.Client:
    """httpx has no public hook for httpcore's network backend, so the transport swaps its pool
    (`_pool`) for one built on `_GuardedBackend`; the rebinding tests fail if that ever breaks."""
    import httpcore
    import httpx

    class _GuardedTransport(httpx.HTTPTransport):
        def __init__(self) -> None:
            super().__init__(trust_env=False)
            self._pool = httpcore.ConnectionPool(
                ssl_context=httpx.create_ssl_context(trust_env=False),
                max_connections=100,
                max_keepalive_connections=20,
                keepalive_expiry=30.0,
                network_backend=_network_backend(),
            )

    return httpx.Client(
        transport=_GuardedTransport(),
        trust_env=False,
        follow_redirects=False,
        headers={"User-Agent": "Flowwright/0.1 (+https://github.com/flowwright)"},
        timeout=get_settings().http_timeout_s,
    )


def reset_client() -> None:
    """Close the shared client (tests, or after settings change); the next call rebuilds it."""
    global _client
    with _client_lock:
        if _client is not None:
            _client.close()
        _client = None


def validate_url(url: str) -> httpx.URL:
    """Parse a URL and refuse bad schemes, credentials, numeric tricks and private literals."""
    import httpx

    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError) as exc:
        if "IPv4" in str(exc) or "IPv6" in str(exc):
            raise SecurityError(
                f"refused ambiguous IP address in {url!r}: {exc}", hint=_PRIVATE_HINT
            ) from exc
        raise ToolInputError(
            f"invalid URL {url!r}: {exc}", hint="Give an absolute http(s) URL."
        ) from exc
    if parsed.scheme not in ALLOWED_SCHEMES:
        raise SecurityError(
            f"refused URL scheme {parsed.scheme or '(none)'!r}",
            hint="Only http:// and https:// URLs are allowed.",
        )
    if not parsed.host:
        raise ToolInputError(f"URL {url!r} has no host", hint="Give an absolute http(s) URL.")
    if parsed.userinfo:
        raise SecurityError(
            "refused URL with credentials (user:pass@host)",
            hint="Pass credentials in an Authorization header instead.",
        )
    host = parsed.host
    if _NUMERIC_HOST.match(host):
        try:
            canonical = socket.inet_ntoa(socket.inet_aton(host.rstrip(".")))
        except OSError:
            canonical = None
        if canonical != host:
            raise SecurityError(
                f"refused numeric host {host!r}" + (f" (means {canonical})" if canonical else ""),
                hint="Write IPv4 addresses as four decimal numbers. " + _PRIVATE_HINT,
            )
    with contextlib.suppress(ValueError):
        check_address(str(ipaddress.ip_address(host)), parsed.port or _default_port(parsed))
    return parsed


def _default_port(url: httpx.URL) -> int:
    return 443 if url.scheme == "https" else 80


def retry_after_seconds(value: str | None) -> float | None:
    """Parse Retry-After as delta seconds or an HTTP date; None when absent or unparsable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def guarded_request(
    method: str,
    url: str,
    *,
    headers: Mapping[str, str] | None = None,
    params: Mapping[str, Any] | None = None,
    json: Any = None,
    timeout_s: float | None = None,
) -> httpx.Response:
    """Send one request through the guard and return the fully read (capped) final response.

    4xx responses are returned; 5xx and 429 raise TransientToolError (with `retry_after_s`).
    """
    import httpx

    settings = get_settings()
    client = get_client()
    timeout = httpx.Timeout(timeout_s if timeout_s is not None else settings.http_timeout_s)
    current = validate_url(url)
    method = method.upper()
    send_json = json
    hdrs = httpx.Headers(headers or {})
    query = params
    for _hop in range(MAX_REDIRECTS + 1):
        request = client.build_request(
            method, current, headers=hdrs, params=query, json=send_json, timeout=timeout
        )
        response = _send(client, request)
        if response.status_code not in _REDIRECT_CODES or "location" not in response.headers:
            return _finish(response, settings.http_max_bytes, timeout.read or 0)
        response.close()
        try:
            location = str(request.url.join(response.headers["location"]))
        except (httpx.InvalidURL, ValueError) as exc:
            raise ToolError(
                f"bad redirect Location from {request.url.host}",
                code="BAD_REDIRECT",
                hint="The server sent an invalid redirect.",
            ) from exc
        target = validate_url(location)
        if response.status_code == 303 or (
            response.status_code in (301, 302) and method not in ("GET", "HEAD")
        ):
            method, send_json = ("HEAD" if method == "HEAD" else "GET"), None
        if (target.scheme, target.host, target.port) != (
            current.scheme,
            current.host,
            current.port,
        ):
            hdrs = httpx.Headers(
                {k: v for k, v in hdrs.items() if k.lower() not in ("authorization", "cookie")}
            )
        current, query = target, None  # the Location already carries its query
    raise ToolError(
        f"more than {MAX_REDIRECTS} redirects from {url}",
        hint="Call the final URL directly.",
        code="TOO_MANY_REDIRECTS",
    )


def _send(client: httpx.Client, request: httpx.Request) -> httpx.Response:
    import httpx

    try:
        return client.send(request, stream=True)
    except httpx.TimeoutException as exc:
        raise TransientToolError(
            f"timed out calling {request.url.host}: {exc}", hint="Retry later or raise timeout_s."
        ) from exc
    except httpx.TransportError as exc:
        if "CERTIFICATE_VERIFY_FAILED" in str(exc):
            raise ToolError(
                f"TLS certificate of {request.url.host} is not valid: {exc}",
                hint="The server's certificate must be valid for its host name.",
                code="TLS_ERROR",
            ) from exc
        raise TransientToolError(
            f"cannot reach {request.url.host}: {exc}",
            hint="Check the URL; retry if the server is temporarily down.",
        ) from exc


def _finish(response: httpx.Response, cap: int, budget_s: float) -> httpx.Response:
    """Read the body streaming under the size cap and a total time budget (no slow drip),
    then map 5xx/429 to TransientToolError."""
    import httpx

    try:
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > cap:
            raise _too_large(response, cap)
        chunks: list[bytes] = []
        size = 0
        started = time.monotonic()
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > cap:
                raise _too_large(response, cap)
            if budget_s and time.monotonic() - started > budget_s:
                raise httpx.ReadTimeout("body took longer than the timeout")
            chunks.append(chunk)
        body = b"".join(chunks)
    except httpx.TimeoutException as exc:
        raise TransientToolError(
            f"timed out reading {response.request.url.host}", hint="Retry later or raise timeout_s."
        ) from exc
    except httpx.TransportError as exc:
        raise TransientToolError(
            f"connection to {response.request.url.host} broke: {exc}", hint="Retry later."
        ) from exc
    finally:
        response.close()
    headers = [
        (k, v)
        for k, v in response.headers.multi_items()
        if k.lower() not in ("content-encoding", "content-length", "transfer-encoding")
    ]
    final = httpx.Response(
        response.status_code,
        headers=headers,
        content=body,
        request=response.request,
    )
    status = final.status_code
    if status == 429 or status >= 500:
        raise TransientToolError(
            f"{response.request.url.host} answered HTTP {status}",
            hint="The server is overloaded or failing; the engine may retry.",
            retry_after_s=retry_after_seconds(final.headers.get("retry-after")),
        )
    return final


def _too_large(response: httpx.Response, cap: int) -> ToolError:
    return ToolError(
        f"response from {response.request.url.host} is larger than {cap} bytes",
        hint="Raise FLOWWRIGHT_HTTP_MAX_BYTES or request a smaller resource.",
        code="RESPONSE_TOO_LARGE",
    )

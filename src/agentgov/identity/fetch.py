"""Adapters for the identity ports: an SSRF-safe HTTPS fetcher, DNS TXT resolvers, in-memory fakes.

The fetcher is built on ``httpcore`` with its own network backend, so the address check happens inside
``connect_tcp`` on the very address the socket then connects to: the name is resolved once, every answer
is checked, and the connection goes to a checked address. A name that resolves to a public address when
"validated" and to 127.0.0.1 when connected (DNS rebinding) therefore has nothing to exploit. TLS is
negotiated with the original host name (SNI and certificate verification), never with the address.

Every error leaves as UnsafeTarget (the platform refuses the target), NotFound (404/410) or Unavailable
(the target did not answer properly); no ``httpcore``, ``ssl``, ``socket`` or ``dns`` exception escapes.
"""

from __future__ import annotations

import socket
import ssl
import threading
import time
import urllib.parse
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from ipaddress import ip_address
from typing import Any, Final

import httpcore
import idna

from agentgov.errors import AgentGovError, NotFound, Unavailable, UnsafeTarget
from agentgov.identity.addresses import IPAddress, address_refusal, ip_literal

__all__ = [
    "FetchSettings",
    "SafeHttpFetcher",
    "StaticHttpFetcher",
    "address_refusal",
]

_REDIRECTS: Final = frozenset({301, 302, 303, 307, 308})
_GONE: Final = frozenset({404, 410})
_DEFAULT_PORTS: Final = {"https": 443, "http": 80}
_HOST_CHARACTERS: Final = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-._")
# RFC 3986 §2.2 reserved and §2.3 unreserved characters, plus "%" for existing escapes.
_URL_SAFE: Final = "/?#[]@!$&'()*+,;=-._~:%"


@dataclass(frozen=True, slots=True)
class FetchSettings:
    # A proof record is under a hundred bytes; 64 KiB leaves room for comments and several keys while
    # bounding the memory a hostile server can make us hold.
    max_body_bytes: int = 64 * 1024
    # One deadline for the whole fetch (connect, TLS, every redirect, the body): a server that drips a
    # byte a second must not hold a worker longer than this. Name resolution (getaddrinfo) cannot be
    # interrupted; the system resolver's own timeout bounds it.
    total_timeout_seconds: float = 5.0
    # Enough for apex -> www and one CDN hop; more is a loop or an attempt to wander.
    max_redirects: int = 3
    # Plain HTTP can be rewritten by anyone on the path; proofs are only as good as the channel.
    allow_plain_http: bool = False
    # FOR TESTS ONLY: permit loopback, private-use (RFC 1918, ULA), shared (RFC 6598) and other
    # non-global unicast addresses, so that a test can serve HTTPS on 127.0.0.1. Unspecified, multicast,
    # link-local (the cloud metadata service lives at 169.254.169.254) and reserved addresses stay
    # refused even then.
    allow_private_networks: bool = False
    # Trust store for TLS; None means the certifi bundle. Tests pass a context trusting a throwaway CA.
    ssl_context: ssl.SSLContext | None = None
    # FOR TESTS ONLY: host -> IP address used instead of DNS (the address is still checked).
    resolve_overrides: Mapping[str, str] = field(default_factory=dict)
    # FOR TESTS ONLY: host -> TCP port connected to instead of the URL's (the Host header, SNI and
    # certificate checks keep the URL's host), so a fixed https://DOMAIN/ URL can reach a test server.
    port_overrides: Mapping[str, int] = field(default_factory=dict)
    user_agent: str = "agentgov-proof-fetcher/1"


@dataclass(frozen=True, slots=True)
class _Target:
    """A URL the fetcher has agreed to request: scheme allowed, host normalised, no credentials."""

    url: str
    scheme: str
    host: str
    port: int | None
    target: str

    @classmethod
    def parse(cls, url: str, settings: FetchSettings) -> _Target:
        try:
            parts = urllib.parse.urlsplit(url)
            port = parts.port
        except ValueError as exc:
            raise UnsafeTarget(f"malformed URL {url!r}: {exc}") from exc
        scheme = parts.scheme.lower()
        allowed = ("https", "http") if settings.allow_plain_http else ("https",)
        if scheme not in allowed:
            raise UnsafeTarget(f"scheme {scheme!r} of {url!r} is refused; only {' or '.join(allowed)}")
        if parts.username is not None or parts.password is not None:
            raise UnsafeTarget(f"URL {url!r} carries credentials")
        host = _normalise_host(parts.hostname or "", url)
        target = urllib.parse.quote(parts.path or "/", safe=_URL_SAFE)
        if parts.query:
            target += "?" + urllib.parse.quote(parts.query, safe=_URL_SAFE)
        return cls(url=url, scheme=scheme, host=host, port=port, target=target)

    def host_header(self) -> bytes:
        host = f"[{self.host}]" if ":" in self.host else self.host
        if self.port is not None and self.port != _DEFAULT_PORTS[self.scheme]:
            host = f"{host}:{self.port}"
        return host.encode("ascii")

    def httpcore_url(self) -> httpcore.URL:
        return httpcore.URL(scheme=self.scheme, host=self.host, port=self.port, target=self.target)


def _normalise_host(host: str, url: str) -> str:
    if not host:
        raise UnsafeTarget(f"URL {url!r} has no host")
    if ip_literal(host) is not None:
        return host
    try:
        ascii_host = idna.encode(host, uts46=True).decode("ascii") if not host.isascii() else host.lower()
    except idna.IDNAError as exc:
        raise UnsafeTarget(f"malformed host in {url!r}: {exc}") from exc
    if not set(ascii_host) <= _HOST_CHARACTERS:
        raise UnsafeTarget(f"malformed host {host!r} in {url!r}")
    return ascii_host


class _Deadline:
    """The one deadline of a fetch, with a watchdog that shuts the fetch's sockets when it passes.

    Per-operation socket timeouts are shortened to the time left, which bounds a server that stops; the
    watchdog bounds one that keeps sending a byte at a time inside a single operation (a TLS handshake).
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._end = time.monotonic() + seconds
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self.expired = False
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True
        self._timer.start()

    def bound(self, requested: float | None, timeout: type[Exception]) -> float:
        left = self._end - time.monotonic()
        if left <= 0:
            self.expired = True
            raise timeout(f"total timeout of {self.seconds:g} s exceeded")
        return left if requested is None else min(requested, left)

    def watch(self, stream: httpcore.NetworkStream) -> None:
        sock = stream.get_extra_info("socket")
        if isinstance(sock, socket.socket):
            with self._lock:
                self._sockets.append(sock)

    def cancel(self) -> None:
        self._timer.cancel()

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            for sock in self._sockets:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    continue  # already closed: nothing left to interrupt


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream, deadline: _Deadline) -> None:
        self._inner = inner
        self._deadline = deadline
        deadline.watch(inner)

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, self._deadline.bound(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, self._deadline.bound(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        bounded = self._deadline.bound(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._inner.start_tls(ssl_context, server_hostname, bounded), self._deadline)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _GuardedBackend(httpcore.NetworkBackend):
    """Resolve, check every address, connect to a checked one: the SSRF check at connect time."""

    def __init__(self, settings: FetchSettings, deadline: _Deadline) -> None:
        self._settings = settings
        self._deadline = deadline
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        addresses = self._resolve(host, port)
        for address in addresses:
            reason = address_refusal(address, allow_private_networks=self._settings.allow_private_networks)
            if reason is not None:
                raise UnsafeTarget(f"{host} resolves to {address}, a {reason}; refused")
        port = self._settings.port_overrides.get(host, port)
        failure: httpcore.ConnectError | None = None
        for address in addresses:
            bounded = self._deadline.bound(timeout, httpcore.ConnectTimeout)
            try:
                stream = self._inner.connect_tcp(str(address), port, bounded, local_address, socket_options)
            except httpcore.ConnectError as exc:
                failure = exc
                continue
            self._check_peer(stream, address, host)
            return _DeadlineStream(stream, self._deadline)
        raise httpcore.ConnectError(f"no address of {host} accepted a connection: {failure}")

    def _resolve(self, host: str, port: int) -> list[IPAddress]:
        override = self._settings.resolve_overrides.get(host)
        if override is not None:
            return [ip_address(override)]
        literal = ip_literal(host)
        if literal is not None:
            return [literal]
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
        except (OSError, UnicodeError) as exc:
            raise Unavailable(f"cannot resolve {host}: {exc}") from exc
        addresses: list[IPAddress] = []
        for *_, sockaddr in infos:
            if not isinstance(sockaddr[0], str):
                continue  # a raw address family, neither IPv4 nor IPv6
            address = ip_address(sockaddr[0].partition("%")[0])  # drop an IPv6 zone index
            if address not in addresses:
                addresses.append(address)
        if not addresses:
            raise Unavailable(f"{host} has no IPv4 or IPv6 address")
        return addresses

    def _check_peer(self, stream: httpcore.NetworkStream, expected: IPAddress, host: str) -> None:
        # Defence in depth: the socket's peer must be the address that was checked.
        peer = stream.get_extra_info("server_addr")
        connected = ip_literal(str(peer[0]).partition("%")[0]) if isinstance(peer, tuple) and peer else None
        if connected != expected:
            stream.close()
            raise UnsafeTarget(f"connection to {host} reached {connected}, not the checked {expected}")


class SafeHttpFetcher:
    """The HttpFetcher port over ``httpcore``: HTTPS only, checked addresses, capped, one deadline."""

    def __init__(self, settings: FetchSettings | None = None) -> None:
        self._settings = settings if settings is not None else FetchSettings()

    def get(self, url: str) -> bytes:
        settings = self._settings
        target = _Target.parse(url, settings)
        deadline = _Deadline(settings.total_timeout_seconds)
        try:
            with httpcore.ConnectionPool(
                ssl_context=settings.ssl_context,
                network_backend=_GuardedBackend(settings, deadline),
                retries=0,
            ) as pool:
                for hop in range(settings.max_redirects + 1):
                    try:
                        outcome = self._request(pool, target, deadline)
                    except (
                        httpcore.TimeoutException,
                        httpcore.NetworkError,
                        httpcore.ProtocolError,
                        httpcore.UnsupportedProtocol,
                    ) as exc:
                        raise _translate(exc, target, deadline) from exc
                    if isinstance(outcome, bytes):
                        return outcome
                    if hop == settings.max_redirects:
                        break
                    target = _Target.parse(urllib.parse.urljoin(target.url, outcome), settings)
        finally:
            deadline.cancel()
        raise UnsafeTarget(f"more than {settings.max_redirects} redirects starting at {url}")

    def _request(self, pool: httpcore.ConnectionPool, target: _Target, deadline: _Deadline) -> bytes | str:
        """The body of a 200 answer, or the Location of a redirect."""
        seconds = deadline.seconds
        headers = [
            (b"Host", target.host_header()),
            (b"User-Agent", self._settings.user_agent.encode("ascii")),
            (b"Accept", b"text/plain, */*;q=0.1"),
            (b"Accept-Encoding", b"identity"),
        ]
        timeouts = {"connect": seconds, "read": seconds, "write": seconds, "pool": seconds}
        with pool.stream(
            "GET", target.httpcore_url(), headers=headers, extensions={"timeout": timeouts}
        ) as response:
            status = response.status
            if status in _REDIRECTS:
                location = _header(response.headers, b"location")
                if location is None:
                    raise Unavailable(f"{target.url} answered HTTP {status} without a Location")
                return location
            if status in _GONE:
                raise NotFound(f"{target.url} answered HTTP {status}")
            if status != 200:
                raise Unavailable(f"{target.url} answered HTTP {status}")
            return self._read_capped(response, target)

    def _read_capped(self, response: httpcore.Response, target: _Target) -> bytes:
        cap = self._settings.max_body_bytes
        declared = _header(response.headers, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > cap:
            raise UnsafeTarget(f"{target.url} announces {declared} bytes; the limit is {cap}")
        body = bytearray()
        for chunk in response.iter_stream():
            body += chunk
            if len(body) > cap:
                raise UnsafeTarget(f"{target.url} sent more than {cap} bytes; refused")
        return bytes(body)


def _header(headers: list[tuple[bytes, bytes]], name: bytes) -> str | None:
    for key, value in headers:
        if key.lower() == name:
            return value.decode("latin-1").strip()
    return None


def _translate(exc: Exception, target: _Target, deadline: _Deadline) -> AgentGovError:
    where = f"{target.host}:{target.port or _DEFAULT_PORTS[target.scheme]}"
    if deadline.expired or isinstance(exc, httpcore.TimeoutException):
        return Unavailable(f"{where} did not answer within {deadline.seconds:g} s")
    cause = _ssl_cause(exc)
    if isinstance(cause, ssl.SSLCertVerificationError):
        return UnsafeTarget(f"TLS certificate of {target.host} does not verify: {cause.verify_message}")
    if isinstance(exc, httpcore.UnsupportedProtocol):
        return UnsafeTarget(f"{target.url}: {exc}")
    if isinstance(cause, ssl.SSLError):
        return Unavailable(f"TLS with {where} failed: {cause.reason}")
    phrase = next((text for kind, text in _FAILURES if isinstance(exc, kind)), "network error with")
    return Unavailable(f"{phrase} {where}: {exc}")


def _ssl_cause(exc: Exception) -> ssl.SSLError | None:
    """The TLS error under an httpcore ConnectError (its argument: the pool re-raises ``from None``)."""
    candidates = (exc.__cause__, exc.__context__, *exc.args)
    return next((item for item in candidates if isinstance(item, ssl.SSLError)), None)


_FAILURES: Final[tuple[tuple[type[Exception], str], ...]] = (
    (httpcore.ConnectError, "cannot connect to"),
    (httpcore.ProtocolError, "HTTP protocol error with"),
)


class StaticHttpFetcher:
    """An in-memory HttpFetcher for tests and demos: URL -> body; any other URL is NotFound."""

    def __init__(self, pages: Mapping[str, bytes]) -> None:
        self._pages = dict(pages)

    def get(self, url: str) -> bytes:
        try:
            return self._pages[url]
        except KeyError:
            raise NotFound(f"{url} answered HTTP 404") from None

"""The SSRF-safe fetcher and the DNS resolvers, against a real local HTTPS server and a real UDP DNS server.

The HTTPS server listens on 127.0.0.1 with a certificate for ``org.example.test`` issued by a throwaway
CA; the fetcher reaches it with the test-only settings (private networks allowed, the name mapped to
127.0.0.1, the CA trusted). Everything the default settings refuse is shown to be refused before a
request reaches the server.
"""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from ipaddress import IPv4Address, ip_address
from pathlib import Path
from typing import Any, cast

import dns.message
import dns.rcode
import dns.rrset
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from typing_extensions import override

from agentgov.core.clock import FixedClock, SystemClock, isoformat_z
from agentgov.core.keys import Ed25519Signer
from agentgov.errors import NotFound, Unavailable, UnsafeTarget
from agentgov.identity.addresses import address_refusal
from agentgov.identity.dns import DnsSettings, DnsTxtResolver, StaticTxtResolver
from agentgov.identity.domain_proof import PROOF_PATH, proof_record, verify_domain_control
from agentgov.identity.fetch import FetchSettings, SafeHttpFetcher

HOST = "org.example.test"
OTHER_NAME = "other.example.test"  # not on the certificate
SIGNER = Ed25519Signer.from_seed(b"\x07" * 32)
PROOF = (proof_record(SIGNER.public_key_bytes()) + "\n").encode()
BIG = 100 * 1024
UNSPECIFIED = str(IPv4Address(0))  # 0.0.0.0
# Upper bound for any wait in this file; no test sleeps for a fixed time.
BOUND = 3.0


# --- a throwaway PKI ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pki:
    ca: Path
    cert: Path
    key: Path

    def client_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca))


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    directory = tmp_path_factory.mktemp("pki")
    now = datetime.now(UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(_name("agentgov test CA"))
        .issuer_name(_name("agentgov test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    server_key = ec.generate_private_key(ec.SECP256R1())
    server_cert = (
        x509.CertificateBuilder()
        .subject_name(_name(HOST))
        .issuer_name(ca_cert.subject)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(HOST)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(server_key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    paths = Pki(ca=directory / "ca.pem", cert=directory / "server.pem", key=directory / "server.key")
    paths.ca.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    paths.cert.write_bytes(server_cert.public_bytes(serialization.Encoding.PEM))
    paths.key.write_bytes(
        server_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return paths


# --- a real HTTPS server --------------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, context: ssl.SSLContext) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        # The handshake happens in the handler thread, so a client that stalls cannot block accept().
        self.socket = context.wrap_socket(self.socket, server_side=True, do_handshake_on_connect=False)
        self.hits: list[str] = []
        self.release = threading.Event()

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    @override
    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients that give up (timeouts, refused certificates) are expected here; stay quiet."""


class _Handler(SimpleHTTPRequestHandler):
    """Routes by path; derived from the file server only to override its ``do_GET``, never to serve files."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are separate writes; no 40 ms delayed-ACK stall

    @override
    def do_GET(self) -> None:
        server = cast("_Server", self.server)
        server.hits.append(self.path)
        port = server.port
        redirects = {
            "/redirect-relative": PROOF_PATH,
            "/redirect-metadata": "https://169.254.169.254/latest/meta-data/",
            "/redirect-http": f"http://{HOST}:{port}{PROOF_PATH}",
            "/redirect-loop": "/redirect-loop",
        }
        if self.path in redirects:
            self._send(302, b"", location=redirects[self.path])
        elif self.path == PROOF_PATH:
            self._send(200, PROOF)
        elif self.path == "/big":
            self._send(200, b"x" * BIG)
        elif self.path == "/big-unannounced":
            self._send_unannounced(b"x" * BIG)
        elif self.path == "/slow":
            server.release.wait(BOUND)
            self._send(200, PROOF)
        elif self.path == "/drip":
            self._drip(server.release)
        elif self.path == "/broken":
            self._send(500, b"oops")
        else:
            self._send(404, b"not here")

    def _send(self, status: int, body: bytes, location: str | None = None) -> None:
        self.send_response(status)
        if location is not None:
            self.send_header("Location", location)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _send_unannounced(self, body: bytes) -> None:
        self.close_connection = True
        self.send_response(200)
        self.send_header("Connection", "close")
        self.end_headers()
        try:
            self.wfile.write(body)
        except OSError:
            return  # the client stopped reading at its limit

    def _drip(self, release: threading.Event) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "1000")
        self.end_headers()
        deadline = time.monotonic() + BOUND
        try:
            while not release.wait(0.05) and time.monotonic() < deadline:
                self.wfile.write(b"x")
                self.wfile.flush()
        except OSError:
            return  # the client gave up, as it should

    @override
    def log_message(self, format: str, *args: Any) -> None:
        """Silence the access log."""


@pytest.fixture
def server(pki: Pki) -> Iterator[_Server]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(pki.cert, pki.key)
    httpd = _Server(context)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    yield httpd
    httpd.release.set()
    httpd.shutdown()
    httpd.server_close()
    thread.join(BOUND)


def lab(pki: Pki, **changes: Any) -> FetchSettings:
    """The test-only settings that let the fetcher reach the local server, with ``changes``."""
    base = FetchSettings(
        allow_private_networks=True,
        resolve_overrides={HOST: "127.0.0.1", OTHER_NAME: "127.0.0.1"},
        ssl_context=pki.client_context(),
        total_timeout_seconds=BOUND,
    )
    return replace(base, **changes)


def url(server: _Server, path: str = PROOF_PATH, host: str = HOST) -> str:
    return f"https://{host}:{server.port}{path}"


# --- what works -----------------------------------------------------------------------------------


def test_proof_is_fetched_over_tls_from_a_checked_address(pki: Pki, server: _Server) -> None:
    assert SafeHttpFetcher(lab(pki)).get(url(server)) == PROOF
    assert server.hits == [PROOF_PATH]


def test_domain_control_is_verified_end_to_end_over_https(pki: Pki, server: _Server) -> None:
    # The proof URL is fixed (https://DOMAIN/.well-known/...); the test reaches port 443's stand-in.
    fetcher = SafeHttpFetcher(lab(pki, port_overrides={HOST: server.port}))
    timestamp = isoformat_z(SystemClock().now())
    signature = SIGNER.sign(timestamp.encode()).hex()
    proof = verify_domain_control(HOST, "http", timestamp, signature, fetcher=fetcher, clock=SystemClock())
    assert proof.domain == HOST
    assert server.hits == [PROOF_PATH]


def test_relative_redirect_is_followed(pki: Pki, server: _Server) -> None:
    assert SafeHttpFetcher(lab(pki)).get(url(server, "/redirect-relative")) == PROOF
    assert server.hits == ["/redirect-relative", PROOF_PATH]


def test_connection_goes_to_the_address_that_was_checked(
    pki: Pki, server: _Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A rebinding name: 127.0.0.1 the first time it is resolved, 127.0.0.2 (where nothing listens)
    # afterwards. Resolving once and connecting to the checked address is what makes this succeed.
    answers = ["127.0.0.1", "127.0.0.2"]
    calls: list[str] = []

    def rebinding(host: str, port: int, *args: Any, **kwargs: Any) -> list[Any]:
        if host not in answers:  # an address literal resolves to itself
            calls.append(host)
            host = answers[min(len(calls), 2) - 1]
        return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (host, port))]

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    assert SafeHttpFetcher(lab(pki, resolve_overrides={})).get(url(server)) == PROOF
    assert calls == [HOST]


# --- what the default settings refuse -------------------------------------------------------------


def test_loopback_target_is_refused_by_default(pki: Pki, server: _Server) -> None:
    settings = FetchSettings(resolve_overrides={HOST: "127.0.0.1"}, ssl_context=pki.client_context())
    with pytest.raises(
        UnsafeTarget, match=r"org\.example\.test resolves to 127\.0\.0\.1, a loopback address"
    ):
        SafeHttpFetcher(settings).get(url(server))
    assert server.hits == []


def test_loopback_ip_literal_is_refused_by_default(pki: Pki, server: _Server) -> None:
    with pytest.raises(UnsafeTarget, match="loopback"):
        SafeHttpFetcher(FetchSettings(ssl_context=pki.client_context())).get(url(server, host="127.0.0.1"))
    assert server.hits == []


def test_name_resolving_to_loopback_is_refused_by_default(server: _Server) -> None:
    # Real resolution through getaddrinfo: localhost is 127.0.0.1 (and perhaps ::1).
    with pytest.raises(UnsafeTarget, match="loopback"):
        SafeHttpFetcher().get(url(server, host="localhost"))
    assert server.hits == []


def test_name_with_one_private_answer_among_public_ones_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    def mixed(host: str, port: int, *args: Any, **kwargs: Any) -> list[Any]:
        return [
            (socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", ("93.184.215.14", port)),
            (socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", ("10.1.2.3", port)),
        ]

    monkeypatch.setattr(socket, "getaddrinfo", mixed)
    with pytest.raises(UnsafeTarget, match=r"resolves to 10\.1\.2\.3, a private address"):
        SafeHttpFetcher().get("https://mixed.example.test/")


def test_redirect_to_private_address_is_refused(pki: Pki, server: _Server) -> None:
    # Even the test-only allowance never reaches link-local space (the cloud metadata service).
    with pytest.raises(UnsafeTarget, match=r"169\.254\.169\.254, a link-local address"):
        SafeHttpFetcher(lab(pki)).get(url(server, "/redirect-metadata"))
    assert server.hits == ["/redirect-metadata"]


def test_redirect_to_plain_http_is_refused(pki: Pki, server: _Server) -> None:
    with pytest.raises(UnsafeTarget, match="scheme 'http'"):
        SafeHttpFetcher(lab(pki)).get(url(server, "/redirect-http"))
    assert server.hits == ["/redirect-http"]


def test_redirect_loop_stops_at_the_limit(pki: Pki, server: _Server) -> None:
    with pytest.raises(UnsafeTarget, match="more than 3 redirects"):
        SafeHttpFetcher(lab(pki)).get(url(server, "/redirect-loop"))
    assert server.hits == ["/redirect-loop"] * 4


def test_no_redirect_is_followed_when_the_limit_is_zero(pki: Pki, server: _Server) -> None:
    with pytest.raises(UnsafeTarget, match="more than 0 redirects"):
        SafeHttpFetcher(lab(pki, max_redirects=0)).get(url(server, "/redirect-relative"))
    assert server.hits == ["/redirect-relative"]


@pytest.mark.parametrize(
    "target",
    [
        "http://org.example.test/.well-known/mcp-registry-auth",
        "file:///etc/passwd",
        "ftp://org.example.test/",
        "gopher://org.example.test:70/_",
        "//org.example.test/",
    ],
)
def test_scheme_other_than_https_is_refused(target: str) -> None:
    with pytest.raises(UnsafeTarget, match="scheme"):
        SafeHttpFetcher().get(target)


@pytest.mark.parametrize(
    ("target", "reason"),
    [
        ("https://user:secret@org.example.test/", "credentials"),
        ("https:///path", "no host"),
        ("https://org.example.test:99999/", "malformed URL"),
        ("https://bad host.example/", "malformed host"),
    ],
)
def test_malformed_url_is_refused(target: str, reason: str) -> None:
    with pytest.raises(UnsafeTarget, match=reason):
        SafeHttpFetcher().get(target)


def test_oversize_body_is_refused(pki: Pki, server: _Server) -> None:
    with pytest.raises(UnsafeTarget, match=f"announces {BIG} bytes; the limit is 65536"):
        SafeHttpFetcher(lab(pki)).get(url(server, "/big"))


def test_oversize_body_without_announced_length_is_cut_off(pki: Pki, server: _Server) -> None:
    with pytest.raises(UnsafeTarget, match="sent more than 65536 bytes"):
        SafeHttpFetcher(lab(pki)).get(url(server, "/big-unannounced"))


def test_body_limit_is_configurable(pki: Pki, server: _Server) -> None:
    with pytest.raises(UnsafeTarget, match="the limit is 16"):
        SafeHttpFetcher(lab(pki, max_body_bytes=16)).get(url(server))


def test_slow_server_times_out(pki: Pki, server: _Server) -> None:
    started = time.monotonic()
    with pytest.raises(Unavailable, match=r"did not answer within 0\.2 s"):
        SafeHttpFetcher(lab(pki, total_timeout_seconds=0.2)).get(url(server, "/slow"))
    assert time.monotonic() - started < BOUND


def test_dripping_server_hits_the_total_timeout(pki: Pki, server: _Server) -> None:
    # A byte every 50 ms never trips a per-read timeout; only the total deadline stops it.
    started = time.monotonic()
    with pytest.raises(Unavailable, match=r"did not answer within 0\.3 s"):
        SafeHttpFetcher(lab(pki, total_timeout_seconds=0.3)).get(url(server, "/drip"))
    assert time.monotonic() - started < BOUND


def test_certificate_from_an_untrusted_issuer_is_refused(pki: Pki, server: _Server) -> None:
    with pytest.raises(UnsafeTarget, match=r"TLS certificate of org\.example\.test does not verify"):
        SafeHttpFetcher(lab(pki, ssl_context=None)).get(url(server))
    assert server.hits == []


def test_certificate_for_another_name_is_refused(pki: Pki, server: _Server) -> None:
    with pytest.raises(UnsafeTarget, match=r"TLS certificate of other\.example\.test does not verify"):
        SafeHttpFetcher(lab(pki)).get(url(server, host=OTHER_NAME))
    assert server.hits == []


def test_missing_file_is_not_found(pki: Pki, server: _Server) -> None:
    with pytest.raises(NotFound, match="HTTP 404"):
        SafeHttpFetcher(lab(pki)).get(url(server, "/missing"))


def test_server_error_is_unavailable(pki: Pki, server: _Server) -> None:
    with pytest.raises(Unavailable, match="HTTP 500"):
        SafeHttpFetcher(lab(pki)).get(url(server, "/broken"))


def test_closed_port_is_unavailable(pki: Pki) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(Unavailable, match="cannot connect"):
        SafeHttpFetcher(lab(pki)).get(f"https://{HOST}:{port}/")


def test_unresolvable_name_is_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    def failing(*args: Any, **kwargs: Any) -> list[Any]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", failing)
    with pytest.raises(Unavailable, match=r"cannot resolve nowhere\.example\.test"):
        SafeHttpFetcher().get("https://nowhere.example.test/")


# --- the address policy ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("10.0.0.1", "private"),
        ("172.16.5.4", "private"),
        ("192.168.1.1", "private"),
        ("fc00::1", "private"),
        ("100.64.0.1", "RFC 6598"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        (UNSPECIFIED, "unspecified"),
        ("::", "unspecified"),
        ("224.0.0.251", "multicast"),
        ("ff02::1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("255.255.255.255", "reserved"),
        ("192.0.2.10", "private"),
        ("fec0::1", "site-local"),
        ("::ffff:127.0.0.1", "IPv4-mapped loopback"),
        ("::ffff:169.254.169.254", "IPv4-mapped link-local"),
        ("64:ff9b::a00:1", "NAT64-embedded private"),
        ("2002:7f00:1::", "6to4-embedded loopback"),
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "Teredo"),
    ],
)
def test_non_public_addresses_are_refused(address: str, reason: str) -> None:
    refusal = address_refusal(ip_address(address))
    assert refusal is not None
    assert reason in refusal


@pytest.mark.parametrize(
    "address", ["93.184.215.14", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808"]
)
def test_public_addresses_are_allowed(address: str) -> None:
    assert address_refusal(ip_address(address)) is None


@pytest.mark.parametrize(
    ("address", "allowed"),
    [
        ("127.0.0.1", True),
        ("10.0.0.1", True),
        ("::ffff:192.168.0.1", True),
        ("169.254.169.254", False),
        (UNSPECIFIED, False),
        ("224.0.0.1", False),
        ("240.0.0.1", False),
    ],
)
def test_private_network_allowance_never_reaches_metadata_or_unspecified(address: str, allowed: bool) -> None:
    refusal = address_refusal(ip_address(address), allow_private_networks=True)
    assert (refusal is None) is allowed


# --- DNS --------------------------------------------------------------------------------------------


class _DnsServer:
    """A UDP name server on 127.0.0.1 that answers TXT queries from a dict (NXDOMAIN otherwise)."""

    def __init__(self, records: dict[str, list[str]], *, answer: bool = True) -> None:
        self.records = records
        self.answer = answer
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.01)
        self.port = int(self.sock.getsockname()[1])
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                data, peer = self.sock.recvfrom(4096)
            except TimeoutError:
                continue
            if not self.answer:
                continue
            query = dns.message.from_wire(data)
            response = dns.message.make_response(query)
            question = query.question[0]
            name = question.name.to_text(omit_final_dot=True).lower()
            if name in self.records:
                response.answer.append(
                    dns.rrset.from_text(question.name, 60, "IN", "TXT", *self.records[name])
                )
            else:
                response.set_rcode(dns.rcode.NXDOMAIN)
            self.sock.sendto(response.to_wire(), peer)

    def close(self) -> None:
        self.stop.set()
        self.thread.join(BOUND)
        self.sock.close()


@pytest.fixture
def name_server() -> Iterator[_DnsServer]:
    key = SIGNER.public_key_bytes()
    record = proof_record(key)
    head, tail = record[:20], record[20:]
    served = _DnsServer(
        {
            HOST: ['"v=spf1 -all"', f'"{record}"'],
            # One TXT record written as two character-strings, as long records are.
            "split.example.test": [f'"{head}" "{tail}"'],
        }
    )
    yield served
    served.close()


def test_dns_txt_resolver_reads_records_from_a_real_server(name_server: _DnsServer) -> None:
    resolver = DnsTxtResolver(
        DnsSettings(nameservers=["127.0.0.1"], port=name_server.port, timeout_seconds=BOUND)
    )
    assert sorted(resolver.txt(HOST)) == sorted(["v=spf1 -all", proof_record(SIGNER.public_key_bytes())])


def test_txt_character_strings_are_joined(name_server: _DnsServer) -> None:
    resolver = DnsTxtResolver(
        DnsSettings(nameservers=["127.0.0.1"], port=name_server.port, timeout_seconds=BOUND)
    )
    assert resolver.txt("split.example.test") == [proof_record(SIGNER.public_key_bytes())]


def test_missing_name_has_no_records(name_server: _DnsServer) -> None:
    resolver = DnsTxtResolver(
        DnsSettings(nameservers=["127.0.0.1"], port=name_server.port, timeout_seconds=BOUND)
    )
    assert resolver.txt("absent.example.test") == []


def test_dns_proof_verifies_end_to_end_over_udp(name_server: _DnsServer) -> None:
    resolver = DnsTxtResolver(
        DnsSettings(nameservers=["127.0.0.1"], port=name_server.port, timeout_seconds=BOUND)
    )
    clock = FixedClock(datetime(2026, 3, 1, 8, 30, tzinfo=UTC))
    timestamp = isoformat_z(clock.now())
    signature = SIGNER.sign(timestamp.encode()).hex()
    proof = verify_domain_control(HOST, "dns", timestamp, signature, resolver=resolver, clock=clock)
    assert proof.method == "dns"


def test_silent_name_server_is_unavailable() -> None:
    silent = _DnsServer({}, answer=False)
    try:
        resolver = DnsTxtResolver(
            DnsSettings(nameservers=["127.0.0.1"], port=silent.port, timeout_seconds=0.2)
        )
        started = time.monotonic()
        with pytest.raises(Unavailable, match=r"did not finish within 0\.2 s"):
            resolver.txt(HOST)
        assert time.monotonic() - started < BOUND
    finally:
        silent.close()


def test_static_txt_resolver_ignores_case_and_the_root_dot() -> None:
    resolver = StaticTxtResolver({"Org.Example.Test.": ["v=MCPv1; k=ed25519; p=AAAA"]})
    assert resolver.txt("org.example.test") == ["v=MCPv1; k=ed25519; p=AAAA"]
    assert resolver.txt("other.example.test") == []

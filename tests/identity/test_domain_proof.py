"""Domain-control proofs (MCP Registry format): record parsing, timestamps, signatures, domain names."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agentgov.core.clock import FixedClock, isoformat_z
from agentgov.core.keys import Ed25519Signer
from agentgov.errors import InvalidInput, Unavailable, VerificationFailed
from agentgov.identity.dns import StaticTxtResolver
from agentgov.identity.domain_proof import (
    DomainProofSettings,
    decode_proof_signature,
    normalise_domain,
    parse_proof_records,
    parse_proof_timestamp,
    proof_record,
    proof_url,
    scan_proof_records,
    verify_domain_control,
)
from agentgov.identity.fetch import StaticHttpFetcher

NOW = datetime(2026, 3, 1, 8, 30, tzinfo=UTC)
DOMAIN = "org.example.test"
URL = f"https://{DOMAIN}/.well-known/mcp-registry-auth"
SIGNER = Ed25519Signer.from_seed(bytes(range(32)))
OTHER = Ed25519Signer.from_seed(bytes(range(1, 33)))


def record_for(signer: Ed25519Signer) -> str:
    return proof_record(signer.public_key_bytes())


def signed(timestamp: str, signer: Ed25519Signer = SIGNER) -> str:
    return signer.sign(timestamp.encode("utf-8")).hex()


def http_fetcher(*lines: str) -> StaticHttpFetcher:
    return StaticHttpFetcher({URL: "\n".join(lines).encode("utf-8")})


# --- parsing --------------------------------------------------------------------------------------


def test_record_round_trips_through_the_parser() -> None:
    assert parse_proof_records(record_for(SIGNER)) == [SIGNER.public_key_bytes()]


def test_every_line_that_parses_counts() -> None:
    body = "\n".join(["# keys of org.example.test", record_for(SIGNER), "", record_for(OTHER) + ";"])
    assert parse_proof_records(body) == [SIGNER.public_key_bytes(), OTHER.public_key_bytes()]


def test_white_space_around_tags_is_tolerated() -> None:
    key = base64.b64encode(SIGNER.public_key_bytes()).decode()
    assert parse_proof_records(f"  v=MCPv1 ;k=ed25519;   p={key}  \r\n") == [SIGNER.public_key_bytes()]


def test_a_key_published_twice_is_listed_once() -> None:
    assert parse_proof_records([record_for(SIGNER), record_for(SIGNER)]) == [SIGNER.public_key_bytes()]


def test_unrelated_txt_records_are_ignored_silently() -> None:
    scan = scan_proof_records(["v=spf1 include:_spf.example.test ~all", "google-site-verification=abc"])
    assert scan.keys == ()
    assert scan.skipped == ()


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("v=MCPv2; k=ed25519; p=AAAA", "unsupported version 'MCPv2'"),
        ("v=MCPv1; k=ecdsap384; p=AAAA", "unsupported key type 'ecdsap384'"),
        ("v=MCPv1; k=ed25519; p=not base64!", "not standard base64"),
        ("v=MCPv1; k=ed25519; p=AAAA", "public key is 3 bytes"),
        ("v=MCPv1; k=ed25519", "missing k or p tag"),
        ("v=MCPv1; k=ed25519; k=ed25519; p=AAAA", "tag 'k' appears twice"),
        ("v=MCPv1; k=ed25519; p=AAAA; x=1", "unknown tag 'x'"),
        ("v=MCPv1; ed25519", "is not a tag=value pair"),
        ("v=MCPv1 k=ed25519 p=AAAA", "unsupported version"),
    ],
)
def test_malformed_or_unsupported_record_is_skipped_and_reported(line: str, reason: str) -> None:
    scan = scan_proof_records(line)
    assert scan.keys == ()
    assert len(scan.skipped) == 1
    assert reason in scan.skipped[0]


def test_skipped_records_do_not_hide_a_good_one() -> None:
    scan = scan_proof_records(["v=MCPv1; k=ecdsap384; p=AAAA", record_for(SIGNER)])
    assert scan.keys == (SIGNER.public_key_bytes(),)
    assert scan.skipped == ("record 1: unsupported key type 'ecdsap384' (only ed25519)",)


def test_record_for_a_short_key_cannot_be_written() -> None:
    with pytest.raises(InvalidInput, match="32 bytes"):
        proof_record(b"\x00" * 31)


@given(st.binary(min_size=32, max_size=32))
def test_any_key_round_trips(key: bytes) -> None:
    assert parse_proof_records(proof_record(key)) == [key]


# --- timestamps and signatures -------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "2026-03-01T08:30:00Z",
        "2026-03-01t08:30:00z",
        "2026-03-01T16:30:00+08:00",
        "2026-03-01T08:30:00.000000001Z",
    ],
)
def test_rfc3339_timestamps_parse_to_utc(text: str) -> None:
    assert parse_proof_timestamp(text) == NOW


@pytest.mark.parametrize(
    "text",
    ["2026-03-01T08:30:00", "2026-03-01 08:30:00Z", "2026-03-01", "1772353800", "2026-02-30T08:30:00Z"],
)
def test_timestamp_that_is_not_rfc3339_is_refused(text: str) -> None:
    with pytest.raises(InvalidInput, match="timestamp"):
        parse_proof_timestamp(text)


def test_signature_encodings_are_all_accepted() -> None:
    raw = SIGNER.sign(b"x")
    for text in (
        raw.hex(),
        raw.hex().upper(),
        base64.b64encode(raw).decode(),
        base64.urlsafe_b64encode(raw).rstrip(b"=").decode(),
    ):
        assert decode_proof_signature(text) == raw


@pytest.mark.parametrize("text", ["zz" * 64, "abcd", "@" * 88, "AA" * 63])
def test_malformed_signature_is_refused(text: str) -> None:
    with pytest.raises(InvalidInput, match="signature"):
        decode_proof_signature(text)


# --- verification ---------------------------------------------------------------------------------


def test_http_proof_verifies() -> None:
    timestamp = isoformat_z(NOW)
    proof = verify_domain_control(
        DOMAIN,
        "http",
        timestamp,
        signed(timestamp),
        fetcher=http_fetcher(record_for(SIGNER)),
        clock=FixedClock(NOW),
    )
    assert proof.domain == DOMAIN
    assert proof.method == "http"
    assert base64.b64decode(proof.public_key) == SIGNER.public_key_bytes()
    assert proof.verified_at == NOW


def test_dns_txt_proof_verifies_with_fake_resolver() -> None:
    timestamp = isoformat_z(NOW)
    resolver = StaticTxtResolver({DOMAIN: ["v=spf1 -all", record_for(OTHER), record_for(SIGNER)]})
    proof = verify_domain_control(
        DOMAIN, "dns", timestamp, signed(timestamp), resolver=resolver, clock=FixedClock(NOW)
    )
    assert proof.method == "dns"
    assert proof.public_key == base64.b64encode(SIGNER.public_key_bytes()).decode()


def test_unicode_domain_is_proven_under_its_ascii_name() -> None:
    timestamp = isoformat_z(NOW)
    resolver = StaticTxtResolver({"xn--fsqu00a.xn--0zwm56d": [record_for(SIGNER)]})
    proof = verify_domain_control(
        "例子.测试", "dns", timestamp, signed(timestamp), resolver=resolver, clock=FixedClock(NOW)
    )
    assert proof.domain == "xn--fsqu00a.xn--0zwm56d"


def test_proof_with_stale_timestamp_is_refused() -> None:
    timestamp = isoformat_z(NOW - timedelta(minutes=5, seconds=1))
    with pytest.raises(VerificationFailed, match="301 s behind the platform clock"):
        verify_domain_control(
            DOMAIN,
            "http",
            timestamp,
            signed(timestamp),
            fetcher=http_fetcher(record_for(SIGNER)),
            clock=FixedClock(NOW),
        )


def test_proof_from_the_future_is_refused() -> None:
    timestamp = isoformat_z(NOW + timedelta(minutes=6))
    with pytest.raises(VerificationFailed, match="ahead of the platform clock"):
        verify_domain_control(
            DOMAIN,
            "http",
            timestamp,
            signed(timestamp),
            fetcher=http_fetcher(record_for(SIGNER)),
            clock=FixedClock(NOW),
        )


def test_timestamp_at_the_edge_of_the_window_is_accepted() -> None:
    timestamp = isoformat_z(NOW - timedelta(minutes=5))
    proof = verify_domain_control(
        DOMAIN,
        "http",
        timestamp,
        signed(timestamp),
        fetcher=http_fetcher(record_for(SIGNER)),
        clock=FixedClock(NOW),
    )
    assert proof.verified_at == NOW


def test_window_is_configurable() -> None:
    timestamp = isoformat_z(NOW - timedelta(seconds=20))
    with pytest.raises(VerificationFailed, match="within ±15 s"):
        verify_domain_control(
            DOMAIN,
            "http",
            timestamp,
            signed(timestamp),
            fetcher=http_fetcher(record_for(SIGNER)),
            clock=FixedClock(NOW),
            settings=DomainProofSettings(max_clock_skew=timedelta(seconds=15)),
        )


def test_stale_timestamp_is_refused_before_any_fetch() -> None:
    class Exploding:
        def get(self, url: str) -> bytes:
            raise AssertionError(f"fetched {url}")

    timestamp = isoformat_z(NOW - timedelta(hours=1))
    with pytest.raises(VerificationFailed, match="behind"):
        verify_domain_control(
            DOMAIN, "http", timestamp, signed(timestamp), fetcher=Exploding(), clock=FixedClock(NOW)
        )


def test_signature_by_unpublished_key_is_refused() -> None:
    timestamp = isoformat_z(NOW)
    with pytest.raises(VerificationFailed, match="signature matches no key published") as caught:
        verify_domain_control(
            DOMAIN,
            "http",
            timestamp,
            signed(timestamp, OTHER),
            fetcher=http_fetcher(record_for(SIGNER)),
            clock=FixedClock(NOW),
        )
    fingerprint = base64.b64encode(SIGNER.public_key_bytes()).decode()[:8]
    assert f"ed25519:{fingerprint}" in caught.value.detail


def test_signature_over_another_timestamp_is_refused() -> None:
    timestamp = isoformat_z(NOW)
    other = isoformat_z(NOW - timedelta(seconds=1))
    with pytest.raises(VerificationFailed, match="signature matches no key"):
        verify_domain_control(
            DOMAIN,
            "http",
            timestamp,
            signed(other),
            fetcher=http_fetcher(record_for(SIGNER)),
            clock=FixedClock(NOW),
        )


def test_signature_is_over_the_timestamp_exactly_as_sent() -> None:
    # The same instant written with an offset is a different message.
    sent = "2026-03-01T16:30:00+08:00"
    with pytest.raises(VerificationFailed, match="signature matches no key"):
        verify_domain_control(
            DOMAIN,
            "http",
            sent,
            signed(isoformat_z(NOW)),
            fetcher=http_fetcher(record_for(SIGNER)),
            clock=FixedClock(NOW),
        )
    proof = verify_domain_control(
        DOMAIN, "http", sent, signed(sent), fetcher=http_fetcher(record_for(SIGNER)), clock=FixedClock(NOW)
    )
    assert proof.domain == DOMAIN


def test_missing_well_known_file_is_refused() -> None:
    timestamp = isoformat_z(NOW)
    with pytest.raises(VerificationFailed, match=r"no proof record found.*HTTP 404"):
        verify_domain_control(
            DOMAIN, "http", timestamp, signed(timestamp), fetcher=StaticHttpFetcher({}), clock=FixedClock(NOW)
        )


def test_domain_without_txt_records_is_refused() -> None:
    timestamp = isoformat_z(NOW)
    with pytest.raises(VerificationFailed, match=f"no valid proof record found at DNS TXT {DOMAIN}$"):
        verify_domain_control(
            DOMAIN, "dns", timestamp, signed(timestamp), resolver=StaticTxtResolver({}), clock=FixedClock(NOW)
        )


def test_only_unsupported_records_are_refused_with_the_reasons() -> None:
    timestamp = isoformat_z(NOW)
    with pytest.raises(VerificationFailed, match=r"skipped: line 1: unsupported version 'MCPv9'"):
        verify_domain_control(
            DOMAIN,
            "http",
            timestamp,
            signed(timestamp),
            fetcher=http_fetcher("v=MCPv9; k=ed25519; p=AAAA"),
            clock=FixedClock(NOW),
        )


def test_unavailable_fetcher_is_not_reported_as_a_failed_proof() -> None:
    class Down:
        def get(self, url: str) -> bytes:
            raise Unavailable(f"{url} did not answer")

    timestamp = isoformat_z(NOW)
    with pytest.raises(Unavailable):
        verify_domain_control(
            DOMAIN, "http", timestamp, signed(timestamp), fetcher=Down(), clock=FixedClock(NOW)
        )


def test_method_without_its_port_is_a_wiring_error() -> None:
    timestamp = isoformat_z(NOW)
    with pytest.raises(InvalidInput, match="needs a fetcher"):
        verify_domain_control(DOMAIN, "http", timestamp, signed(timestamp), clock=FixedClock(NOW))
    with pytest.raises(InvalidInput, match="needs a resolver"):
        verify_domain_control(DOMAIN, "dns", timestamp, signed(timestamp), clock=FixedClock(NOW))


def test_unknown_method_is_refused() -> None:
    timestamp = isoformat_z(NOW)
    method: Any = "ftp"  # what an untyped caller could send
    with pytest.raises(InvalidInput, match="unknown proof method 'ftp'"):
        verify_domain_control(DOMAIN, method, timestamp, signed(timestamp), clock=FixedClock(NOW))


@given(st.binary(min_size=32, max_size=32), st.integers(min_value=-300_000_000, max_value=300_000_000))
def test_any_key_and_any_timestamp_in_the_window_verifies(seed: bytes, offset_us: int) -> None:
    signer = Ed25519Signer.from_seed(seed)
    timestamp = isoformat_z(NOW + timedelta(microseconds=offset_us))
    resolver = StaticTxtResolver({DOMAIN: [record_for(signer)]})
    proof = verify_domain_control(
        DOMAIN, "dns", timestamp, signed(timestamp, signer), resolver=resolver, clock=FixedClock(NOW)
    )
    assert proof.public_key == base64.b64encode(signer.public_key_bytes()).decode()


# --- domain names --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Example.COM", "example.com"),
        ("org.example.test.", "org.example.test"),
        ("例子.测试", "xn--fsqu00a.xn--0zwm56d"),
        ("xn--fsqu00a.xn--0zwm56d", "xn--fsqu00a.xn--0zwm56d"),
        ("a-b.c-d.example", "a-b.c-d.example"),
        ("1.example", "1.example"),
    ],
)
def test_domain_is_normalised(text: str, expected: str) -> None:
    assert normalise_domain(text) == expected
    assert proof_url(text) == f"https://{expected}/.well-known/mcp-registry-auth"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        ("localhost", "single label"),
        ("127.0.0.1", "IP address"),
        ("[::1]", "IP address"),
        ("::ffff:127.0.0.1", "IP address"),
        ("1.2.3", "all digits"),
        ("a..example", "IDNA|empty label"),
        ("-a.example", "hyphen"),
        ("a_b.example", "IDNA|characters"),
        ("exa mple.com", "white space"),
        ("x" * 64 + ".example", "Label too long"),
        (".".join(["a" * 60] * 5), "Domain too long"),
        ("*.example.com", "IDNA|characters"),
        ("xn--zz.example", "IDNA"),
        ("example.com/path", "IDNA|characters"),
    ],
)
def test_bad_domain_is_refused(text: str, reason: str) -> None:
    with pytest.raises(InvalidInput, match=reason):
        normalise_domain(text)

"""Domain-control proofs in the format of the MCP Registry (HTTP and DNS methods).

A domain publishes one or more proof records::

    v=MCPv1; k=ed25519; p=<standard base64 of the 32-byte Ed25519 public key>

either in the body of ``https://DOMAIN/.well-known/mcp-registry-auth`` (one record a line; any line that
parses counts) or as a TXT record on DOMAIN itself. The claimant proves control of the domain by signing
the current time: the message is the RFC 3339 timestamp exactly as sent (its UTF-8 bytes) and the
signature is Ed25519 over it. The platform checks the timestamp against its clock, fetches the records
and accepts when the signature verifies under one of the published keys.

Parsing is pure (:func:`parse_proof_records`, :func:`scan_proof_records`); the network lives behind two
ports, :class:`HttpFetcher` and :class:`TxtResolver`, whose adapters are in ``identity/fetch.py``.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
import string
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, Literal, Protocol

import idna

from agentgov.core.clock import Clock, ensure_utc
from agentgov.core.keys import Ed25519Verifier, b64decode_any
from agentgov.errors import InvalidInput, InvalidSignature, NotFound, VerificationFailed

__all__ = [
    "PROOF_PATH",
    "DomainProof",
    "DomainProofSettings",
    "HttpFetcher",
    "ProofMethod",
    "ProofRecordScan",
    "TxtResolver",
    "decode_proof_signature",
    "normalise_domain",
    "parse_proof_records",
    "parse_proof_timestamp",
    "proof_record",
    "proof_url",
    "scan_proof_records",
    "verify_domain_control",
]

PROOF_PATH: Final = "/.well-known/mcp-registry-auth"
ProofMethod = Literal["http", "dns"]

_VERSION: Final = "MCPv1"
_KEY_TYPE: Final = "ed25519"
_ED25519_KEY_BYTES: Final = 32
_ED25519_SIGNATURE_BYTES: Final = 64
_TAGS: Final = ("v", "k", "p")
# RFC 1035 §2.3.4 and RFC 1123 §2.1: 63 octets a label, 253 characters a name (without the root dot).
_MAX_LABEL: Final = 63
_MAX_NAME: Final = 253
_LDH: Final = frozenset(string.ascii_lowercase + string.digits + "-")
# RFC 3339 §5.6 date-time. datetime.fromisoformat alone accepts far more (no offset, a space separator,
# week dates), and a naive time must never be compared with the clock.
_RFC3339: Final = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:[Zz]|[+-]\d{2}:\d{2})",
    re.ASCII,
)
_HEX_SIGNATURE: Final = re.compile(r"[0-9a-fA-F]{128}", re.ASCII)
_B64URL_ALPHABET: Final = frozenset(string.ascii_letters + string.digits + "-_")
_METHODS: Final[frozenset[str]] = frozenset({"http", "dns"})


class HttpFetcher(Protocol):
    def get(self, url: str) -> bytes:
        """The body of a 200 answer; NotFound for 404/410; UnsafeTarget or Unavailable otherwise."""
        ...


class TxtResolver(Protocol):
    def txt(self, domain: str) -> list[str]:
        """The TXT records of ``domain`` (each one's strings joined); [] when there are none."""
        ...


@dataclass(frozen=True, slots=True)
class DomainProofSettings:
    # How far the signed timestamp may be from our clock, either way. It absorbs clock skew between the
    # claimant's machine and ours plus the time a person takes to run the signing command and submit;
    # it also bounds how long an intercepted (timestamp, signature) pair can be replayed. The MCP
    # Registry itself allows ±15 s; we allow 5 minutes because claimants here are often people working
    # through the web console rather than a CLI that signs and submits in one step.
    max_clock_skew: timedelta = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class DomainProof:
    """The outcome of a successful proof: who proved what, how, with which key, and when."""

    domain: str
    method: ProofMethod
    public_key: str  # standard base64 of the raw 32-byte Ed25519 key, as published in the record
    verified_at: datetime


@dataclass(frozen=True, slots=True)
class ProofRecordScan:
    """What a body or a set of TXT records contained: usable keys, and why other records were skipped."""

    keys: tuple[bytes, ...]
    skipped: tuple[str, ...]


def proof_url(domain: str) -> str:
    """Where the HTTP method looks for records."""
    return f"https://{normalise_domain(domain)}{PROOF_PATH}"


def proof_record(public_key: bytes) -> str:
    """The record a domain publishes for ``public_key`` (the inverse of :func:`parse_proof_records`)."""
    if len(public_key) != _ED25519_KEY_BYTES:
        raise InvalidInput(f"an Ed25519 public key is {_ED25519_KEY_BYTES} bytes, got {len(public_key)}")
    return f"v={_VERSION}; k={_KEY_TYPE}; p={base64.b64encode(public_key).decode('ascii')}"


def parse_proof_records(text: str | list[str]) -> list[bytes]:
    """The Ed25519 public keys published in ``text`` (a body, or a list of TXT records), in order.

    Strict: see :func:`scan_proof_records` for the grammar and for the reasons records are skipped.
    """
    return list(scan_proof_records(text).keys)


def scan_proof_records(text: str | list[str]) -> ProofRecordScan:
    """Parse every line; keep the keys of well-formed ``v=MCPv1`` records and say why others were skipped.

    A record is a tag list ``v=MCPv1; k=ed25519; p=<base64>``: tags separated by ``;`` with optional
    white space around them and an optional trailing ``;``; ``v`` first; each of ``v``, ``k``, ``p``
    exactly once and no other tag; ``p`` standard base64 with padding decoding to 32 bytes. A line whose
    first tag is not ``v=MCP...`` is not a proof record at all (an SPF record, a comment) and is ignored
    silently; a line that claims to be one and is malformed, or names another version or key type, is
    skipped and reported.
    """
    lines, unit = (text, "record") if isinstance(text, list) else (text.splitlines(), "line")
    keys: list[bytes] = []
    skipped: list[str] = []
    for number, raw in enumerate(lines, start=1):
        line = raw.lstrip("\ufeff").strip()
        if not line.startswith("v=MCP"):
            continue
        key, problem = _parse_record(line)
        if problem is not None:
            skipped.append(f"{unit} {number}: {problem}")
        elif key is not None and key not in keys:
            keys.append(key)
    return ProofRecordScan(keys=tuple(keys), skipped=tuple(skipped))


def _parse_record(line: str) -> tuple[bytes | None, str | None]:
    tags = _split_tags(line)
    if isinstance(tags, str):
        return None, tags
    version, key_type = tags.get("v"), tags.get("k")
    checks = (
        (next(iter(tags)) != "v", "the v tag must come first"),
        (version != _VERSION, f"unsupported version {version!r} (only {_VERSION})"),
        (key_type is None or "p" not in tags, "missing k or p tag"),
        (key_type != _KEY_TYPE, f"unsupported key type {key_type!r} (only {_KEY_TYPE})"),
    )
    problem = next((message for failed, message in checks if failed), None)
    if problem is not None:
        return None, problem
    try:
        key = b64decode_any(tags["p"])
    except InvalidInput:
        return None, "public key is not standard base64"
    if len(key) != _ED25519_KEY_BYTES:
        return None, f"public key is {len(key)} bytes, an Ed25519 key is {_ED25519_KEY_BYTES}"
    return key, None


def _split_tags(line: str) -> dict[str, str] | str:
    """The tags of a record in order, or why it is not a tag list."""
    parts = [part.strip() for part in line.split(";")]
    if parts[-1] == "":
        parts.pop()  # one trailing separator is allowed
    tags: dict[str, str] = {}
    for part in parts:
        name, sep, value = part.partition("=")
        name = name.strip()
        if not sep:
            return f"{part!r} is not a tag=value pair"
        if name not in _TAGS:
            return f"unknown tag {name!r}"
        if name in tags:
            return f"tag {name!r} appears twice"
        tags[name] = value.strip()
    return tags


def parse_proof_timestamp(timestamp: str) -> datetime:
    """An RFC 3339 date-time with an offset, as an aware UTC datetime; InvalidInput otherwise.

    Fractions beyond microseconds are accepted and truncated; a leap second (``:60``) is refused.
    """
    if not _RFC3339.fullmatch(timestamp):
        raise InvalidInput(
            f"timestamp {timestamp!r} is not an RFC 3339 date-time with an offset "
            f"(e.g. 2025-01-01T12:00:00Z)",
            field="timestamp",
        )
    try:
        parsed = datetime.fromisoformat(timestamp.upper())
    except ValueError as exc:
        raise InvalidInput(
            f"timestamp {timestamp!r} is not a valid date-time: {exc}", field="timestamp"
        ) from exc
    return ensure_utc(parsed)


def decode_proof_signature(signature: str) -> bytes:
    """The 64 raw bytes of an Ed25519 signature written in one of the accepted encodings.

    Accepted: hexadecimal (128 digits, lower or upper case; the MCP Registry sends lower-case hex),
    standard base64 with padding (88 characters) and base64url without padding (86 characters, as in
    JOSE). The three are told apart by length and alphabet, so no input decodes two ways.
    """
    text = signature.strip()
    if _HEX_SIGNATURE.fullmatch(text):
        raw = bytes.fromhex(text)
    else:
        try:
            padded = len(text) % 4 == 0
            raw = base64.b64decode(text, validate=True) if padded else _b64url_unpadded(text)
        except (binascii.Error, ValueError) as exc:
            raise InvalidInput(
                "signature is neither hex nor base64 (standard with padding, or base64url without)",
                field="signature",
            ) from exc
    if len(raw) != _ED25519_SIGNATURE_BYTES:
        raise InvalidInput(
            f"an Ed25519 signature is {_ED25519_SIGNATURE_BYTES} bytes, got {len(raw)}", field="signature"
        )
    return raw


def _b64url_unpadded(text: str) -> bytes:
    if not set(text) <= _B64URL_ALPHABET:
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def normalise_domain(text: str) -> str:
    """The lower-case ASCII (A-label) form of a domain name fit to be proven; InvalidInput otherwise.

    Accepts Unicode names (IDNA 2008 with UTS #46 mapping) and one trailing root dot. Refuses IP
    literals, single-label names, empty or over-long labels (RFC 1035 §2.3.4), characters outside
    letters, digits and hyphen, hyphens at either end of a label (RFC 1123 §2.1), and an all-numeric
    top-level label (RFC 3696 §2, which keeps ``1.2.3`` from being read as an address).
    """
    name = text.removesuffix(".")
    if not name:
        raise InvalidInput("domain name is empty", field="domain")
    if any(char.isspace() for char in name):
        raise InvalidInput(f"domain name {text!r} contains white space", field="domain")
    if _is_ip_literal(name):
        raise InvalidInput(f"{text!r} is an IP address, not a domain name", field="domain")
    try:
        ascii_name = idna.encode(name, uts46=True).decode("ascii")
    except idna.IDNAError as exc:
        raise InvalidInput(f"{text!r} is not a valid domain name (IDNA): {exc}", field="domain") from exc
    labels = ascii_name.split(".")
    if len(labels) < 2:
        raise InvalidInput(f"{text!r} has a single label; a domain needs at least one dot", field="domain")
    if len(ascii_name) > _MAX_NAME:
        raise InvalidInput(
            f"domain name is {len(ascii_name)} characters, at most {_MAX_NAME}", field="domain"
        )
    for label in labels:
        problem = _label_problem(label)
        if problem is not None:
            raise InvalidInput(f"{text!r}: {problem}", field="domain")
    if labels[-1].isdigit():
        raise InvalidInput(f"{text!r}: the top-level label is all digits", field="domain")
    return ascii_name


def _label_problem(label: str) -> str | None:
    if not label:
        return "empty label"
    if len(label) > _MAX_LABEL:
        return f"label {label[:20]!r}... is {len(label)} characters, at most {_MAX_LABEL}"
    if not set(label) <= _LDH:
        return f"label {label!r} has characters other than letters, digits and hyphen"
    if label.startswith("-") or label.endswith("-"):
        return f"label {label!r} starts or ends with a hyphen"
    return None


def _is_ip_literal(name: str) -> bool:
    candidate = name.removeprefix("[").removesuffix("]")
    try:
        ipaddress.ip_address(candidate)
    except ValueError:
        return False
    return True


def verify_domain_control(
    domain: str,
    method: ProofMethod,
    timestamp: str,
    signature: str,
    *,
    fetcher: HttpFetcher | None = None,
    resolver: TxtResolver | None = None,
    clock: Clock,
    settings: DomainProofSettings | None = None,
) -> DomainProof:
    """Check that whoever signed ``timestamp`` holds a key that ``domain`` publishes.

    Raises InvalidInput for a malformed domain, timestamp or signature; VerificationFailed when the
    timestamp is outside the window, no record is published, or the signature matches no published key;
    UnsafeTarget and Unavailable come through from the fetcher or resolver.
    """
    config = settings if settings is not None else DomainProofSettings()
    if method not in _METHODS:
        raise InvalidInput(f"unknown proof method {method!r} (http or dns)", field="method")
    name = normalise_domain(domain)
    signed_at = parse_proof_timestamp(timestamp)
    raw_signature = decode_proof_signature(signature)
    now = ensure_utc(clock.now())
    skew = signed_at - now
    if abs(skew) > config.max_clock_skew:
        direction = "ahead of" if skew > timedelta(0) else "behind"
        raise VerificationFailed(
            f"timestamp {timestamp} is {_seconds(abs(skew))} {direction} the platform clock; "
            f"proofs are accepted within ±{_seconds(config.max_clock_skew)}",
            field="timestamp",
        )
    records, where = _published_records(name, method, fetcher, resolver)
    scan = scan_proof_records(records)
    if not scan.keys:
        reasons = f" (skipped: {'; '.join(scan.skipped)})" if scan.skipped else ""
        raise VerificationFailed(f"no valid proof record found at {where}{reasons}", field="domain")
    message = timestamp.encode("utf-8")
    for key in scan.keys:
        try:
            Ed25519Verifier(key).verify(message, raw_signature)
        except InvalidSignature:
            continue
        return DomainProof(
            domain=name,
            method=method,
            public_key=base64.b64encode(key).decode("ascii"),
            verified_at=now,
        )
    tried = ", ".join(_fingerprint(key) for key in scan.keys)
    raise VerificationFailed(
        f"signature matches no key published at {where} (tried {len(scan.keys)}: {tried}); "
        f"a stale record left after a key rotation is the usual cause",
        field="signature",
    )


def _published_records(
    name: str, method: ProofMethod, fetcher: HttpFetcher | None, resolver: TxtResolver | None
) -> tuple[str | list[str], str]:
    if method == "http":
        if fetcher is None:
            raise InvalidInput("the http method needs a fetcher", field="method")
        url = f"https://{name}{PROOF_PATH}"
        try:
            body = fetcher.get(url)
        except NotFound as exc:
            raise VerificationFailed(f"no proof record found: {exc.detail}", field="domain") from exc
        return body.decode("utf-8", errors="replace"), url
    if resolver is None:
        raise InvalidInput("the dns method needs a resolver", field="method")
    return resolver.txt(name), f"DNS TXT {name}"


def _fingerprint(key: bytes) -> str:
    return "ed25519:" + base64.b64encode(key).decode("ascii")[:8]


def _seconds(delta: timedelta) -> str:
    return f"{delta.total_seconds():g} s"

"""The TxtResolver port's adapters: DNS over ``dnspython``, and an in-memory table for tests and demos."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import dns.exception
import dns.resolver

from agentgov.errors import Unavailable

__all__ = ["DnsSettings", "DnsTxtResolver", "StaticTxtResolver"]


@dataclass(frozen=True, slots=True)
class DnsSettings:
    # Bounds the whole lookup, every server and retry included: a proof request is interactive, and
    # a name server that does not answer within this is as good as absent.
    timeout_seconds: float = 5.0
    # None reads the system configuration (/etc/resolv.conf); tests and air-gapped sites name servers.
    nameservers: Sequence[str] | None = None
    port: int = 53


class DnsTxtResolver:
    """The TxtResolver port over ``dnspython``. Answers are not DNSSEC-validated here: trust the resolver
    you point it at (a validating local resolver is the recommended deployment)."""

    def __init__(self, settings: DnsSettings | None = None) -> None:
        self._settings = settings if settings is not None else DnsSettings()
        try:
            resolver = dns.resolver.Resolver(configure=self._settings.nameservers is None)
        except dns.exception.DNSException as exc:
            raise Unavailable(f"no usable DNS resolver configuration: {exc}") from exc
        resolver.port = self._settings.port  # before the nameservers, which take the port when set
        if self._settings.nameservers is not None:
            resolver.nameservers = list(self._settings.nameservers)
        resolver.lifetime = self._settings.timeout_seconds
        self._resolver = resolver

    def txt(self, domain: str) -> list[str]:
        try:
            answer = self._resolver.resolve(domain, "TXT", search=False)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return []
        except dns.exception.Timeout as exc:
            raise Unavailable(
                f"DNS TXT lookup of {domain} did not finish within {self._settings.timeout_seconds:g} s"
            ) from exc
        except dns.exception.DNSException as exc:
            raise Unavailable(f"DNS TXT lookup of {domain} failed: {exc}") from exc
        # RFC 7208 §3.3: a TXT record's character-strings are concatenated without separator.
        records: list[str] = []
        for rdata in answer:
            strings: tuple[bytes, ...] = rdata.strings
            records.append(b"".join(strings).decode("utf-8", errors="replace"))
        return records


class StaticTxtResolver:
    """An in-memory TxtResolver for tests and demos: domain -> TXT records."""

    def __init__(self, records: Mapping[str, Sequence[str]]) -> None:
        self._records = {name.lower().removesuffix("."): list(values) for name, values in records.items()}

    def txt(self, domain: str) -> list[str]:
        return list(self._records.get(domain.lower().removesuffix("."), []))

"""Which network addresses the platform refuses to fetch from (SSRF). Pure.

IPv6 addresses that embed an IPv4 address are judged by the IPv4 address they lead to.
"""

from __future__ import annotations

from collections.abc import Callable
from ipaddress import IPv4Address, IPv6Address, ip_address, ip_network
from typing import Final

__all__ = ["IPAddress", "address_refusal", "ip_literal"]

IPAddress = IPv4Address | IPv6Address

# RFC 6598 shared address space (carrier-grade NAT): neither private nor global in the ipaddress module.
_SHARED_ADDRESS_SPACE: Final = ip_network("100.64.0.0/10")
# RFC 6052 well-known NAT64 prefix: the last 32 bits are an IPv4 address.
_NAT64: Final = ip_network("64:ff9b::/96")


def address_refusal(address: IPAddress, *, allow_private_networks: bool = False) -> str | None:
    """Why the platform will not connect to ``address``, or None when it may.

    IPv6 addresses that embed an IPv4 address (IPv4-mapped ``::ffff:0:0/96``, NAT64 ``64:ff9b::/96``,
    6to4 ``2002::/16``) are judged by the IPv4 address they lead to.
    """
    if isinstance(address, IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            kind, inner = embedded
            reason = address_refusal(inner, allow_private_networks=allow_private_networks)
            return None if reason is None else f"{kind} {reason}"
    rules = _ALWAYS_REFUSED if allow_private_networks else _ALWAYS_REFUSED + _REFUSED_UNLESS_PRIVATE_ALLOWED
    return next((reason for applies, reason in rules if applies(address)), None)


_Rule = tuple[Callable[[IPAddress], bool], str]
# Never a legitimate fetch target, not even for a test: 169.254.169.254 (link-local) is the cloud
# metadata service, 0.0.0.0 reaches the local host, multicast and reserved space are not unicast hosts.
_ALWAYS_REFUSED: Final[tuple[_Rule, ...]] = (
    (lambda a: a.is_unspecified, "unspecified address"),
    (lambda a: a.is_multicast, "multicast address"),
    (lambda a: a.is_link_local, "link-local address"),
    (lambda a: a.is_reserved and not a.is_loopback, "reserved address"),  # ::1 lies in reserved ::/8
    (lambda a: isinstance(a, IPv6Address) and a.teredo is not None, "Teredo tunnel address"),
)
_REFUSED_UNLESS_PRIVATE_ALLOWED: Final[tuple[_Rule, ...]] = (
    (lambda a: a.is_loopback, "loopback address"),
    (lambda a: a in _SHARED_ADDRESS_SPACE, "shared address (RFC 6598, carrier-grade NAT)"),
    (lambda a: isinstance(a, IPv6Address) and a.is_site_local, "site-local address"),
    (lambda a: a.is_private, "private address"),
    (lambda a: not a.is_global, "non-global address"),
)


def _embedded_ipv4(address: IPv6Address) -> tuple[str, IPv4Address] | None:
    if address.ipv4_mapped is not None:
        return "IPv4-mapped", address.ipv4_mapped
    if address in _NAT64:
        return "NAT64-embedded", IPv4Address(int(address) & 0xFFFFFFFF)
    if address.sixtofour is not None:
        return "6to4-embedded", address.sixtofour
    return None


def ip_literal(host: str) -> IPAddress | None:
    try:
        return ip_address(host)
    except ValueError:
        return None

"""Which client a request comes from, for the login limits: the direct peer, or the address a
trusted reverse proxy forwarded in ``X-Forwarded-For``.

``X-Forwarded-For`` is whatever the sender wrote, so it is read only when the direct peer is one
of the configured proxies (none by default). The list is then read from the right, past every
trusted proxy: the first address no proxy of ours vouches for is the client (entries further
left were written by that client and prove nothing). IPv6 clients are counted per /64, the
smallest network a subscriber is usually given, so one outsider cannot rotate through its own
addresses to get fresh limits.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address

IPAddress = IPv4Address | IPv6Address
IPNetwork = IPv4Network | IPv6Network
UNKNOWN = "-"


def _parse(raw: str) -> IPAddress | None:
    value = raw.strip()
    if value.startswith("[") and "]" in value:  # "[2001:db8::1]:4711"
        value = value[1 : value.index("]")]
    elif value.count(":") == 1:  # "203.0.113.7:4711"
        value = value.split(":", 1)[0]
    try:
        address = ip_address(value)
    except ValueError:
        return None
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _trusted(address: IPAddress, proxies: Sequence[IPNetwork]) -> bool:
    return any(address.version == net.version and address in net for net in proxies)


def client_key(address: IPAddress) -> str:
    """How an address is counted: itself for IPv4, its /64 network for IPv6."""
    if isinstance(address, IPv6Address):
        return str(IPv6Network((address, 64), strict=False))
    return str(address)


def client_address(
    peer: str | None, forwarded_for: Iterable[str], trusted_proxies: Sequence[IPNetwork]
) -> str:
    """The client key of a request from ``peer`` carrying these ``X-Forwarded-For`` headers."""
    current = _parse(peer) if peer else None
    if current is None:
        return peer[:64] if peer else UNKNOWN
    if not _trusted(current, trusted_proxies):
        return client_key(current)
    hops = [hop for header in forwarded_for for hop in header.split(",") if hop.strip()]
    for hop in reversed(hops):
        address = _parse(hop)
        if address is None:
            break  # garbage from the client: the last address a proxy of ours gave is all we know
        current = address
        if not _trusted(current, trusted_proxies):
            break
    return client_key(current)

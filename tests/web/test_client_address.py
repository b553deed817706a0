"""Which client a request is counted as (web/client_address.py): the peer unless it is a trusted
proxy, then the first address in X-Forwarded-For, from the right, that no trusted proxy covers."""

from __future__ import annotations

from ipaddress import ip_network

from web.client_address import client_address

PROXIES = (ip_network("10.0.0.0/24"), ip_network("fd00::/64"))


def test_an_untrusted_peers_forwarded_for_is_ignored() -> None:
    assert client_address("203.0.113.9", ["1.2.3.4"], PROXIES) == "203.0.113.9"
    assert client_address("203.0.113.9", ["1.2.3.4"], ()) == "203.0.113.9"
    # No proxies configured (the default): even a loopback peer's header is not believed.
    assert client_address("127.0.0.1", ["1.2.3.4"], ()) == "127.0.0.1"


def test_a_trusted_proxys_forwarded_for_is_read_from_the_right() -> None:
    assert client_address("10.0.0.5", ["198.51.100.7"], PROXIES) == "198.51.100.7"
    # The client wrote '1.2.3.4' itself; our two proxies appended the real hops.
    chain = ["1.2.3.4, 198.51.100.7", "10.0.0.9"]
    assert client_address("10.0.0.5", chain, PROXIES) == "198.51.100.7"
    # Only proxies in the list: the leftmost is as far as the chain goes.
    assert client_address("10.0.0.5", ["10.0.0.8, 10.0.0.9"], PROXIES) == "10.0.0.8"
    # No header: the proxy itself.
    assert client_address("10.0.0.5", [], PROXIES) == "10.0.0.5"


def test_garbage_stops_the_walk_at_the_last_address_a_proxy_gave() -> None:
    assert client_address("10.0.0.5", ["not-an-ip"], PROXIES) == "10.0.0.5"
    assert client_address("10.0.0.5", ["198.51.100.7, unknown"], PROXIES) == "10.0.0.5"
    assert client_address("10.0.0.5", ["junk, 198.51.100.7"], PROXIES) == "198.51.100.7"


def test_ports_and_mapped_addresses_are_normalised_and_ipv6_counts_per_64() -> None:
    assert client_address("10.0.0.5", ["198.51.100.7:4711"], PROXIES) == "198.51.100.7"
    assert client_address("10.0.0.5", ["[2001:db8:1:2::99]:4711"], PROXIES) == "2001:db8:1:2::/64"
    assert client_address("::ffff:203.0.113.9", [], PROXIES) == "203.0.113.9"
    # One subscriber's /64 is one client, however many addresses it uses.
    first = client_address("2001:db8:1:2::1", [], PROXIES)
    assert first == client_address("2001:db8:1:2:ffff::1", [], PROXIES)
    assert client_address("fd00::1", ["2001:db8::7"], PROXIES) == "2001:db8::/64"


def test_an_unknown_peer_is_kept_as_given_and_bounded() -> None:
    assert client_address(None, ["1.2.3.4"], PROXIES) == "-"
    assert client_address("testclient", [], PROXIES) == "testclient"
    assert len(client_address("x" * 200, [], PROXIES)) == 64

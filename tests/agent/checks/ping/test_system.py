"""The ping command line per platform, and the gateway and DNS lookups."""

from __future__ import annotations

import pytest

from agent.checks.ping import default_dns_server, default_gateway, ping_command


@pytest.mark.parametrize(
    ("platform", "expected"),
    [
        ("win32", ["ping", "-n", "3", "-w", "2000", "10.0.0.1"]),
        ("linux", ["ping", "-n", "-c", "3", "-i", "0.5", "-W", "2", "-w", "4", "10.0.0.1"]),
        ("darwin", ["ping", "-n", "-c", "3", "-i", "0.5", "-W", "2000", "10.0.0.1"]),
    ],
)
def test_ping_command_per_platform(platform, expected):
    assert ping_command("ping", "10.0.0.1", 3, 0.5, 2.0, platform) == expected


def test_the_gateway_and_dns_server_of_this_machine_are_addresses_or_none():
    import ipaddress

    for found in (default_gateway(), default_dns_server()):
        if found is not None:
            ipaddress.ip_address(found)  # raises for anything that is not an address
    with open("/etc/resolv.conf") as resolv:
        servers = [ln.split()[1] for ln in resolv if ln.startswith("nameserver")]
    assert default_dns_server() == (servers[0] if servers else None)

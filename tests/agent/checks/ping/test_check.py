"""The ping check: target validation, live loopback, DNS failure, TCP fallback, @gateway."""

from __future__ import annotations

import asyncio

import pytest
from pydantic import ValidationError

from agent.checks.ping import PingCheck, PingConfig, PingTarget
from tests.agent.checks.helpers import FakeClock, assert_catalogued
from tests.services import free_port, require_binary


@pytest.mark.parametrize("address", ["-f", "--help", "a b", "", "x;rm"])
def test_ping_target_rejects_addresses_ping_would_read_as_options(address):
    with pytest.raises(ValidationError):
        PingTarget(name="bad", address=address)


def test_ping_tcp_method_needs_a_port():
    with pytest.raises(ValidationError, match="tcp_port"):
        PingTarget(name="x", address="10.0.0.1", method="tcp")
    with pytest.raises(ValidationError, match="duplicate"):
        PingConfig(targets=[PingTarget(name="a", address="1.1.1.1")] * 2)


async def test_ping_loopback_with_the_system_ping():
    require_binary("ping")
    check = PingCheck(
        PingConfig(
            targets=[PingTarget(name="loopback", address="127.0.0.1")],
            count=3,
            interval_seconds=0.2,
            timeout_seconds=1,
            pc_device_id="pc-01",
        ),
        clock=FakeClock(),
    )
    [report] = await check.collect()
    assert report.device_id == "ping:loopback@pc-01"
    assert report.facts["checked_from"] == "pc-01"
    assert report.kind == "link"
    values = {(s.name, s.labels.get("stat")): s.value for s in report.samples}
    assert values[("ping_up", None)] == 1.0
    assert values[("ping_loss_ratio", None)] == 0.0
    assert 0 < values[("ping_rtt_seconds", "min")] <= values[("ping_rtt_seconds", "avg")]
    assert values[("ping_rtt_seconds", "avg")] <= values[("ping_rtt_seconds", "max")] < 0.1
    assert ("ping_jitter_seconds", None) in values
    assert {s.labels["method"] for s in report.samples} == {"icmp"}
    assert not report.events
    assert_catalogued([report])


async def test_ping_unknown_host_is_a_dns_failure():
    require_binary("ping")
    check = PingCheck(
        PingConfig(targets=[PingTarget(name="nowhere", address="nonexistent.invalid")], count=1)
    )
    [report] = await check.collect()
    assert [s.value for s in report.samples if s.name == "ping_up"] == [0.0]
    [event] = report.events
    assert event.type == "ping_failed"
    assert event.attrs["error_class"] == "dns"
    assert_catalogued([report])


async def test_ping_falls_back_to_tcp_connect_without_a_ping_program():
    server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    closed = free_port()
    try:
        check = PingCheck(
            PingConfig(
                targets=[
                    PingTarget(name="open", address="127.0.0.1", tcp_port=port),
                    # A refused connect is an answer: the host replied with a reset.
                    PingTarget(name="refused", address="127.0.0.1", tcp_port=closed),
                ],
                count=2,
                interval_seconds=0.2,
                ping_path="no-such-ping-program",
            )
        )
        reports = await check.collect()
    finally:
        server.close()
        await server.wait_closed()
    for report in reports:
        by_name = {(s.name, s.labels.get("stat")): s for s in report.samples}
        assert by_name[("ping_up", None)].value == 1.0
        assert by_name[("ping_up", None)].labels["method"] == "tcp"
        assert by_name[("ping_loss_ratio", None)].value == 0.0
        assert by_name[("ping_rtt_seconds", "avg")].value < 0.5
    assert_catalogued(reports)


async def test_ping_unavailable_is_said_once():
    check = PingCheck(
        PingConfig(
            targets=[PingTarget(name="portal", address="127.0.0.1")],
            ping_path="no-such-ping-program",
        )
    )
    first = await check.collect()
    second = await check.collect()
    assert [e.type for e in first[0].events] == ["ping_unavailable"]
    assert second[0].events == []
    assert first[0].samples == []
    assert second[0].samples == []
    assert_catalogued(first)


async def test_ping_gateway_keyword_resolves_or_says_why():
    require_binary("ping")
    check = PingCheck(
        PingConfig(
            targets=[PingTarget(name="gateway", address="@gateway")],
            count=1,
            timeout_seconds=1,
        )
    )
    [report] = await check.collect()
    assert report.facts["address"] == "@gateway"
    if report.samples:  # a gateway was found: the samples name the real address
        assert report.facts["resolved_address"] != "@gateway"
        assert {s.labels["address"] for s in report.samples} == {report.facts["resolved_address"]}
    else:
        assert [e.type for e in report.events] == ["ping_unavailable"]
    assert_catalogued([report])


async def test_a_device_known_only_by_ping_is_reported_as_its_kind():
    # A UPS or a camera answers only ping: the site agent says what it is, so the collector's
    # rules for that kind of device (rules.yaml ping_unreachable) apply to it.
    server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        check = PingCheck(
            PingConfig(
                targets=[
                    PingTarget(name="ups", address="127.0.0.1", tcp_port=port, kind="ups"),
                    PingTarget(name="wan", address="127.0.0.1", tcp_port=port),
                ],
                count=1,
                interval_seconds=0.2,
                ping_path="no-such-ping-program",
            )
        )
        ups, wan = await check.collect()
    finally:
        server.close()
        await server.wait_closed()
    assert (ups.kind.value, wan.kind.value) == ("ups", "link")
    assert ups.device_id.startswith("ping:ups@")

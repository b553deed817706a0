"""The signing check against real TLS WebSocket bridges on 127.0.0.1: right, wrong, hung, absent."""

from __future__ import annotations

import json
import time

import pytest
from pydantic import ValidationError

from agent.agent_config import CheckSpec
from agent.checks.signing import DEFAULT_PLUGINS, SigningCheck, SigningConfig, SigningPlugin
from agent.wire import DeviceReport
from tests.agent.checks.helpers import FakeClock, assert_catalogued, silent_listener
from tests.agent.checks.signing.servers import (
    bridge_server,
    hung,
    opened,
    vnpt_no_version,
    vnpt_not_ready,
    vnpt_ready,
)
from tests.services import free_port


def values(report: DeviceReport, name: str) -> dict[tuple[str, str], float]:
    """``(plugin, port) -> value`` of the samples named ``name``."""
    return {
        (s.labels["plugin"], s.labels["port"]): s.value for s in report.samples if s.name == name
    }


async def collect(*plugins: SigningPlugin, version_timeout: float = 1.0) -> DeviceReport:
    check = SigningCheck(
        SigningConfig(device_id="pc-01", plugins=plugins, version_timeout_seconds=version_timeout),
        clock=FakeClock(),
    )
    [report] = await check.collect()
    assert (report.device_id, report.kind) == ("pc-01", "pc")
    assert_catalogued([report])
    return report


def vnpt(*ports: int, timeout: float = 2.0) -> SigningPlugin:
    return SigningPlugin(
        name="vnpt_ca", protocol="vnpt_ca", ports=ports, path="/plugin", timeout_seconds=timeout
    )


async def test_vnpt_plugin_ready_on_its_second_port_with_its_version():
    closed = free_port()
    async with bridge_server(vnpt_ready) as bridge:
        report = await collect(vnpt(closed, bridge.port))
    port = str(bridge.port)
    assert values(report, "signing_plugin_up") == {("vnpt_ca", port): 1.0}
    assert values(report, "signing_plugin_answered") == {("vnpt_ca", port): 1.0}
    [latency] = values(report, "signing_plugin_latency_seconds").values()
    assert 0 < latency < 2
    assert report.facts == {"vnpt_ca_plugin_version": "1.0.4.3"}
    assert report.events == []
    assert bridge.paths == ["/plugin"]
    # The exact messages vnpt-plugin.js sends: checkPlugin (7) then getVersion (11).
    assert [json.loads(m) for m in bridge.messages] == [
        {"functionID": 7, "funcCallback": "callbackDefault", "args": [""], "domain": "localhost"},
        {"functionID": 11, "funcCallback": "callbackDefault", "args": [""], "domain": "localhost"},
    ]


async def test_vnpt_plugin_answering_wrong_is_an_event_with_its_own_words():
    async with bridge_server(vnpt_not_ready) as bridge:
        report = await collect(vnpt(bridge.port))
    port = str(bridge.port)
    assert values(report, "signing_plugin_up") == {("vnpt_ca", port): 0.0}
    assert values(report, "signing_plugin_answered") == {("vnpt_ca", port): 1.0}
    [event] = report.events
    assert event.type == "signing_plugin_error"
    assert event.attrs == {"plugin": "vnpt_ca", "port": port, "answer": "-1*callbackDefault"}
    assert "-1*callbackDefault" in event.message
    assert report.facts == {}


async def test_a_hung_plugin_is_down_after_the_per_port_timeout_of_each_port():
    async with bridge_server(hung) as first, bridge_server(hung) as second:
        started = time.monotonic()
        report = await collect(vnpt(first.port, second.port, timeout=0.3))
        elapsed = time.monotonic() - started
    # Each port gets its own 0.3 s (both were asked), and no more than that.
    assert 0.6 <= elapsed < 2.5
    assert len(first.messages) == len(second.messages) == 1
    assert values(report, "signing_plugin_up") == {("vnpt_ca", ""): 0.0}
    assert values(report, "signing_plugin_answered") == {("vnpt_ca", ""): 0.0}
    [event] = report.events
    assert event.type == "signing_plugin_down"
    assert event.attrs["errors"] == f"{first.port}=timeout;{second.port}=timeout"


async def test_a_port_that_accepts_tcp_but_never_speaks_tls_is_a_timeout():
    with silent_listener() as port:
        report = await collect(vnpt(port, timeout=0.3))
    [event] = report.events
    assert event.attrs["errors"] == f"{port}=timeout"


async def test_an_absent_plugin_is_down_naming_every_refused_port():
    ports = (free_port(), free_port())
    report = await collect(vnpt(*ports))
    assert values(report, "signing_plugin_up") == {("vnpt_ca", ""): 0.0}
    assert "signing_plugin_latency_seconds" not in {s.name for s in report.samples}
    [event] = report.events
    assert event.attrs == {
        "plugin": "vnpt_ca",
        "ports": f"{ports[0]},{ports[1]}",
        "errors": f"{ports[0]}=connect_refused;{ports[1]}=connect_refused",
    }


async def test_a_plugin_silent_to_get_version_is_still_up_without_a_version():
    async with bridge_server(vnpt_no_version) as bridge:
        started = time.monotonic()
        report = await collect(vnpt(bridge.port), version_timeout=0.3)
        elapsed = time.monotonic() - started
    assert values(report, "signing_plugin_up") == {("vnpt_ca", str(bridge.port)): 1.0}
    assert report.facts == {}
    assert elapsed < 2


async def test_vgca_sign_service_is_up_when_the_websocket_opens():
    async with bridge_server(opened) as bridge:
        report = await collect(
            SigningPlugin(name="vgca", protocol="vgca", ports=(bridge.port,), path="/SignXML")
        )
    assert values(report, "signing_plugin_up") == {("vgca", str(bridge.port)): 1.0}
    assert bridge.paths == ["/SignXML"]
    assert report.events == []


async def test_a_server_refusing_the_websocket_on_the_vgca_port_answered_wrong():
    async with bridge_server(opened, refuse=True) as bridge:
        report = await collect(
            SigningPlugin(name="vgca", protocol="vgca", ports=(bridge.port,), timeout_seconds=2)
        )
    port = str(bridge.port)
    assert values(report, "signing_plugin_up") == {("vgca", port): 0.0}
    assert values(report, "signing_plugin_answered") == {("vgca", port): 1.0}
    [event] = report.events
    assert event.type == "signing_plugin_error"
    assert event.attrs["answer"].startswith("HTTP/1.1 404")


async def test_both_bridges_are_asked_in_one_collection():
    async with bridge_server(vnpt_ready) as plugin, bridge_server(opened) as vgca:
        report = await collect(
            vnpt(plugin.port),
            SigningPlugin(name="vgca", protocol="vgca", ports=(vgca.port,)),
        )
    assert values(report, "signing_plugin_up") == {
        ("vnpt_ca", str(plugin.port)): 1.0,
        ("vgca", str(vgca.port)): 1.0,
    }


def test_defaults_are_the_bridges_of_the_domain_notes():
    config = SigningConfig()
    assert config.plugins == DEFAULT_PLUGINS
    assert [(p.name, p.protocol, p.ports, p.path, p.timeout_seconds) for p in config.plugins] == [
        ("vnpt_ca", "vnpt_ca", (4433, 4434, 4435), "/plugin", 3.0),
        ("vgca", "vgca", (8987,), "/", 3.0),
    ]
    assert all(p.tls and p.host == "127.0.0.1" for p in config.plugins)


@pytest.mark.parametrize("host", ["10.0.0.5", "example.gov.vn", "0.0.0.0"])
def test_only_loopback_bridges_are_accepted(host):
    with pytest.raises(ValidationError, match="loopback"):
        SigningPlugin(name="x", protocol="vgca", host=host, ports=(1,))
    with pytest.raises(ValueError, match="loopback"):
        CheckSpec(
            check="signing",
            options={"plugins": [{"name": "x", "protocol": "vgca", "host": host, "ports": [1]}]},
        )


def test_bad_plugin_settings_are_named():
    with pytest.raises(ValidationError, match="65535"):
        SigningPlugin(name="x", protocol="vgca", ports=(70000,))
    with pytest.raises(ValidationError, match="repeat"):
        SigningPlugin(name="x", protocol="vgca", ports=(1, 1))
    with pytest.raises(ValidationError, match="printable"):
        SigningPlugin(name="x", protocol="vnpt_ca", ports=(1,), domain="a\r\nb")
    with pytest.raises(ValidationError, match="duplicate"):
        SigningConfig(plugins=[SigningPlugin(name="x", protocol="vgca", ports=(1,))] * 2)

"""agent.checks.signing.probe: one bridge's ports, each probed against real WebSocket servers on
127.0.0.1; the decisive answer of a round (the check's samples and events: test_check.py)."""

from __future__ import annotations

import asyncio
import json

import pytest
from websockets.asyncio.server import ServerConnection

from agent.checks.signing.config import SigningPlugin
from agent.checks.signing.probe import (
    ANSWER_MAX_CHARS,
    PluginOutcome,
    PortAnswer,
    probe_plugin,
    probe_port,
)
from tests.agent.checks.signing.servers import (
    Bridge,
    bridge_server,
    opened,
    vnpt_no_version,
    vnpt_not_ready,
    vnpt_ready,
)
from tests.services import free_port


def vnpt(*ports: int, tls: bool = True, timeout: float = 2.0) -> SigningPlugin:
    return SigningPlugin(
        name="vnpt_ca", protocol="vnpt_ca", ports=ports, tls=tls, timeout_seconds=timeout
    )


def test_the_decisive_port_is_the_ready_one_else_the_first_that_answered() -> None:
    plugin = vnpt(1, 2, 3)
    refused = PortAnswer(1, False, error="connect_refused")
    wrong = PortAnswer(2, True, False, 0.1, answer="-1*callbackDefault")
    right = PortAnswer(3, True, True, 0.2)
    assert PluginOutcome(plugin, (refused, wrong, right)).decisive is right
    assert PluginOutcome(plugin, (refused, wrong)).decisive is wrong
    assert PluginOutcome(plugin, (refused,)).decisive is None
    assert PluginOutcome(plugin, ()).decisive is None


async def test_a_ready_plugin_answers_with_its_version_and_latency() -> None:
    async with bridge_server(vnpt_ready) as bridge:
        answer = await probe_port(vnpt(bridge.port), bridge.port, version_timeout=1.0)
    assert (answer.port, answer.answered, answer.ok) == (bridge.port, True, True)
    assert answer.version == "1.0.4.3"
    assert answer.latency_seconds is not None
    assert 0 < answer.latency_seconds < 2
    assert (answer.answer, answer.error) == (None, None)
    # checkPlugin, then getVersion, each naming the plugin's domain.
    asked = [json.loads(message) for message in bridge.messages]
    assert [a["functionID"] for a in asked] == [7, 11]
    assert {a["domain"] for a in asked} == {vnpt(1).domain}


async def test_a_not_ready_plugin_is_kept_in_its_own_words() -> None:
    async with bridge_server(vnpt_not_ready) as bridge:
        answer = await probe_port(vnpt(bridge.port), bridge.port, version_timeout=1.0)
    assert (answer.answered, answer.ok) == (True, False)
    assert answer.answer == "-1*callbackDefault"
    assert answer.version is None
    assert len(bridge.messages) == 1  # no getVersion for a plugin that is not ready


async def long_answer(ws: ServerConnection, bridge: Bridge) -> None:
    async for message in ws:
        bridge.messages.append(str(message))
        await ws.send("0*" + "x" * 1_000)


async def bad_version(ws: ServerConnection, bridge: Bridge) -> None:
    async for message in ws:
        bridge.messages.append(str(message))
        await ws.send("1*cb" if '"functionID":7' in str(message) else "-1*cb")


async def test_a_long_answer_is_cut_and_a_negative_version_is_no_version() -> None:
    async with bridge_server(long_answer) as bridge:
        cut = await probe_port(vnpt(bridge.port), bridge.port, version_timeout=1.0)
    assert cut.answer == ("0*" + "x" * 1_000)[:ANSWER_MAX_CHARS]
    async with bridge_server(bad_version) as bridge:
        ready = await probe_port(vnpt(bridge.port), bridge.port, version_timeout=1.0)
    assert ready.ok
    assert ready.version is None  # "-1" from an old plugin is not a version
    assert len(bridge.messages) == 2


async def test_a_silent_version_request_leaves_the_plugin_ready() -> None:
    async with bridge_server(vnpt_no_version) as bridge:
        answer = await probe_port(vnpt(bridge.port), bridge.port, version_timeout=0.2)
    assert (answer.ok, answer.version) == (True, None)


async def test_vgca_is_ready_when_the_websocket_opens() -> None:
    async with bridge_server(opened) as bridge:
        plugin = SigningPlugin(name="vgca", protocol="vgca", ports=(bridge.port,), path="/SignXML")
        answer = await probe_port(plugin, bridge.port, version_timeout=1.0)
    assert (answer.answered, answer.ok, answer.version) == (True, True, None)
    assert bridge.paths == ["/SignXML"]


async def test_an_http_server_refusing_the_upgrade_answered_wrong() -> None:
    async with bridge_server(opened, refuse=True) as bridge:
        answer = await probe_port(vnpt(bridge.port), bridge.port, version_timeout=1.0)
    assert (answer.answered, answer.ok) == (True, False)
    assert answer.answer is not None
    assert "404" in answer.answer


@pytest.mark.parametrize("tls", [True, False])
async def test_a_closed_port_is_refused(tls: bool) -> None:
    port = free_port()
    answer = await probe_port(vnpt(port, tls=tls), port, version_timeout=1.0)
    assert answer == PortAnswer(port, False, error="connect_refused")


async def test_tls_to_a_server_answering_in_plain_text_is_a_tls_error() -> None:
    async def plain_http(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1)  # the ClientHello
        writer.write(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(plain_http, "127.0.0.1", 0)
    async with server:
        port = server.sockets[0].getsockname()[1]
        answer = await probe_port(vnpt(port, tls=True), port, version_timeout=1.0)
    assert answer == PortAnswer(port, False, error="tls")


async def test_a_peer_that_is_no_http_server_is_a_protocol_error() -> None:
    async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1)
        writer.write(b"SSH-2.0-OpenSSH_9.2\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(garbage, "127.0.0.1", 0)
    async with server:
        port = server.sockets[0].getsockname()[1]
        answer = await probe_port(vnpt(port, tls=False), port, version_timeout=1.0)
    assert answer == PortAnswer(port, False, error="protocol")


async def test_ports_are_tried_in_order_until_one_is_ready() -> None:
    closed = free_port()
    async with bridge_server(vnpt_ready) as first, bridge_server(vnpt_ready) as second:
        outcome = await probe_plugin(vnpt(closed, first.port, second.port), version_timeout=1.0)
    assert [(p.port, p.ok) for p in outcome.ports] == [(closed, False), (first.port, True)]
    assert outcome.ports[0].error == "connect_refused"
    assert second.messages == []  # the round ended at the first right answer
    assert outcome.decisive is outcome.ports[1]


async def test_a_round_without_a_ready_port_tries_every_port() -> None:
    async with bridge_server(vnpt_not_ready) as wrong:
        closed = free_port()
        outcome = await probe_plugin(vnpt(wrong.port, closed), version_timeout=1.0)
    assert [p.port for p in outcome.ports] == [wrong.port, closed]
    assert outcome.decisive is outcome.ports[0]
    assert outcome.plugin.name == "vnpt_ca"

"""The minimal WebSocket client against a real WebSocket server (websockets) on 127.0.0.1."""

from __future__ import annotations

import pytest
from websockets.asyncio.server import ServerConnection

from agent.checks.websocket import WebSocketClient, WebSocketError, encode_text_frame
from tests.agent.checks.signing.servers import Bridge, bridge_server


def test_a_masked_text_frame_is_the_one_of_rfc_6455():
    # RFC 6455 §5.7: a single-frame masked text message containing "Hello".
    frame = encode_text_frame("Hello", mask=bytes.fromhex("37fa213d"))
    assert frame == bytes.fromhex("818537fa213d7f9f4d5158")


@pytest.mark.parametrize("size", [0, 125, 126, 65_535, 70_000])
def test_frame_lengths_use_the_right_length_field(size):
    frame = encode_text_frame("x" * size, mask=b"\0\0\0\0")
    assert frame[-size:] == b"x" * size if size else frame.endswith(b"\0\0\0\0")
    assert len(frame) == size + 2 + 4 + (0 if size < 126 else 2 if size < 65_536 else 8)


async def _echo(ws: ServerConnection, bridge: Bridge) -> None:
    async for message in ws:
        bridge.messages.append(str(message))
        await ws.send(str(message))


async def _goodbye(ws: ServerConnection, bridge: Bridge) -> None:
    await ws.close(code=1001, reason="going away")


@pytest.mark.parametrize("tls", [True, False])
async def test_messages_of_every_length_and_vietnamese_text_round_trip(tls):
    async with bridge_server(_echo, tls=tls) as bridge:
        client, handshake = await WebSocketClient.open("127.0.0.1", bridge.port, tls=tls)
        try:
            assert handshake.status == 101
            assert handshake.status_line.startswith("HTTP/1.1 101")
            assert 0 <= handshake.connect_seconds <= handshake.answered_seconds
            for text in ("Ký số thành công", "x" * 126, "y" * 70_000):
                await client.send_text(text)
                assert await client.receive_text(limit=100_000) == text
        finally:
            await client.close()
    assert bridge.messages[0] == "Ký số thành công"


async def test_a_close_frame_and_an_oversized_message_are_our_errors():
    async with bridge_server(_goodbye) as bridge:
        client, _ = await WebSocketClient.open("127.0.0.1", bridge.port, tls=True)
        with pytest.raises(WebSocketError) as closed:
            await client.receive_text()
        await client.close(polite=False)
    assert closed.value.reason == "closed"
    assert "1001" in str(closed.value)
    async with bridge_server(_echo) as bridge:
        client, _ = await WebSocketClient.open("127.0.0.1", bridge.port, tls=True)
        await client.send_text("z" * 2_000)
        with pytest.raises(WebSocketError, match="too_large"):
            await client.receive_text(limit=1_000)
        await client.close(polite=False)

"""collector.http_protocol: the request-head deadline (408) and size bound (431) of uvicorn's
HTTP protocol, served on 127.0.0.1 in process. The deadline's timer is read and fired by the
test instead of waited for (the slow clients against a collector process: tests/hardening)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
import uvicorn
from uvicorn.server import ServerState

from collector.http_protocol import HeadDeadlineProtocol

HEAD_TIMEOUT = 3_600.0  # never strikes by itself during a test: the test fires it
MAX_HEAD = 1_024

Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


async def app(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    """Answers 200 with the body it read."""
    assert scope["type"] == "http"
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-length", str(len(body) + 3).encode())]})  # fmt: skip
    await send({"type": "http.response.body", "body": b"ok:" + body})


@dataclass
class Served:
    """The listening port, the live protocol objects and the refusal counters."""

    port: int
    state: ServerState
    timeouts: list[str] = field(default_factory=list)
    too_large: list[str] = field(default_factory=list)

    async def connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        return await asyncio.open_connection("127.0.0.1", self.port)

    async def protocol(self, received: int = 0) -> HeadDeadlineProtocol:
        """The server side of the one open connection, once it has ``received`` head bytes."""
        for _ in range(1_000):  # loop turns, not time
            connections = [c for c in self.state.connections if isinstance(c, HeadDeadlineProtocol)]
            if connections and connections[0]._head_bytes >= received:
                return connections[0]
            await asyncio.sleep(0)
        raise AssertionError("the server never saw the connection or its bytes")


@pytest.fixture
async def served() -> AsyncIterator[Served]:
    saved = (
        HeadDeadlineProtocol.head_timeout,
        HeadDeadlineProtocol.on_timeout,
        HeadDeadlineProtocol.max_head_bytes,
        HeadDeadlineProtocol.on_head_too_large,
    )
    config = uvicorn.Config(app, http=HeadDeadlineProtocol, lifespan="off", log_level="warning")
    config.load()
    state = ServerState()
    served = Served(port=0, state=state)
    # Plain functions on purpose: stored on the class, they must not bind to the protocol.
    HeadDeadlineProtocol.configure(HEAD_TIMEOUT, lambda: served.timeouts.append("408"))
    HeadDeadlineProtocol.configure_head_bound(MAX_HEAD, lambda: served.too_large.append("431"))
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: HeadDeadlineProtocol(config=config, server_state=state, app_state={}),
        "127.0.0.1",
        0,
    )
    served.port = server.sockets[0].getsockname()[1]
    try:
        yield served
    finally:
        for connection in list(state.connections):
            connection.shutdown()
        server.close()
        await server.wait_closed()
        (
            HeadDeadlineProtocol.head_timeout,
            HeadDeadlineProtocol.on_timeout,
            HeadDeadlineProtocol.max_head_bytes,
            HeadDeadlineProtocol.on_head_too_large,
        ) = saved


async def read_all(reader: asyncio.StreamReader) -> bytes:
    return await asyncio.wait_for(reader.read(), 5)  # until the server closes


def fire(protocol: HeadDeadlineProtocol) -> None:
    """The deadline strikes now: run the armed timer's callback."""
    timer = protocol._head_timer
    assert timer is not None, "no deadline armed"
    timer.cancel()
    protocol._head_deadline_passed()


def test_configure_sets_the_class_wide_deadline_and_bound() -> None:
    saved = (HeadDeadlineProtocol.head_timeout, HeadDeadlineProtocol.max_head_bytes)
    try:
        HeadDeadlineProtocol.configure(2.5, None)
        HeadDeadlineProtocol.configure_head_bound(4_096, None)
        assert HeadDeadlineProtocol.head_timeout == 2.5
        assert HeadDeadlineProtocol.max_head_bytes == 4_096
        assert HeadDeadlineProtocol.on_timeout is None
    finally:
        HeadDeadlineProtocol.head_timeout, HeadDeadlineProtocol.max_head_bytes = saved


async def test_a_silent_connection_gets_408_when_its_deadline_strikes(served: Served) -> None:
    reader, writer = await served.connect()
    protocol = await served.protocol()
    timer = protocol._head_timer
    assert timer is not None
    # Armed at the connection, head_timeout seconds ahead on the loop's clock.
    assert timer.when() - asyncio.get_running_loop().time() == pytest.approx(HEAD_TIMEOUT, abs=5)
    fire(protocol)
    answer = await read_all(reader)
    assert answer.startswith(b"HTTP/1.1 408 Request Timeout\r\n")
    assert answer.endswith(b"\r\n\r\nrequest head not received\n")
    assert b"connection: close" in answer
    assert served.timeouts == ["408"]
    writer.close()


async def test_a_head_that_trickles_in_is_cut_too(served: Served) -> None:
    reader, writer = await served.connect()
    writer.write(b"POST /api/v1/reports HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    await writer.drain()
    protocol = await served.protocol(received=1)
    fire(protocol)
    assert (await read_all(reader)).startswith(b"HTTP/1.1 408 ")
    assert served.timeouts == ["408"]
    writer.close()


async def test_a_complete_head_disarms_the_deadline_and_the_request_is_served(
    served: Served,
) -> None:
    reader, writer = await served.connect()
    writer.write(b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\n\r\n")
    await writer.drain()
    protocol = await served.protocol()
    for _ in range(1_000):
        if protocol._head_timer is None:
            break
        await asyncio.sleep(0)
    assert protocol._head_timer is None  # the body has the route's own deadline
    protocol._head_deadline_passed()  # a late strike while the body comes: ignored
    writer.write(b"hello")
    await writer.drain()
    status = await asyncio.wait_for(reader.readline(), 5)
    assert status == b"HTTP/1.1 200 OK\r\n"
    assert served.timeouts == []
    # The next request on the kept-alive connection gets a fresh deadline when it begins.
    headers = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    assert b"content-length: 8" in headers.lower()
    assert await asyncio.wait_for(reader.readexactly(8), 5) == b"ok:hello"
    writer.write(b"GET / HTTP/1.1\r\n")
    await writer.drain()
    for _ in range(1_000):
        if protocol._head_timer is not None:
            break
        await asyncio.sleep(0)
    assert protocol._head_timer is not None
    writer.close()


async def test_a_head_past_its_bound_gets_431_naming_the_setting(served: Served) -> None:
    reader, writer = await served.connect()
    writer.write(b"GET / HTTP/1.1\r\nX-Filler: " + b"a" * (MAX_HEAD + 10))
    await writer.drain()
    answer = await read_all(reader)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 431 Request Header Fields Too Large\r\n")
    assert b"content-type: application/json" in head
    assert f"content-length: {len(body)}".encode() in head
    assert json.loads(body) == {
        "detail": f"the request head is larger than http.max_head_bytes ({MAX_HEAD} bytes)",
        "field": "headers",
    }
    assert served.too_large == ["431"]
    assert served.timeouts == []
    writer.close()


async def test_a_head_within_its_bound_is_served(served: Served) -> None:
    reader, writer = await served.connect()
    filler = b"a" * (MAX_HEAD - 100)
    writer.write(b"GET / HTTP/1.1\r\nHost: x\r\nX-Filler: " + filler + b"\r\n\r\n")
    await writer.drain()
    assert await asyncio.wait_for(reader.readline(), 5) == b"HTTP/1.1 200 OK\r\n"
    assert served.too_large == []
    writer.close()


async def test_a_closed_connection_leaves_no_deadline_behind(served: Served) -> None:
    _reader, writer = await served.connect()
    protocol = await served.protocol()
    timer = protocol._head_timer
    assert timer is not None
    writer.close()
    await writer.wait_closed()
    for _ in range(1_000):
        if protocol._head_timer is None:
            break
        await asyncio.sleep(0)
    assert protocol._head_timer is None
    assert timer.cancelled()
    assert served.timeouts == []

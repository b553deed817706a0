"""Signing bridges on 127.0.0.1 for the tests: real TLS WebSocket servers that answer as told."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import trustme
from websockets.asyncio.server import ServerConnection, serve
from websockets.datastructures import Headers
from websockets.http11 import Request, Response


def tls_context() -> ssl.SSLContext:
    """A server context with a certificate for 127.0.0.1 and localhost from a throwaway CA."""
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    return context


@dataclass
class Bridge:
    """What a fake bridge received, and its port."""

    port: int = 0
    messages: list[str] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)


Handler = Callable[[ServerConnection, Bridge], Awaitable[None]]


async def vnpt_ready(ws: ServerConnection, bridge: Bridge) -> None:
    """The VNPT-CA Plugin as its web library expects: checkPlugin "1", getVersion 1.0.4.3."""
    async for message in ws:
        bridge.messages.append(str(message))
        if '"functionID":7' in str(message):
            await ws.send("1*callbackDefault")
        elif '"functionID":11' in str(message):
            await ws.send("1.0.4.3*callbackDefault")


async def vnpt_not_ready(ws: ServerConnection, bridge: Bridge) -> None:
    """A plugin that answers checkPlugin with "-1" (what the library reports as not installed)."""
    async for message in ws:
        bridge.messages.append(str(message))
        await ws.send("-1*callbackDefault")


async def vnpt_no_version(ws: ServerConnection, bridge: Bridge) -> None:
    """Ready to checkPlugin, silent to getVersion (an old plugin)."""
    async for message in ws:
        bridge.messages.append(str(message))
        if '"functionID":7' in str(message):
            await ws.send("1*callbackDefault")


async def hung(ws: ServerConnection, bridge: Bridge) -> None:
    """Accepts the WebSocket, then never answers (a hung plugin)."""
    async for message in ws:
        bridge.messages.append(str(message))


async def opened(ws: ServerConnection, bridge: Bridge) -> None:
    """The VGCA Sign Service: the open is the whole question; waits for the client's close."""
    await ws.wait_closed()


def refuse_upgrade(connection: ServerConnection, request: Request) -> Response:
    """An HTTP server on the bridge's port that refuses the WebSocket with 404."""
    return Response(404, "Not Found", Headers({"Content-Length": "0"}), b"")


@contextlib.asynccontextmanager
async def bridge_server(
    handler: Handler, *, tls: bool = True, refuse: bool = False
) -> AsyncIterator[Bridge]:
    """A bridge on a free loopback port (TLS by default); yields what it records."""
    bridge = Bridge()

    async def handle(ws: ServerConnection) -> None:
        bridge.paths.append(ws.request.path if ws.request else "")
        await handler(ws, bridge)

    async with serve(
        handle,
        "127.0.0.1",
        0,
        ssl=tls_context() if tls else None,
        process_request=refuse_upgrade if refuse else None,
        ping_interval=None,
        close_timeout=1,
    ) as server:
        bridge.port = next(iter(server.sockets)).getsockname()[1]
        yield bridge
        server.close()
        await asyncio.wait_for(server.wait_closed(), 5)

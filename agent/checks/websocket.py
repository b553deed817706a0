"""A minimal WebSocket client (RFC 6455) for the loopback bridges a counter PC's browser talks to.

The signing bridges (VGCA Sign Service, VNPT-CA Plugin) speak text frames over ``ws``/``wss`` on
127.0.0.1. A library would be one more dependency on every counter PC for a few frames a minute:
this module opens the connection (TCP, TLS without verification, the upgrade request), sends
masked text frames, reads unmasked text frames (continuations joined, pings skipped, a close frame
is the end) and closes politely. Everything is bounded: header lines, header count, message size.

The bridges use self-signed certificates for localhost, so ``wss`` runs without certificate
verification: acceptable because the checks' config validation only admits loopback hosts.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import ssl
import struct
import time
from dataclasses import dataclass

from agent.checks.common import CheckError

# A masked WebSocket close frame, status 1000 (RFC 6455 §5.5.1): a polite goodbye to the bridge.
_CLOSE_MASK = b"\x00\x00\x00\x00"
CLOSE_FRAME = b"\x88\x82" + _CLOSE_MASK + b"\x03\xe8"
_OP_CONTINUATION, _OP_TEXT, _OP_BINARY, _OP_CLOSE, _OP_PING, _OP_PONG = 0, 1, 2, 8, 9, 10
_MAX_HEADER_LINES = 64
_MAX_LINE = 8_192


class WebSocketError(CheckError):
    """The peer does not speak WebSocket as expected; ``reason`` is a short class of the fault."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason  # protocol, closed, too_large
        self.detail = detail


def insecure_tls() -> ssl.SSLContext:
    """A client TLS context without verification (loopback bridges, self-signed certificates)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def upgrade_request(host: str, port: int, path: str, origin: str | None) -> bytes:
    """The HTTP/1.1 upgrade request of a WebSocket client (a fresh random key each time)."""
    shown = f"[{host}]" if ":" in host else host
    key = base64.b64encode(os.urandom(16)).decode("ascii")
    lines = [
        f"GET {path} HTTP/1.1",
        f"Host: {shown}:{port}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Key: {key}",
        "Sec-WebSocket-Version: 13",
    ]
    if origin:
        lines.append(f"Origin: {origin}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii")


def parse_status_line(line: bytes) -> int | None:
    """The status code of an HTTP status line (``HTTP/1.1 101 Switching Protocols``), or None."""
    parts = line.decode("latin-1").split()
    if len(parts) >= 2 and parts[0].startswith("HTTP/") and parts[1].isdigit():
        return int(parts[1])
    return None


def encode_text_frame(text: str, mask: bytes | None = None) -> bytes:
    """One final, masked text frame carrying ``text`` (clients must mask, RFC 6455 §5.3)."""
    payload = text.encode("utf-8")
    key = mask if mask is not None else os.urandom(4)
    length = len(payload)
    if length < 126:
        header = struct.pack("!BB", 0x80 | _OP_TEXT, 0x80 | length)
    elif length < 1 << 16:
        header = struct.pack("!BBH", 0x80 | _OP_TEXT, 0x80 | 126, length)
    else:
        header = struct.pack("!BBQ", 0x80 | _OP_TEXT, 0x80 | 127, length)
    masked = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    return header + key + masked


async def close_writer(writer: asyncio.StreamWriter) -> None:
    """Close a stream without waiting long for the peer (a TLS close may wait 30 s otherwise)."""
    writer.close()
    try:
        async with asyncio.timeout(1.0):
            await writer.wait_closed()
    except (TimeoutError, OSError, ssl.SSLError):
        writer.transport.abort()


@dataclass(frozen=True, slots=True)
class Handshake:
    """How the upgrade went: the HTTP status (None: not HTTP) and when things happened."""

    status: int | None
    status_line: str
    connect_seconds: float
    answered_seconds: float


class WebSocketClient:
    """One client connection; ``open`` it, exchange text messages, ``close`` it."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer

    @classmethod
    async def open(
        cls,
        host: str,
        port: int,
        *,
        tls: bool,
        path: str = "/",
        origin: str | None = None,
    ) -> tuple[WebSocketClient, Handshake]:
        """Connect and send the upgrade; the caller bounds the time and must ``close``.

        Raises OSError (connect), ssl.SSLError (TLS) or WebSocketError (no HTTP answer, or the
        connection failed after the connect).
        A non-101 HTTP answer is not an error here: the handshake says what the bridge answered.
        """
        start = time.perf_counter()
        reader, writer = await asyncio.open_connection(host, port)
        connect_seconds = time.perf_counter() - start
        client = cls(reader, writer)
        try:
            if tls:
                await writer.start_tls(insecure_tls(), server_hostname=host)
            writer.write(upgrade_request(host, port, path, origin))
            await writer.drain()
            line = await reader.readline()
            status = parse_status_line(line)
            answered = time.perf_counter() - start
            if status is None:
                raise WebSocketError("protocol", f"not an HTTP answer: {line[:80]!r}")
            await client._skip_headers()
        except (ssl.SSLError, TimeoutError):
            await close_writer(writer)
            raise
        except OSError as exc:  # reset or closed after the TCP connect: not a WebSocket server
            await close_writer(writer)
            raise WebSocketError("protocol", str(exc)) from None
        except BaseException:
            await close_writer(writer)
            raise
        text = line.decode("latin-1").strip()[:200]
        return client, Handshake(status, text, connect_seconds, answered)

    async def _skip_headers(self) -> None:
        for _ in range(_MAX_HEADER_LINES):
            line = await self._reader.readline()
            if line in (b"\r\n", b"\n", b""):
                return
            if len(line) > _MAX_LINE:
                raise WebSocketError("protocol", "header line too long")
        raise WebSocketError("protocol", "too many header lines")

    async def send_text(self, text: str) -> None:
        """Send one text message."""
        self._writer.write(encode_text_frame(text))
        await self._writer.drain()

    async def _frame(self, limit: int) -> tuple[bool, int, bytes]:
        first, second = await self._reader.readexactly(2)
        fin, opcode, length = bool(first & 0x80), first & 0x0F, second & 0x7F
        if length == 126:
            (length,) = struct.unpack("!H", await self._reader.readexactly(2))
        elif length == 127:
            (length,) = struct.unpack("!Q", await self._reader.readexactly(8))
        mask = await self._reader.readexactly(4) if second & 0x80 else None
        if length > limit:
            raise WebSocketError("too_large", f"frame of {length} bytes")
        payload = await self._reader.readexactly(length)
        if mask is not None:  # servers must not mask, but reading it costs nothing
            payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        return fin, opcode, payload

    async def receive_text(self, limit: int = 65_536) -> str:
        """The next text (or binary, decoded) message; pings and pongs are skipped."""
        parts: list[bytes] = []
        try:
            while True:
                fin, opcode, payload = await self._frame(limit)
                if opcode == _OP_CLOSE:
                    code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
                    raise WebSocketError("closed", f"close frame {code}")
                if opcode in (_OP_PING, _OP_PONG):
                    continue
                if opcode not in (_OP_CONTINUATION, _OP_TEXT, _OP_BINARY):
                    raise WebSocketError("protocol", f"opcode {opcode}")
                parts.append(payload)
                if sum(len(p) for p in parts) > limit:
                    raise WebSocketError("too_large", f"message over {limit} bytes")
                if fin:
                    return b"".join(parts).decode("utf-8", errors="replace")
        except asyncio.IncompleteReadError:
            raise WebSocketError("closed", "connection closed mid-message") from None

    async def close(self, *, polite: bool = True) -> None:
        """Send a close frame (when ``polite``) and close the connection, never waiting long."""
        if polite:
            with contextlib.suppress(OSError, RuntimeError):
                self._writer.write(CLOSE_FRAME)
                async with asyncio.timeout(1.0):
                    await self._writer.drain()
        await close_writer(self._writer)

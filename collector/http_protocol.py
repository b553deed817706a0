"""uvicorn's HTTP protocol with a deadline on the request head (the slow-loris guard).

uvicorn times out idle keep-alive connections but not a request whose head trickles in, nor a
connection that never sends anything: hundreds of commune links, some of them flaky, and PCs
anyone can sit at would otherwise be able to hold the collector's sockets open for ever. The
head (request line and headers) must arrive within ``head_timeout`` seconds of the connection
opening or of the previous response; the body has its own deadline in the ingest route
(``ingest_body_timeout_seconds``). A late head gets ``408 Request Timeout`` and the socket is
closed; it is logged and counted on /metrics (``cm_http_head_timeouts_total``).

The head is bounded in size too (``http.max_head_bytes``): httptools has no limit of its own, and
a single 154 MiB header line was buffered whole until the deadline (issue 20). Past the bound the
connection gets ``431 Request Header Fields Too Large`` naming it and is closed at once, so at
most the bound plus one read (64 KiB) is ever held.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

log = logging.getLogger(__name__)

_RESPONSE = (
    b"HTTP/1.1 408 Request Timeout\r\n"
    b"content-type: text/plain; charset=utf-8\r\n"
    b"content-length: 26\r\n"
    b"connection: close\r\n"
    b"\r\n"
    b"request head not received\n"
)


def _head_too_large(limit: int) -> bytes:
    body = (
        f'{{"detail":"the request head is larger than http.max_head_bytes ({limit} bytes)",'
        '"field":"headers"}\n'
    ).encode()
    return (
        b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
        b"content-type: application/json\r\n"
        b"content-length: " + str(len(body)).encode() + b"\r\n"
        b"connection: close\r\n"
        b"\r\n" + body
    )


class HeadDeadlineProtocol(HttpToolsProtocol):
    """HttpToolsProtocol that closes connections whose request head is late.

    The deadline is a class setting because uvicorn builds one protocol object per connection
    from the class (also in worker processes): :meth:`configure` sets it once at start-up.
    """

    head_timeout: float = 10.0
    on_timeout: Callable[[], None] | None = None
    max_head_bytes: int = 64 * 1024
    on_head_too_large: Callable[[], None] | None = None
    _head_timer: asyncio.TimerHandle | None = None
    _head_bytes: int = 0

    @classmethod
    def configure(cls, head_timeout: float, on_timeout: Callable[[], None] | None) -> None:
        """Set the deadline (seconds) and what to call when it strikes; call before serving."""
        cls.head_timeout = head_timeout
        cls.on_timeout = on_timeout

    @classmethod
    def configure_head_bound(cls, max_bytes: int, on_refusal: Callable[[], None] | None) -> None:
        """Set the largest head (bytes) and what to call when one passes it; before serving."""
        cls.max_head_bytes = max_bytes
        cls.on_head_too_large = on_refusal

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Start the deadline for the first request's head."""
        super().connection_made(transport)
        self._arm_head_deadline()

    def data_received(self, data: bytes) -> None:
        """Start the deadline when the bytes of a new request's head begin to arrive; refuse a
        head that grows past its bound."""
        if self._head_timer is None and (self.cycle is None or self.cycle.response_complete):
            self._arm_head_deadline()
        super().data_received(data)
        if self._head_timer is None or self.transport.is_closing():
            return  # the head is complete (or the parser gave up on the connection)
        self._head_bytes += len(data)
        if self._head_bytes > self.max_head_bytes:
            self._cancel_head_deadline()
            log.warning(
                "request head too large; connection closed",
                extra={"client": self.client, "bytes": self._head_bytes},
            )
            # Read through the class: a plain function stored there would bind to ``self``.
            on_refusal = type(self).on_head_too_large
            if on_refusal is not None:
                on_refusal()
            self.transport.write(_head_too_large(self.max_head_bytes))
            self.transport.close()

    def on_headers_complete(self) -> None:
        """The head arrived in time."""
        self._cancel_head_deadline()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        """No deadline outlives its connection."""
        self._cancel_head_deadline()
        super().connection_lost(exc)

    def _arm_head_deadline(self) -> None:
        self._cancel_head_deadline()
        self._head_bytes = 0
        self._head_timer = self.loop.call_later(self.head_timeout, self._head_deadline_passed)

    def _cancel_head_deadline(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_deadline_passed(self) -> None:
        self._head_timer = None
        if self.transport.is_closing():
            return
        in_request = self.cycle is not None and not self.cycle.response_complete
        if in_request:
            return  # the head is complete; the route's own body deadline applies
        log.warning(
            "request head not received in time; connection closed",
            extra={"client": self.client, "seconds": self.head_timeout},
        )
        on_timeout = type(self).on_timeout  # through the class, as above
        if on_timeout is not None:
            on_timeout()
        self.transport.write(_RESPONSE)
        self.transport.close()

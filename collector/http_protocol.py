"""uvicorn's HTTP protocol with a deadline on the request head (the slow-loris guard).

uvicorn times out idle keep-alive connections but not a request whose head trickles in, nor a
connection that never sends anything: hundreds of commune links, some of them flaky, and PCs
anyone can sit at would otherwise be able to hold the collector's sockets open for ever. The
head (request line and headers) must arrive within ``head_timeout`` seconds of the connection
opening or of the previous response; the body has its own deadline in the ingest route
(``ingest_body_timeout_seconds``). A late head gets ``408 Request Timeout`` and the socket is
closed; it is logged and counted on /metrics (``cm_http_head_timeouts_total``).
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


class HeadDeadlineProtocol(HttpToolsProtocol):
    """HttpToolsProtocol that closes connections whose request head is late.

    The deadline is a class setting because uvicorn builds one protocol object per connection
    from the class (also in worker processes): :meth:`configure` sets it once at start-up.
    """

    head_timeout: float = 10.0
    on_timeout: Callable[[], None] | None = None
    _head_timer: asyncio.TimerHandle | None = None

    @classmethod
    def configure(cls, head_timeout: float, on_timeout: Callable[[], None] | None) -> None:
        """Set the deadline (seconds) and what to call when it strikes; call before serving."""
        cls.head_timeout = head_timeout
        cls.on_timeout = on_timeout

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Start the deadline for the first request's head."""
        super().connection_made(transport)
        self._arm_head_deadline()

    def data_received(self, data: bytes) -> None:
        """Start the deadline when the bytes of a new request's head begin to arrive."""
        if self._head_timer is None and (self.cycle is None or self.cycle.response_complete):
            self._arm_head_deadline()
        super().data_received(data)

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
        if self.on_timeout is not None:
            self.on_timeout()
        self.transport.write(_RESPONSE)
        self.transport.close()

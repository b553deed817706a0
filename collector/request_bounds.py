"""One request-size policy for every route: header count and line length, body size, body time.

An ASGI middleware, in front of any parsing: FastAPI reads and parses a whole body before a
route's dependencies run, so a 500 MB JSON body to ``/api/v1/enrol`` took the collector from
171 MB to 2.2 GB before anything looked at it, and a body sent a byte at a time held a socket
for as long as the client liked (issue 20). Here:

* more than ``http.max_headers`` headers, or one longer than ``http.max_header_bytes`` → 431;
* a body larger than the route's bound → 413, from ``Content-Length`` before a byte is read,
  else as soon as the bytes received pass it. The bound is ``http.max_body_bytes`` except on
  the routes given a larger one (the report batches and the register upload: ``max_body_bytes``);
* a body not complete within ``http.body_timeout_seconds`` of the request's head (the large
  routes: ``ingest_body_timeout_seconds``) → 408.

Each refusal names its bound and setting, closes the connection (the rest of the body is not
read) and is counted in ``cm_http_requests_refused_total{bound}``. The whole head's size is
bounded earlier, by the HTTP protocol (``collector/http_protocol.py``), before it is buffered.
The report batches' own endpoint (``collector/ingest_http.py``) applies the same head check and
its own body bounds.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from collector.settings_sections import HttpSettings

_STATUS_TEXT = {408: "body_timeout", 413: "body", 431: "headers"}


@dataclass(frozen=True, slots=True)
class Refusal:
    """A request refused at a bound: its status and what to tell the client."""

    status: int
    detail: str
    field: str
    # The setting that bounds it and its value, for a client (or a person) to act on.
    setting: str | None = None
    limit: int | None = None

    @property
    def bound(self) -> str:
        """The bound's label on /metrics."""
        return _STATUS_TEXT.get(self.status, str(self.status))


def head_refusal(
    headers: Iterable[tuple[bytes, bytes]], max_headers: int, max_line: int
) -> Refusal | None:
    """431 if the request has too many headers or one too long (name and value), else None."""
    count = 0
    for name, value in headers:
        count += 1
        if len(name) + len(value) > max_line:
            return Refusal(
                431,
                f"header {name[:64].decode('latin-1')!r} is {len(name) + len(value)} bytes, "
                f"more than http.max_header_bytes ({max_line})",
                "headers",
            )
    if count > max_headers:
        return Refusal(
            431, f"{count} headers, more than http.max_headers ({max_headers})", "headers"
        )
    return None


def refusal_messages(refusal: Refusal) -> tuple[Message, Message]:
    """The ASGI messages of a refusal's answer (JSON, connection closed)."""
    answer: dict[str, object] = {"detail": refusal.detail, "field": refusal.field}
    if refusal.setting is not None:
        answer.update(bound=refusal.setting, limit=refusal.limit)
    body = orjson.dumps(answer)
    start: Message = {
        "type": "http.response.start",
        "status": refusal.status,
        "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            # The rest of the body is not read: the connection cannot carry another request.
            (b"connection", b"close"),
        ],
    }
    return start, {"type": "http.response.body", "body": body}


class _BodyRefused(Exception):
    """Raised into the application when its body passes a bound (it then answers nothing)."""


@dataclass(frozen=True, slots=True)
class BodyBound:
    """The body bounds of one route: its size (bytes) and time (seconds)."""

    max_bytes: int
    timeout_seconds: float
    # The setting of ``max_bytes``, named in a 413.
    setting: str = "http.max_body_bytes"


class RequestBounds:
    """ASGI middleware applying the bounds above to every HTTP request of ``app``."""

    def __init__(
        self,
        app: ASGIApp,
        http: HttpSettings,
        large_routes: Mapping[str, BodyBound],
        on_refusal: Callable[[str], None] | None = None,
    ) -> None:
        self.app = app
        self._http = http
        self._default = BodyBound(http.max_body_bytes, http.body_timeout_seconds)
        self._large = dict(large_routes)
        self._on_refusal = on_refusal

    def bound_for(self, path: str) -> BodyBound:
        """The body bound of a route."""
        return self._large.get(path, self._default)

    async def _refuse(self, send: Send, refusal: Refusal) -> None:
        if self._on_refusal is not None:
            self._on_refusal(refusal.bound)
        for message in refusal_messages(refusal):
            await send(message)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse at a bound, or pass the request on with its body bounded."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        http = self._http
        refusal = head_refusal(scope["headers"], http.max_headers, http.max_header_bytes)
        bound = self.bound_for(scope["path"])
        if refusal is None:
            refusal = _declared_too_large(scope["headers"], bound)
        if refusal is not None:
            await self._refuse(send, refusal)
            return
        body = _BoundedBody(receive, bound)
        started = False

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if body.refusal is not None:
                return  # the application's answer to a body it could not read is replaced
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, body.receive, guarded_send)
        except Exception:
            if body.refusal is None or started:
                raise
        if body.refusal is not None and not started:
            await self._refuse(send, body.refusal)


def _declared_too_large(headers: Iterable[tuple[bytes, bytes]], bound: BodyBound) -> Refusal | None:
    for name, value in headers:
        if name == b"content-length":
            if value.isdigit() and int(value) > bound.max_bytes:
                return _too_large(bound)
            return None
    return None


def _too_large(bound: BodyBound) -> Refusal:
    return Refusal(
        413,
        f"the body is larger than this route's bound of {bound.max_bytes} bytes "
        f"({bound.setting}); nothing was read further",
        "body",
        bound.setting,
        bound.max_bytes,
    )


class _BoundedBody:
    """The request's ``receive``, bounded in bytes and in time; records the first refusal."""

    def __init__(self, receive: Receive, bound: BodyBound) -> None:
        self._receive = receive
        self._bound = bound
        self._size = 0
        self._deadline = asyncio.get_running_loop().time() + bound.timeout_seconds
        self.refusal: Refusal | None = None

    async def receive(self) -> Message:
        if self.refusal is not None:
            raise _BodyRefused
        remaining = self._deadline - asyncio.get_running_loop().time()
        try:
            async with asyncio.timeout(max(0.0, remaining)):
                message = await self._receive()
        except TimeoutError:
            self.refusal = Refusal(
                408,
                f"the request body did not arrive within {self._bound.timeout_seconds:g} s "
                "(http.body_timeout_seconds, or ingest_body_timeout_seconds for report batches "
                "and register uploads)",
                "body",
            )
            raise _BodyRefused from None
        if message["type"] == "http.request":
            self._size += len(message.get("body", b""))
            if self._size > self._bound.max_bytes:
                self.refusal = _too_large(self._bound)
                raise _BodyRefused
        return message

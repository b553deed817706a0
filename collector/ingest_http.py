"""POST /api/v1/reports as a plain ASGI endpoint: the hot path without per-request framework work.

Every agent of the province posts here every 15-60 s, so this route alone carries nearly all of
the collector's traffic. As a FastAPI route it paid for dependency resolution, response-model
validation and six middleware layers on every batch (about a third of the serving CPU); here it
reads the headers from the ASGI scope, bounds the body in size and in time, and answers with
pre-encoded JSON. The rules are the same as elsewhere: errors name the field (HTTP 4xx), a store
outage is a 503 with Retry-After, and the acknowledgement leaves only after the journal commit.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import orjson
from starlette.concurrency import run_in_threadpool

from agent.wire import Ack
from collector import agents, store_errors
from collector.agents import AgentIdentity, TokenCache
from collector.budgets import ReportsRefused
from collector.decode import Decoded, DecodeLimits, NeedsWorker, decode_batch
from collector.errors import AuthError, CollectorError, ReportRejected, http_status
from collector.ratelimit import AgentRateLimiter, RateLimited
from collector.service import CollectorService

log = logging.getLogger(__name__)

PATH = "/api/v1/reports"

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

# The API's answers are JSON that browsers must never sniff into something else.
_JSON_HEADERS = [
    (b"content-type", b"application/json"),
    (b"x-content-type-options", b"nosniff"),
    (b"cache-control", b"no-store"),
]


class RequestTimeout(ReportRejected):
    """HTTP 408: the body did not arrive within the deadline (a stalled link, a slow-loris)."""

    def __init__(self, seconds: float) -> None:
        super().__init__(
            f"the request body did not arrive within {seconds:g} s; nothing was stored",
            field="body",
            status=408,
        )


def error_headers(exc: CollectorError, status: int) -> list[tuple[bytes, bytes]]:
    """Retry-After on the retryable refusals (429, 503: they carry ``retry_after``),
    WWW-Authenticate on 401."""
    if status == 401:
        return [(b"www-authenticate", b"Bearer")]
    retry_after = getattr(exc, "retry_after", None)
    if retry_after is not None:
        return [(b"retry-after", str(retry_after).encode())]
    return []


def error_body(exc: CollectorError) -> dict[str, Any]:
    """The JSON of a refusal: what is wrong, the field, and for reports refused for good (past a
    budget, another agent's device) the budget and their sequence numbers."""
    body: dict[str, Any] = {
        "detail": str(exc),
        "field": exc.field if isinstance(exc, ReportRejected) else None,
    }
    if isinstance(exc, ReportsRefused):
        body["budget"] = exc.budget
        body["refused"] = list(exc.refused)
    return body


def bearer_token(authorization: str | None) -> str:
    """The token of an ``Authorization: Bearer <token>`` header, or AuthError naming the problem."""
    if not authorization:
        raise AuthError("missing Authorization: Bearer <token> header")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthError("Authorization header must be 'Bearer <token>'")
    return token.strip()


class _Headers:
    """The three request headers this route reads, found in one pass over the ASGI scope."""

    __slots__ = ("authorization", "content_encoding", "content_length")

    def __init__(self, raw: list[tuple[bytes, bytes]]) -> None:
        self.authorization: str | None = None
        self.content_encoding: str | None = None
        self.content_length: str | None = None
        for name, value in raw:
            # ASGI servers give header names lower-cased.
            if name == b"authorization":
                self.authorization = value.decode("latin-1")
            elif name == b"content-encoding":
                self.content_encoding = value.decode("latin-1")
            elif name == b"content-length":
                self.content_length = value.decode("latin-1")


class ReportsEndpoint:
    """The ASGI application answering POST /api/v1/reports for one collector."""

    def __init__(
        self,
        service: CollectorService,
        token_cache: TokenCache,
        limiter: AgentRateLimiter,
    ) -> None:
        self._service = service
        self._settings = service.settings
        self._clock = service.clock
        self._metrics = service.metrics
        self._tokens = token_cache
        self._limiter = limiter
        self._limits = DecodeLimits.of(self._settings)
        self._inline_max = self._settings.ingest.inline_max_bytes
        # labels() takes a lock and builds a key on every call; the few codes are kept here.
        self._by_code: dict[int, Any] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one request: store the batch and acknowledge it, or refuse it with a reason."""
        started = time.perf_counter()
        status = 200
        extra: list[tuple[bytes, bytes]] = []
        try:
            ack = await self._ingest(scope, receive)
            body = ack.model_dump_json().encode()
        except CollectorError as exc:
            status = http_status(exc)
            extra = error_headers(exc, status)
            body = orjson.dumps(error_body(exc))
        except store_errors.UNAVAILABLE as exc:
            status = 503
            store_errors.note_unavailable("POST", PATH, exc, self._metrics.store_unavailable)
            extra = [(b"retry-after", str(store_errors.RETRY_AFTER_SECONDS).encode())]
            body = orjson.dumps({"detail": store_errors.MESSAGE, "field": None})
        except Exception:
            status = 500
            log.exception("report ingest failed", extra={"path": PATH})
            body = orjson.dumps({"detail": "internal error; nothing was stored", "field": None})
        finally:
            self._count(status, time.perf_counter() - started)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    *_JSON_HEADERS,
                    (b"content-length", str(len(body)).encode()),
                    *extra,
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    def _count(self, status: int, seconds: float) -> None:
        child = self._by_code.get(status)
        if child is None:
            child = self._by_code[status] = self._metrics.requests.labels(code=str(status))
        child.inc()
        self._metrics.request_seconds.observe(seconds)

    async def _ingest(self, scope: Scope, receive: Receive) -> Ack:
        headers = _Headers(scope["headers"])
        identity = await self._identity(headers.authorization)
        # Before the body is read: a refused batch costs the collector next to nothing.
        try:
            self._limiter.check(identity.agent_id, self._clock.monotonic())
        except RateLimited:
            self._metrics.rate_limited.inc()
            raise
        raw = await self._read_body(headers.content_length, receive)
        received_at = self._clock.now()
        decoded: Decoded
        try:
            # A body of a few KiB (nearly all) costs less inline than a hand-off; a larger one,
            # whatever it gunzips to, is decoded in the worker process (collector/validation_pool).
            decoded = decode_batch(
                raw,
                headers.content_encoding,
                identity.agent_id,
                received_at,
                self._limits,
                inline_max=self._inline_max,
            )
        except NeedsWorker:
            decoded = await self._service.validation.decode(
                raw, headers.content_encoding, identity.agent_id, received_at
            )
        del raw
        return await self._service.writer.submit(
            identity, decoded.batch, received_at, decoded.correction
        )

    async def _identity(self, authorization: str | None) -> AgentIdentity:
        # Cached: the journal transaction re-checks revocation and rotation before writing.
        token = bearer_token(authorization)
        cached = self._tokens.lookup(token, self._clock.monotonic())
        if cached is not None:
            return cached
        identity = await run_in_threadpool(agents.authenticate, self._service.engine, token)
        self._tokens.remember(identity, self._clock.monotonic())
        return identity

    async def _read_body(self, declared: str | None, receive: Receive) -> bytes:
        limit = self._settings.max_body_bytes
        if declared is not None:
            if not declared.isdigit():
                raise ReportRejected(
                    "Content-Length is not a number", field="Content-Length", status=400
                )
            if int(declared) > limit:
                raise ReportRejected(f"body is larger than {limit} bytes", status=413)
        seconds = self._settings.ingest_body_timeout_seconds
        try:
            async with asyncio.timeout(seconds):
                return await _receive_body(receive, limit)
        except TimeoutError:
            raise RequestTimeout(seconds) from None


async def _receive_body(receive: Receive, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            # The agent went away mid-body (a cut link, a load generator stopping): nothing to
            # store and nobody to answer; counted as a 400, not logged as a server error.
            raise ReportRejected(
                "the client closed the connection before sending the whole body", status=400
            )
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise ReportRejected(f"body is larger than {limit} bytes", status=413)
        chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)

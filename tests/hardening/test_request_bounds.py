"""One request-size policy for every route, sent as an attacker would (issue 20): bodies far past
their bound, a 422 that would echo megabytes, token checks before bodies, too many or too long
headers, bodies that never finish. In process on both stores; the transport-level bounds (the
head's size, slow bodies over a socket) in tests/hardening/test_floods.py."""

from __future__ import annotations

import asyncio
import tracemalloc
from collections.abc import AsyncIterator

from sqlalchemy import Engine

from collector.settings import Settings
from tests.hardening.inprocess import running_collector

MIB = 1024 * 1024
ADMIN_TOKEN = "admin-secret"  # the settings fixture's


class Pulled:
    """A request body of ``chunks`` MiB that counts how much of it the server pulled."""

    def __init__(self, chunks: int, chunk: bytes = b"x" * MIB) -> None:
        self.chunks = chunks
        self.chunk = chunk
        self.pulled = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for _ in range(self.chunks):
            self.pulled += 1
            yield self.chunk


async def test_a_500_mb_enrolment_body_is_refused_unread_with_the_bound_named(
    engine: Engine, settings: Settings
) -> None:
    async with running_collector(engine, settings) as collector:
        declared = Pulled(500)
        tracemalloc.start()
        try:
            answer = await collector.client.post(
                "/api/v1/enrol",
                content=declared,
                headers={"Content-Type": "application/json", "Content-Length": str(500 * MIB)},
            )
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert answer.status_code == 413
        assert "http.max_body_bytes" in answer.json()["detail"]
        assert answer.headers["connection"] == "close"
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert declared.pulled == 0  # refused from Content-Length, before a byte was read
        assert peak < 4 * MIB, peak
        # The same without Content-Length (chunked): cut as soon as the bound is passed.
        streamed = Pulled(500)
        tracemalloc.start()
        try:
            answer = await collector.client.post(
                "/api/v1/enrol", content=streamed, headers={"Content-Type": "application/json"}
            )
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert answer.status_code == 413
        assert streamed.pulled <= 2  # the 1 MiB bound: the second chunk passes it
        assert peak < 8 * MIB, peak
        assert await collector.metric("cm_http_requests_refused_total", bound="body") == 2


async def test_a_422_names_the_field_with_a_short_excerpt_never_an_echo(
    engine: Engine, settings: Settings
) -> None:
    async with running_collector(engine, settings) as collector:
        huge = "A" * 900_000  # under the body bound, far over the field's 200 characters
        answer = await collector.client.post("/api/v1/enrol", json={"token": huge})
        assert answer.status_code == 422
        assert len(answer.content) < 2_000, len(answer.content)
        (error,) = answer.json()["detail"]
        assert error["loc"] == ["body", "token"]
        assert error["input"].endswith("... (900000 characters)")
        # Many bad fields: ten named, the count in a header.
        many = await collector.client.put(
            "/api/v1/agents/*/config",
            json={"checks": [{"x": i} for i in range(5_000)]},
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        )
        assert many.status_code == 422
        assert len(many.json()["detail"]) <= 10
        assert len(many.content) < 10_000


async def test_ticket_and_admin_posts_check_the_token_before_reading_the_body(
    engine: Engine, settings: Settings
) -> None:
    async with running_collector(engine, settings) as collector:
        for url in (
            "/api/v1/tickets/1/comments",
            "/api/v1/maintenance-windows",
            "/api/v1/agents/*/config",
            "/api/v1/inventory/register",
        ):
            body = Pulled(1, b"{" * (900 * 1024))
            method = "PUT" if url.endswith("config") else "POST"
            answer = await collector.client.request(
                method,
                url,
                content=body,
                headers={"Authorization": "Bearer not-a-token", "Content-Type": "application/json"},
            )
            assert answer.status_code == 401, (url, answer.text)
            assert body.pulled == 0, url
            assert answer.headers["www-authenticate"] == "Bearer"
        # The admin's token passes, and then the body is read (and found bad).
        body = Pulled(1, b"{" * 1024)
        answer = await collector.client.post(
            "/api/v1/tickets/1/comments",
            content=body,
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}", "Content-Type": "application/json"},
        )
        assert answer.status_code == 422
        assert body.pulled == 1


async def test_too_many_or_too_long_headers_get_431_naming_the_bound(
    engine: Engine, settings: Settings
) -> None:
    async with running_collector(engine, settings) as collector:
        many = {f"x-h{i}": "1" for i in range(200)}
        for path in ("/healthz", "/api/v1/reports"):
            answer = await collector.client.post(path, headers=many, content=b"{}")
            assert answer.status_code == 431, path
            assert "http.max_headers (100)" in answer.json()["detail"]
            long = await collector.client.post(
                path, headers={"x-long": "a" * 20_000}, content=b"{}"
            )
            assert long.status_code == 431, path
            assert "http.max_header_bytes (8192)" in long.json()["detail"]


async def test_a_body_that_never_finishes_gets_408_at_its_deadline(
    engine: Engine, settings: Settings
) -> None:
    async with running_collector(engine, settings, http_body_timeout_seconds=0.3) as collector:

        async def stalled() -> AsyncIterator[bytes]:
            yield b'{"token": "'
            # The client stops sending and keeps the connection: a slow-loris.
            await asyncio.Event().wait()
            yield b""  # pragma: no cover

        answer = await collector.client.post(
            "/api/v1/enrol", content=stalled(), headers={"Content-Type": "application/json"}
        )
        assert answer.status_code == 408
        assert "http.body_timeout_seconds" in answer.json()["detail"]
        assert answer.headers["connection"] == "close"
        assert await collector.metric("cm_http_requests_refused_total", bound="body_timeout") == 1
        # The service goes on.
        assert (await collector.client.get("/healthz")).status_code == 200

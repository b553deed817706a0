"""Token checks before the body (collector/token_first.py): a refused token of a request with a
body is answered before a byte of the body is read, with the connection closed; other methods,
other paths and accepted tokens reach the route."""

from __future__ import annotations

import httpx
import pytest
from starlette.types import Message, Receive, Scope, Send

from collector.errors import AuthError
from collector.token_first import TokenChecksFirst, TokenRule


class Route:
    """An ASGI app that reads the whole body and answers with its length; counts its calls."""

    def __init__(self) -> None:
        self.calls = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.calls += 1
        body = b""
        more = True
        while more:
            message: Message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": str(len(body)).encode()})


def sync_check(authorization: str | None) -> None:
    if authorization != "Bearer sync-ok":
        raise AuthError("sync token required")


async def async_check(authorization: str | None) -> None:
    if authorization != "Bearer async-ok":
        raise AuthError("async token required")


@pytest.fixture
def route() -> Route:
    return Route()


def _client(route: Route) -> httpx.AsyncClient:
    app = TokenChecksFirst(
        route, rules=[TokenRule("/api/sync", sync_check), TokenRule("/api/async", async_check)]
    )
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


async def test_a_refused_token_is_answered_before_the_route_reads_the_body(route: Route) -> None:
    async with _client(route) as client:
        for path, header in (("/api/sync/x", None), ("/api/async/y", "Bearer sync-ok")):
            headers = {"Authorization": header} if header else {}
            for method in ("POST", "PUT", "PATCH", "DELETE"):
                refused = await client.request(method, path, content=b"x" * 1000, headers=headers)
                assert refused.status_code == 401, (method, path)
                assert refused.headers["connection"] == "close"
                assert "token required" in refused.text
    assert route.calls == 0


async def test_accepted_tokens_other_methods_and_other_paths_reach_the_route(
    route: Route,
) -> None:
    async with _client(route) as client:
        sync = await client.post(
            "/api/sync/x", content=b"abc", headers={"Authorization": "Bearer sync-ok"}
        )
        both = await client.put(
            "/api/async/y", content=b"abcd", headers={"Authorization": "Bearer async-ok"}
        )
        read = await client.get("/api/sync/x")  # no body: the route checks its own token
        elsewhere = await client.post("/api/other", content=b"abcde")
    assert [r.status_code for r in (sync, both, read, elsewhere)] == [200] * 4
    assert [r.text for r in (sync, both, elsewhere)] == ["3", "4", "5"]
    assert "connection" not in sync.headers
    assert route.calls == 4


async def test_a_rule_can_name_its_own_methods(route: Route) -> None:
    app = TokenChecksFirst(route, rules=[TokenRule("/api", sync_check, frozenset({"GET"}))])
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        assert (await client.get("/api/x")).status_code == 401
        assert (await client.post("/api/x", content=b"ab")).status_code == 200
    assert route.calls == 1

"""Security headers and cookie flags on every answer: each console route (found from the app, so a
new page is covered the day it is added), its redirects, downloads and refusals, and the JSON API,
/metrics, health and docs (collector/security_headers.py), on both stores.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterable, Iterator
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from sqlalchemy import Engine
from starlette.routing import BaseRoute

from collector import agents, security_headers
from collector.security_headers import SecurityHeaders
from collector.settings import Settings
from inventory.store import list_assets
from tests.web.support import BASE, Province, console_app, csrf_token, login

COOKIE_FLAGS = ("httponly", "secure", "samesite=")


@pytest.fixture
def app(settings: Settings, province: Province) -> FastAPI:
    built = console_app(settings, province)
    assert isinstance(built, FastAPI)
    return built


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as http:
        yield http


def _routes(routes: Iterable[BaseRoute]) -> Iterator[BaseRoute]:
    """Every route, also inside included routers (FastAPI keeps those as a lazy branch)."""
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from _routes(inner.routes)
        else:
            yield route


def _console_paths(app: FastAPI, province: Province, asset_tag: str) -> list[str]:
    """Every GET route of the console with its path parameters filled from the fed store."""
    values = {
        "{code}": province.other,
        "{ticket_id}": str(province.ticket_ids("isp")[0]),
        "{asset_tag}": asset_tag,
    }
    out = []
    for route in _routes(app.routes):
        if not isinstance(route, APIRoute) or "GET" not in route.methods:
            continue
        if not route.path.startswith("/web"):
            continue
        path = route.path
        for name, value in values.items():
            path = path.replace(name, value)
        assert "{" not in path, f"{route.path}: give the test a value for its parameter"
        out.append(path)
    assert len(out) >= 10, out
    return out


def _assert_console_headers(response: httpx.Response) -> None:
    where = f"{response.request.method} {response.request.url.path} → {response.status_code}"
    headers = response.headers
    assert headers.get("x-frame-options") == "DENY", where
    assert headers.get("x-content-type-options") == "nosniff", where
    assert headers.get("referrer-policy") == "same-origin", where
    csp = headers.get("content-security-policy", "")
    assert "default-src 'self'" in csp, where
    assert "frame-ancestors 'none'" in csp, where
    assert "unsafe-inline" not in csp, where
    assert "unsafe-eval" not in csp, where
    if not response.request.url.path.endswith(".css"):
        assert headers.get("cache-control") == "no-store", where


def _assert_cookie_flags(responses: list[httpx.Response]) -> int:
    checked = 0
    for response in responses:
        for cookie in response.headers.get_list("set-cookie"):
            lowered = cookie.lower()
            if "max-age=0" in lowered or "expires=thu, 01 jan 1970" in lowered:
                continue  # a deletion carries no value to protect
            for flag in COOKIE_FLAGS:
                assert flag in lowered, (response.request.url.path, cookie)
            checked += 1
    return checked


async def test_every_console_answer_carries_the_security_headers(
    app: FastAPI, client: httpx.AsyncClient, province: Province, engine: Engine
) -> None:
    paths = _console_paths(app, province, list_assets(engine)[0].asset_tag)
    seen: list[httpx.Response] = []
    # Logged out: each page is a redirect to the login form (or the form, the stylesheet...).
    for path in paths:
        seen.append(await client.get(path))
    seen.append(await login(client, "admin"))
    assert seen[-1].status_code == 303
    for path in paths:
        response = await client.get(path)
        assert response.status_code < 500, (path, response.status_code)
        seen.append(response)
    overview = await client.get("/web/overview")
    token = csrf_token(overview.text)
    seen.append(
        await client.post("/web/fleet/plan.xlsx", data={"csrf_token": token, "budget": "1"})
    )
    assert seen[-1].headers["content-type"].startswith("application/vnd.openxml")
    seen.append(await client.post("/web/fleet/plan", data={"csrf_token": "forged", "budget": "1"}))
    assert seen[-1].status_code == 403
    seen.append(await client.get("/web/no-such-page"))
    for response in seen:
        if response.status_code == 404 and response.request.url.path == "/web/no-such-page":
            continue  # FastAPI's own 404: the collector-wide headers below apply
        _assert_console_headers(response)
    # The session, the login form's CSRF cookie and the language cookie: each flagged.
    assert _assert_cookie_flags(seen) >= 3
    session = seen[len(paths)].headers["set-cookie"]
    assert re.search(r"cm_session=[^;]+;.*HttpOnly", session, re.IGNORECASE)
    assert "samesite=lax" in session.lower()


def _assert_collector_headers(response: httpx.Response, api: bool) -> None:
    where = f"{response.request.method} {response.request.url.path} → {response.status_code}"
    headers = response.headers
    assert headers.get("x-content-type-options") == "nosniff", where
    if response.request.url.path == "/api/v1/reports":
        return  # the ingest hot path answers agents, not browsers: nosniff is what it sets
    assert headers.get("x-frame-options") == "DENY", where
    assert headers.get("referrer-policy"), where
    if not headers.get("content-type", "").startswith("text/html"):
        assert "default-src 'none'" in headers.get("content-security-policy", ""), where
    if api:
        assert headers.get("cache-control"), where


async def _api_answers(
    client: httpx.AsyncClient, engine: Engine, province: Province
) -> list[tuple[httpx.Response, bool]]:
    admin = {"Authorization": "Bearer admin-secret"}
    code = province.other
    enrol_token = agents.create_enrol_token(
        engine, code, province.world.clock.now(), timedelta(hours=1)
    )
    enrolled = await client.post("/api/v1/enrol", json={"token": enrol_token, "hostname": "pc-h"})
    assert enrolled.status_code == 201, enrolled.text
    agent = {"Authorization": f"Bearer {enrolled.json()['agent_token']}"}
    answers = [(enrolled, True)]
    for path, headers in (
        ("/api/v1/agents", admin),
        ("/api/v1/agents", {}),
        ("/api/v1/tickets", admin),
        ("/api/v1/inventory/assets", admin),
        ("/api/v1/nothing-here", admin),
        (f"/api/v1/agents/{enrolled.json()['agent_id']}/config", agent),
    ):
        answers.append((await client.get(path, headers=headers), True))
    answers.append(
        (await client.post("/api/v1/reports", content=b"{not json", headers=agent), True)
    )
    for path in ("/healthz", "/metrics", "/openapi.json", "/docs", "/"):
        answers.append((await client.get(path), False))
    return answers


async def test_api_metrics_and_docs_carry_security_headers(
    app: FastAPI, engine: Engine, province: Province
) -> None:
    # The middleware's behaviour, on the real app; whether create_app installs it is the next test.
    if not any(m.cls is SecurityHeaders for m in app.user_middleware):
        security_headers.install(app)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
        answers = await _api_answers(client, engine, province)
    statuses = {response.status_code for response, _ in answers}
    assert {200, 201, 401, 404} <= statuses
    for response, api in answers:
        _assert_collector_headers(response, api)
    enrolled = answers[0][0]
    assert enrolled.headers["cache-control"] == "no-store"  # it carries the agent's token


def test_create_app_installs_the_security_headers(app: FastAPI) -> None:
    # collector/api.py's create_app, beside store_errors.install(app):
    # security_headers.install(app).
    assert any(m.cls is SecurityHeaders for m in app.user_middleware), (
        "create_app does not call collector.security_headers.install(app)"
    )

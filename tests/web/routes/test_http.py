"""The plumbing every console page shares (web/routes/http.py), over HTTP on both stores:
security headers and cookie flags on every console answer (each route found from the app, so a
new page is covered the day it is added), the CSRF checks, the login redirect, safe targets."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterable, Iterator

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from sqlalchemy import Engine
from starlette.routing import BaseRoute

from collector.settings import Settings
from inventory.store import list_assets
from tests.web.support import BASE, PASSWORD, Province, console_app, csrf_token, login
from web.routes.http import safe_next

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
        # An answer link's page (issue 22): a token that is not one shows its refusal page.
        "{token}": "not-a-token",
    }
    out = []
    for route in _routes(app.routes):
        if not isinstance(route, APIRoute) or "GET" not in (route.methods or ()):
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
    assert not [path for path in app.openapi()["paths"] if path.startswith("/web")]
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
            continue  # FastAPI's own 404: the collector-wide headers apply
        _assert_console_headers(response)
    # The session, the login form's CSRF cookie and the language cookie: each flagged.
    assert _assert_cookie_flags(seen) >= 3
    session = seen[len(paths)].headers["set-cookie"]
    assert re.search(r"cm_session=[^;]+;.*HttpOnly", session, re.IGNORECASE)
    assert "samesite=lax" in session.lower()


async def test_forms_without_the_csrf_token_are_refused(
    http: httpx.AsyncClient, province: Province
) -> None:
    ticket = province.ticket_ids("isp")[0]
    form = await http.get("/web/login")
    no_token = await http.post("/web/login", data={"username": "admin", "password": PASSWORD})
    assert no_token.status_code == 403
    assert "set-cookie" not in no_token.headers
    assert form.status_code == 200
    await login(http, "admin")
    for data in ({}, {"csrf_token": "forged"}):
        answer = await http.post(f"/web/tickets/{ticket}/ack", data=data)
        assert answer.status_code == 403
    assert province.ticket_state(ticket) == "open"


async def test_a_page_without_a_session_redirects_to_the_login_with_its_address(
    http: httpx.AsyncClient, province: Province
) -> None:
    answer = await http.get(f"/web/communes/{province.other}", params={"device": "x"})
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/web/login?next=/web/communes/{province.other}?device=x"
    form = await http.get(answer.headers["location"])
    assert f'name="next" value="/web/communes/{province.other}?device=x"' in form.text


def test_only_paths_on_this_console_are_redirect_targets() -> None:
    assert safe_next("/web/tickets/3") == "/web/tickets/3"
    for target in (None, "", "/api/v1/agents", "https://evil.example/web/", "//evil.example"):
        assert safe_next(target) == "/web/", target

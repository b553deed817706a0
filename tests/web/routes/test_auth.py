"""Logging in and out, landing pages and the language switch (web/routes/auth.py) over HTTP on
both stores. The login limits themselves are tests/web/test_login.py."""

from __future__ import annotations

import httpx

from tests.web.support import PASSWORD, Province
from tests.web.support import csrf_token as _csrf
from tests.web.support import login as _login
from web.login import LoginLimits


async def test_login_is_rate_limited_per_account(
    http: httpx.AsyncClient, province: Province
) -> None:
    limits = LoginLimits()
    for _ in range(limits.per_account_client):
        assert (await _login(http, "admin", "wrong-password")).status_code == 401
    # Even the right password is refused until the window has passed.
    refused = await _login(http, "admin")
    assert refused.status_code == 429
    assert 0 < int(refused.headers["retry-after"]) <= limits.window.total_seconds()
    assert "15 phút" in refused.text
    province.world.clock.advance(limits.window.total_seconds() + 1)
    assert (await _login(http, "admin")).status_code == 303


async def test_each_role_lands_on_its_page_and_next_is_kept_on_this_console(
    http: httpx.AsyncClient, province: Province
) -> None:
    landing = {"admin": "/web/overview", "isp-tech": "/web/tickets", "finance": "/web/fleet"}
    for username, path in landing.items():
        answer = await _login(http, username)
        assert answer.headers["location"] == path
        assert (await http.get("/web/")).headers["location"] == path
    for asked, went in (
        ("/web/communes/00001", "/web/communes/00001"),
        ("https://evil.example/", "/web/fleet"),
        ("//evil.example/web/", "/web/fleet"),
        ("/web/login", "/web/fleet"),
    ):
        # A successful login deletes the form's CSRF cookie: a fresh form each time.
        token = _csrf((await http.get("/web/login", params={"next": asked})).text)
        answer = await http.post(
            "/web/login",
            data={"csrf_token": token, "username": "finance", "password": PASSWORD, "next": asked},
        )
        assert answer.headers["location"] == went, asked


async def test_logout_ends_the_session(http: httpx.AsyncClient, province: Province) -> None:
    await _login(http, "dost")
    page = await http.get("/web/overview")
    assert page.status_code == 200
    answer = await http.post("/web/logout", data={"csrf_token": _csrf(page.text)})
    assert answer.status_code == 303
    assert answer.headers["location"] == "/web/login"
    assert (await http.get("/web/overview")).status_code == 303


async def test_the_language_cookie_is_only_set_for_known_languages(
    http: httpx.AsyncClient,
) -> None:
    english = await http.get("/web/lang/en", params={"next": "https://evil.example/"})
    assert english.headers["location"] == "/web/"
    assert "cm_lang=en" in english.headers["set-cookie"]
    unknown = await http.get("/web/lang/fr", params={"next": "/web/login"})
    assert unknown.headers["location"] == "/web/login"
    assert "set-cookie" not in unknown.headers
    css = await http.get("/web/static/console.css")
    assert css.headers["content-type"].startswith("text/css")
    assert css.headers["cache-control"] == "public, max-age=3600"

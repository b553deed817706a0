"""Console inputs an attacker types (issue 20): a budget of 4,300 digits or "²³" was a plain-text
500 without security headers. ``inventory/money.py`` bounds it now; verified here over HTTP on
both stores, with the console's headers on the refusal; and a body sent too slowly or too large
to the login form is cut like any other."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine

from collector.settings import Settings
from tests.web.support import BASE, Province, build_province, console_app, csrf_token, login


@pytest.fixture
async def http(
    settings: Settings, engine: Engine, tmp_path: Path
) -> AsyncIterator[httpx.AsyncClient]:
    province: Province = build_province(engine, tmp_path)
    transport = httpx.ASGITransport(app=console_app(settings, province))  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
        yield client


async def test_a_budget_of_4300_digits_or_superscripts_is_a_422_with_the_consoles_headers(
    http: httpx.AsyncClient,
) -> None:
    await login(http, "finance")
    token = csrf_token((await http.get("/web/fleet")).text)
    for budget in ("9" * 4_300, "²³", "1" * 16):
        answer = await http.post("/web/fleet/plan", data={"csrf_token": token, "budget": budget})
        assert answer.status_code == 422, (budget[:10], answer.status_code)
        assert answer.headers["content-type"].startswith("text/html")
        assert "default-src 'self'" in answer.headers["content-security-policy"]
        assert answer.headers["x-frame-options"] == "DENY"
        assert "budget" in answer.text


async def test_a_login_form_larger_than_the_bound_is_refused_unread(
    http: httpx.AsyncClient,
) -> None:
    answer = await http.post(
        "/web/login",
        content=b"username=" + b"a" * (2 * 1024 * 1024),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert answer.status_code == 413
    assert "http.max_body_bytes" in answer.json()["detail"]
    assert answer.headers["x-frame-options"] == "DENY"

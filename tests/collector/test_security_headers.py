"""Security headers of the collector's other answers: the JSON API, /metrics, health and docs
(collector/security_headers.py, installed by province/app.py), on both stores.

These test collector code from the console's fixtures (a fed province); they belong beside
collector/security_headers.py's own tests. The console's pages are tests/web/routes/test_http.py.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import Engine

from collector import agents, security_headers
from collector.security_headers import SecurityHeaders
from collector.settings import Settings
from tests.web.support import BASE, Province, build_province, console_app


@pytest.fixture
def province(engine: Engine, tmp_path: Path) -> Province:
    return build_province(engine, tmp_path)


@pytest.fixture
def app(settings: Settings, province: Province) -> FastAPI:
    built = console_app(settings, province)
    assert isinstance(built, FastAPI)
    return built


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
    if not any(getattr(m, "cls", None) is SecurityHeaders for m in app.user_middleware):
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
    assert any(getattr(m, "cls", None) is SecurityHeaders for m in app.user_middleware), (
        "create_app does not call collector.security_headers.install(app)"
    )

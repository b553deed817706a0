"""collector.docs_ui: /docs serves Swagger UI from the installed package under the console's CSP,
with no CDN and no inline script (issue 20)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import Engine
from swagger_ui_bundle import swagger_ui_path  # type: ignore[import-untyped]

from collector import docs_ui
from collector.settings import Settings
from tests.hardening.inprocess import running_collector


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    """A bare app with only the docs installed, in process."""
    app = FastAPI(title="Test API", docs_url=None, redoc_url=None)
    docs_ui.install(app)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://collector") as client:
        yield client


async def test_the_page_names_the_app_and_loads_only_local_files(client: httpx.AsyncClient) -> None:
    page = await client.get("/docs")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "<title>Test API - API</title>" in page.text
    assert re.findall(r'(?:src|href)="([^"]+)"', page.text) == [
        "/docs/assets/swagger-ui.css",
        "/docs/assets/favicon-32x32.png",
        "/docs/assets/swagger-ui-bundle.js",
        "/docs/start.js",
    ]
    assert page.headers["content-security-policy"] == docs_ui.CSP
    assert page.headers["cache-control"] == "no-cache"


async def test_assets_are_the_packages_bytes_with_their_media_types(
    client: httpx.AsyncClient,
) -> None:
    for name, media in docs_ui.ASSETS.items():
        asset = await client.get(f"/docs/assets/{name}")
        assert asset.status_code == 200, name
        assert asset.content == (Path(swagger_ui_path) / name).read_bytes()
        assert asset.headers["content-type"] == media
        assert asset.headers["content-security-policy"] == docs_ui.CSP


@pytest.mark.parametrize(
    "name",
    ["index.html", "swagger-initializer.js", "..%2F..%2Fsettings.py", "%2Fetc%2Fpasswd", "x.css"],
)
async def test_only_the_listed_assets_are_served(client: httpx.AsyncClient, name: str) -> None:
    assert (await client.get(f"/docs/assets/{name}")).status_code == 404


async def test_the_start_script_points_at_this_origins_schema(client: httpx.AsyncClient) -> None:
    start = await client.get("/docs/start.js")
    assert start.headers["content-type"] == "text/javascript; charset=utf-8"
    assert 'url: "/openapi.json"' in start.text
    assert "http" not in start.text  # no absolute URL anywhere
    assert start.headers["content-security-policy"] == docs_ui.CSP


def test_the_policy_allows_nothing_from_elsewhere_and_no_inline_code() -> None:
    directives = dict(part.strip().split(" ", 1) for part in docs_ui.CSP.split(";"))
    assert directives["default-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["base-uri"] == "'none'"
    assert "unsafe" not in docs_ui.CSP
    assert "script-src" not in directives  # falls back to default-src 'self'


def test_the_docs_routes_stay_out_of_the_schema() -> None:
    app = FastAPI(docs_url=None, redoc_url=None)
    docs_ui.install(app)
    assert not [path for path in app.openapi()["paths"] if path.startswith("/docs")]


async def test_docs_load_swagger_ui_from_this_origin_under_the_consoles_csp(
    engine: Engine, settings: Settings
) -> None:
    async with running_collector(engine, settings) as collector:
        page = await collector.client.get("/docs")
        assert page.status_code == 200
        csp = page.headers["content-security-policy"]
        assert "default-src 'self'" in csp
        assert "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp
        sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
        assert sources
        assert all(source.startswith("/") for source in sources), sources
        assert "<script>" not in page.text  # no inline script: the CSP would refuse it
        for source in sources:
            asset = await collector.client.get(source)
            assert asset.status_code == 200, source
            assert asset.headers["content-security-policy"] == csp
        assert "SwaggerUIBundle" in (await collector.client.get("/docs/start.js")).text
        assert (await collector.client.get("/docs/assets/index.html")).status_code == 404
        assert (await collector.client.get("/redoc")).status_code == 404

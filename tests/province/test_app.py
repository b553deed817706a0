"""The province's application (province/app.py) on both stores: every feature's routes mounted
beside the collector's, the features' tokens checked before a body is read, the register upload
alone taking large bodies, and no ticket routes when alerting is off."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from prometheus_client import CollectorRegistry
from sqlalchemy import Engine

from collector.settings import Settings
from province.app import create_app
from province.service import build_service
from tests.fakes import FakeClock

ADMIN = {"Authorization": "Bearer admin-secret"}


@asynccontextmanager
async def _served(settings: Settings, engine: Engine) -> AsyncIterator[httpx.AsyncClient]:
    service = build_service(
        settings, clock=FakeClock(), registry=CollectorRegistry(), engine=engine
    )
    app = create_app(service)
    async with service.running():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://province") as client:
            yield client


async def _documented(client: httpx.AsyncClient) -> set[str]:
    paths: dict[str, object] = (await client.get("/openapi.json")).json()["paths"]
    return set(paths)


async def test_every_features_routes_are_mounted_beside_the_collectors(
    settings: Settings, engine: Engine
) -> None:
    async with _served(settings, engine) as client:
        documented = await _documented(client)
        for path in (
            "/api/v1/reports",  # the agents' hot path, the collector's own
            "/api/v1/inventory/assets",
            "/api/v1/tickets",
            "/api/v1/maintenance-windows",
            "/api/v1/reports/monthly",
        ):
            assert path in documented, path
        for path in ("/api/v1/inventory/assets", "/api/v1/tickets", "/api/v1/maintenance-windows"):
            assert (await client.get(path, headers=ADMIN)).status_code == 200, path
            assert (await client.get(path)).status_code == 401, path
        assert (await client.get("/web/login")).status_code == 200  # the console


async def test_the_features_tokens_are_checked_before_the_body(
    settings: Settings, engine: Engine
) -> None:
    body = b"x" * 4096
    async with _served(settings, engine) as client:
        for path in (
            "/api/v1/inventory/register",
            "/api/v1/maintenance-windows",
            "/api/v1/tickets/1/ack",
        ):
            refused = await client.post(
                path, content=body, headers={"Authorization": "Bearer wrong"}
            )
            assert refused.status_code == 401, path
            # Answered from the header alone: the unread body leaves the connection unusable.
            assert refused.headers["connection"] == "close", path


async def test_only_the_register_upload_takes_a_large_body(
    settings: Settings, engine: Engine
) -> None:
    bounded = settings.model_copy(
        update={
            "http": settings.http.model_copy(update={"max_body_bytes": 2048}),
            "max_body_bytes": 256 * 1024,
        }
    )
    body = b"a,b\n" * 4096  # 16 KiB
    async with _served(bounded, engine) as client:
        window = await client.post("/api/v1/maintenance-windows", content=body, headers=ADMIN)
        upload = await client.post(
            "/api/v1/inventory/register",
            files={"file": ("register.csv", body, "text/csv")},
            headers=ADMIN,
        )
    assert window.status_code == 413
    assert window.json()["bound"] == "http.max_body_bytes", window.text
    assert upload.status_code != 413, upload.text
    assert upload.status_code < 500


async def test_without_alerting_there_are_no_ticket_routes(
    settings: Settings, engine: Engine
) -> None:
    off = settings.model_copy(update={"alerts_enabled": False})
    async with _served(off, engine) as client:
        assert not any(path.startswith("/api/v1/tickets") for path in await _documented(client))
        assert (await client.get("/api/v1/tickets", headers=ADMIN)).status_code == 404
        # The other features stay.
        assert (await client.get("/api/v1/maintenance-windows", headers=ADMIN)).status_code == 200

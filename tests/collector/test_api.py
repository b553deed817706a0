"""The collector's application (collector/api.py): health and readiness, the OpenAPI document
with the hot path described, the admin guard and /metrics, in process on both stores."""

from __future__ import annotations

import httpx
import pytest
from prometheus_client import CollectorRegistry
from pydantic import SecretStr
from sqlalchemy import Engine

from agent.wire import Ack
from collector.api import admin_guard, create_collector_app
from collector.errors import AuthError
from collector.service import build_collector
from collector.settings import Settings, load_settings
from province.migrate import head_revision
from tests.collector.builders import batch
from tests.collector.support import Harness, start
from tests.fakes import FakeClock
from tests.hardening.inprocess import running_collector


async def test_health_ready_and_openapi(harness: Harness) -> None:
    assert (await harness.client.get("/healthz")).json() == {"status": "ok"}
    ready = await harness.client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["schema"] == head_revision()
    spec = (await harness.client.get("/openapi.json")).json()
    assert "ReportBatch" in spec["components"]["schemas"]
    assert "/api/v1/reports" in spec["paths"]


async def test_openapi_documents_the_ingest_hot_path_with_its_bodies(harness: Harness) -> None:
    # POST /reports is answered before FastAPI's routing (collector/ingest_http.py); the
    # published document must still describe it, or agents' authors and the fuzzer lose it.
    spec = (await harness.client.get("/openapi.json")).json()
    operation = spec["paths"]["/api/v1/reports"]["post"]
    body = operation["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/ReportBatch"}
    ack = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert ack == {"$ref": "#/components/schemas/Ack"}
    assert set(spec["components"]["schemas"]["Ack"]["properties"]) == set(Ack.model_fields)
    for code in ("400", "401", "403", "408", "409", "413", "415", "422", "429", "503"):
        error = operation["responses"][code]["content"]["application/json"]["schema"]
        assert error == {"$ref": "#/components/schemas/ErrorBody"}, code


def test_the_admin_guard_admits_only_the_admin_token() -> None:
    guard = admin_guard(load_settings(admin_token="s3cret"))
    guard("Bearer s3cret")
    for header in ("Bearer wrong", "Bearer s3cret2", None):
        with pytest.raises(AuthError):
            guard(header)
    # Without an admin token configured, no token is the admin's.
    with pytest.raises(AuthError, match="Bearer <token>"):
        admin_guard(load_settings())("Bearer ")
    with pytest.raises(AuthError, match="admin token required"):
        admin_guard(load_settings())("Bearer anything")


async def test_readiness_says_when_the_store_has_no_schema(settings: Settings) -> None:
    # A store that was never upgraded: alive, not ready, and told what to run.
    service = build_collector(settings, clock=FakeClock(), registry=CollectorRegistry())
    app = create_collector_app(service)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://collector") as client:
        assert (await client.get("/healthz")).status_code == 200
        ready = await client.get("/readyz")
    assert ready.status_code == 503
    assert "db upgrade" in ready.json()["detail"]
    service.engine.dispose()


async def test_metrics_can_require_a_token(engine: Engine, settings: Settings) -> None:
    async with running_collector(
        engine, settings, metrics_token=SecretStr("scrape-secret")
    ) as collector:
        assert (await collector.client.get("/metrics")).status_code == 401
        wrong = await collector.client.get("/metrics", headers={"Authorization": "Bearer no"})
        assert wrong.status_code == 401
        assert "agent_id" not in wrong.text
        shown = await collector.client.get(
            "/metrics", headers={"Authorization": "Bearer scrape-secret"}
        )
        assert shown.status_code == 200
        assert "cm_ingest_requests_total" in shown.text
    # Without the setting /metrics stays open (a scraper on a trusted network).
    async with running_collector(engine, settings) as collector:
        assert (await collector.client.get("/metrics")).status_code == 200


async def test_metrics_without_devices_leaves_their_families_to_the_sink(harness: Harness) -> None:
    await harness.post(batch(harness.agent_id, [1], start(harness)))
    harness.service.processor.drain()
    full = (await harness.scrape()).text
    lean = (await harness.scrape("/metrics?devices=false")).text
    assert "cm_device_cpu_percent{" in full
    assert "cm_device_" not in lean
    assert "cm_ingest_requests_total" in lean

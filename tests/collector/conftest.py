"""Fixtures of the collector's tests: the collector app in process with one enrolled agent."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy import Engine

from collector import agents
from collector.settings import Settings
from province.app import create_app
from province.service import build_service
from tests.collector.support import Harness, first_commune
from tests.fakes import FakeClock


@pytest.fixture
async def harness(engine: Engine, settings: Settings) -> AsyncIterator[Harness]:
    """The collector app (processor not running) with one agent enrolled through the API."""
    clock = FakeClock()
    service = build_service(
        settings.model_copy(
            update={
                "run_processor": False,
                "max_body_bytes": 256 * 1024,
                "max_decompressed_bytes": 1024 * 1024,
            }
        ),
        clock=clock,
        registry=CollectorRegistry(),
        engine=engine,
    )
    commune = first_commune(engine)
    token = agents.create_enrol_token(engine, commune, clock.now(), timedelta(hours=1))
    app = create_app(service)
    async with service.running():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://collector") as client:
            response = await client.post(
                "/api/v1/enrol", json={"token": token, "hostname": "quay-1", "agent_version": "0.1"}
            )
            assert response.status_code == 201, response.text
            body = response.json()
            yield Harness(client, service, clock, body["agent_id"], body["agent_token"])

"""The collector app in process (httpx's ASGI transport) on a fake clock, for the limit drills."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine, func, select

from collector import agents
from collector.schema import journal
from collector.settings import Settings
from province.app import create_app
from province.service import ProvinceService, build_service
from tests.agent.support import first_commune
from tests.fakes import FakeClock


@dataclass
class Enrolled:
    agent_id: str
    token: str


@dataclass
class Collector:
    """A running collector app with a fake clock."""

    client: httpx.AsyncClient
    service: ProvinceService
    clock: FakeClock
    transport: httpx.ASGITransport

    async def enrol(self) -> Enrolled:
        engine = self.service.engine
        token = agents.create_enrol_token(
            engine, first_commune(engine), self.clock.now(), timedelta(hours=1)
        )
        response = await self.client.post("/api/v1/enrol", json={"token": token})
        assert response.status_code == 201, response.text
        body = response.json()
        return Enrolled(body["agent_id"], body["agent_token"])

    async def post(self, agent: Enrolled, body: dict[str, Any]) -> httpx.Response:
        return await self.client.post(
            "/api/v1/reports", json=body, headers={"Authorization": f"Bearer {agent.token}"}
        )

    async def scrape(self, path: str = "/metrics") -> httpx.Response:
        """``path`` once the state processed so far is in the agents' and devices' text: the
        background refresh's work, done here rather than waited for."""
        await asyncio.to_thread(self.service.refresh_exposition)
        return await self.client.get(path)

    def journal_seqs(self, agent: Enrolled) -> list[int]:
        with self.service.engine.connect() as conn:
            return sorted(
                conn.execute(
                    select(journal.c.seq).where(journal.c.agent_id == agent.agent_id)
                ).scalars()
            )

    def journal_rows(self) -> int:
        with self.service.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(journal)).scalar_one())

    async def metric(self, name: str, **labels: str) -> float | None:
        """One sample of /metrics, as a scraper reads it (None when absent)."""
        response = await self.scrape("/metrics")
        assert response.status_code == 200
        for family in text_string_to_metric_families(response.text):
            for sample in family.samples:
                if sample.name == name and all(
                    sample.labels.get(k) == v for k, v in labels.items()
                ):
                    return float(sample.value)
        return None


@contextlib.asynccontextmanager
async def running_collector(
    engine: Engine, settings: Settings, **updates: Any
) -> AsyncIterator[Collector]:
    """The collector on the test's store, with ``updates`` applied to its settings."""
    clock = FakeClock()
    service = build_service(
        settings.model_copy(update={"run_processor": False, **updates}),
        clock=clock,
        registry=CollectorRegistry(),
        engine=engine,
    )
    app = create_app(service)
    async with service.running():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://collector") as client:
            yield Collector(client, service, clock, transport)

"""A running collector app on a real store with a fake clock and one enrolled agent, for the
tests of the ingest path and the agents' API (the ``harness`` fixture of ``conftest.py``)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import Engine, func, select

from agent.wire import ReportBatch
from collector import agents
from collector.agents import AgentIdentity
from collector.ingest import store_batch
from collector.schema import agents as agents_table
from collector.schema import communes, journal
from province.service import ProvinceService
from tests.collector.builders import batch
from tests.fakes import FakeClock

COMMUNE = "14134"  # a commune of province 37 (Ninh Bình), loaded by the engine fixture


@dataclass
class Harness:
    """A running collector app with a fake clock and one enrolled agent."""

    client: httpx.AsyncClient
    service: ProvinceService
    clock: FakeClock
    agent_id: str
    token: str

    def auth(self, token: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {token or self.token}"}

    async def post(self, body: Any, token: str | None = None, **kwargs: Any) -> httpx.Response:
        if isinstance(body, dict) and "sent_at" in body and not kwargs.pop("keep_sent_at", False):
            # Agents stamp a batch when they send it: now, on a correct clock.
            body = {**body, "sent_at": self.clock.now().isoformat()}
        return await self.client.post(
            "/api/v1/reports", json=body, headers=self.auth(token), **kwargs
        )

    async def scrape(self, path: str = "/metrics") -> httpx.Response:
        """``path`` once the state processed so far is in the agents' and devices' text: the
        background refresh's work, done here rather than waited for."""
        await asyncio.to_thread(self.service.refresh_exposition)
        return await self.client.get(path)

    def state(self) -> tuple[int, int]:
        """(journal rows, acked sequence) — what bad input must leave unchanged."""
        with self.service.engine.connect() as conn:
            rows = conn.execute(select(func.count()).select_from(journal)).scalar_one()
            acked = conn.execute(
                select(agents_table.c.acked_seq).where(agents_table.c.id == self.agent_id)
            ).scalar_one()
        return rows, acked


def first_commune(engine: Engine) -> str:
    """The lowest commune code in the store."""
    with engine.connect() as conn:
        code: str = (
            conn.execute(select(communes.c.code).order_by(communes.c.code)).scalars().first()
        )
    return code


def start(h: Harness) -> datetime:
    """When the harness's batches begin: half an hour before now."""
    return h.clock.now() - timedelta(minutes=30)


def enrolled(engine: Engine, clock: FakeClock, hostname: str = "pc") -> AgentIdentity:
    """A new agent of the store's first commune, enrolled and authenticated directly."""
    token = agents.create_enrol_token(
        engine, first_commune(engine), clock.now(), timedelta(hours=1)
    )
    enrolment = agents.enrol(engine, token, hostname, "test", clock.now())
    return agents.authenticate(engine, enrolment.agent_token)


def store(
    engine: Engine,
    identity: AgentIdentity,
    seqs: list[int],
    begin: datetime,
    clock: FakeClock,
    devices: list[dict[str, Any]] | None = None,
) -> None:
    """Write a batch of ``identity``'s reports to the journal directly (no HTTP, no budgets)."""
    body = batch(identity.agent_id, seqs, begin, devices=devices, sent_at=clock.now())
    with engine.begin() as conn:
        store_batch(
            conn, identity, ReportBatch.model_validate(body), clock.now(), timedelta(0), 100_000
        )

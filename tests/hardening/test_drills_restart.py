"""Failure drill: the PostgreSQL server restarted, then stopped for seconds, under agent load.

A private cluster (tests/hardening/support.py: PrivatePostgres), never the machine's shared one.
Real ``agent.sender.Sender``s post through the collector app in process, with the journal
processor running. Each phase must end with every acknowledged report stored exactly once
(counted by agent and sequence), no 500 (503 with Retry-After while the server is away), the
collector serving and processing again by itself, and the outage shown on /metrics and logged.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client import CollectorRegistry
from sqlalchemy import Engine, create_engine, func, select
from sqlalchemy.exc import OperationalError

from agent.clock import SystemClock
from agent.sender import Sender
from agent.spool import Spool
from agent.wire import DeviceReport
from collector import store_errors
from collector.schema import device_state, journal
from collector.settings import load_settings
from province.service import build_service
from tests.collector.builders import pc_device
from tests.collector.test_reliability import _send
from tests.hardening.inprocess import Enrolled, running_collector
from tests.hardening.support import AnswerLog, PrivatePostgres, prepared_store

AGENTS = 4
MAX_REPORTS = 2_000  # per agent: the load's bound in count (its bound in time is the outage's)
STEP = 60  # journal rows that show the collector storing again after each phase


@pytest.fixture
def private_pg() -> Iterator[PrivatePostgres]:
    """A PostgreSQL cluster of this test's own; stopped and deleted afterwards."""
    server = PrivatePostgres()
    try:
        server.init()
        yield server
    finally:
        server.destroy()


@pytest.fixture
def pg_engine(private_pg: PrivatePostgres, tmp_path: Path) -> Iterator[Engine]:
    url = private_pg.create_database("cm_drill")
    settings = load_settings(data_dir=tmp_path, database_url=url, admin_token="admin-secret")
    engine = prepared_store(settings)
    yield engine
    engine.dispose()


def _rows(engine: Engine) -> int | None:
    """Journal rows, or None while the server is away."""
    try:
        with engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(journal)).scalar_one())
    except OperationalError:
        return None


async def _until(condition, seconds: float, what: str) -> None:
    """Poll another party's progress (the agents', the server's), bounded in time."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not await asyncio.to_thread(condition):
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {seconds:g} s waiting for {what}")
        await asyncio.sleep(0.05)  # the agents post meanwhile


async def _agent(
    index: int, spool: Spool, sender: Sender, acked: set[int], done: asyncio.Event
) -> int:
    """Measure every 20 ms until the drill is over, sending every third report; then flush."""
    start = SystemClock().now() - timedelta(hours=1)
    produced = 0
    while not done.is_set() and produced < MAX_REPORTS:
        produced += 1
        device = DeviceReport.model_validate(pc_device(f"pc-{index}", cpu=float(produced % 100)))
        spool.append(start + timedelta(seconds=15 * produced), [device])
        if produced % 3 == 0:
            await _send(sender, acked)  # retries through the outage, bounded (test_reliability)
        await asyncio.sleep(0.02)  # an agent's pace: the outage lasts while agents keep measuring
    while spool.stats().depth:
        await _send(sender, acked)
    return produced


@pytest.mark.slow
async def test_postgresql_restarted_and_stopped_under_load_loses_and_duplicates_nothing(
    private_pg: PrivatePostgres,
    pg_engine: Engine,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    settings = load_settings(
        data_dir=tmp_path,
        database_url=pg_engine.url.render_as_string(hide_password=False),
        admin_token="admin-secret",
    )
    async with running_collector(
        pg_engine, settings, run_processor=True, ingest_rate_per_agent=0.0
    ) as collector:
        fleet: list[Enrolled] = [await collector.enrol() for _ in range(AGENTS)]
        spools = [Spool(tmp_path / f"spool-{i}.db") for i in range(AGENTS)]
        acked: list[set[int]] = [set() for _ in fleet]
        link = AnswerLog(collector.transport)
        done = asyncio.Event()
        seen_down: dict[str, float | None] = {}
        async with httpx.AsyncClient(transport=link, base_url="http://collector") as client:
            senders = [
                Sender(
                    spool,
                    client,
                    agent_id=agent.agent_id,
                    token=agent.token,
                    clock=SystemClock(),
                    batch_size=10,
                )
                for spool, agent in zip(spools, fleet, strict=True)
            ]
            agents = [
                asyncio.create_task(_agent(i, spools[i], senders[i], acked[i], done))
                for i in range(AGENTS)
            ]

            async def storing_more(than: int, what: str) -> int:
                await _until(lambda: (_rows(pg_engine) or 0) >= than + STEP, 30, what)
                return _rows(pg_engine) or 0

            try:
                stored = await storing_more(0, "the first reports")
                # 1. A real server restart: the postmaster and every backend go and come back.
                before = private_pg.pid()
                await asyncio.to_thread(private_pg.restart)
                assert private_pg.pid() not in (None, before)
                stored = await storing_more(stored, "ingest to resume after the restart")
                # 2. The server stopped for a few seconds while the agents keep measuring.
                answered_503 = link.count(503)
                await asyncio.to_thread(private_pg.stop)
                loop = asyncio.get_running_loop()
                down_since = loop.time()
                await _until(lambda: link.count(503) >= answered_503 + 3, 20, "503s while down")
                # The scrape still answers, and says why.
                seen_down["store_up"] = await collector.metric("cm_store_up")
                seen_down["503"] = await collector.metric("cm_ingest_requests_total", code="503")
                seen_down["unavailable"] = await collector.metric(
                    "cm_store_unavailable_answers_total"
                )
                seen_down["backlog"] = float(sum(s.stats().depth for s in spools))
                if loop.time() - down_since < 3:
                    await asyncio.sleep(3 - (loop.time() - down_since))  # "a few seconds" down
                await asyncio.to_thread(private_pg.start)
                stored = await storing_more(stored, "ingest to resume after the stop")
            finally:
                done.set()
                produced = await asyncio.wait_for(asyncio.gather(*agents), timeout=120)

        # The processor caught up by itself (no restart of the collector, no operator).
        await _until(lambda: collector.service.processor.lag() == 0, 60, "the processor")

        assert seen_down["store_up"] == 0
        assert (seen_down["503"] or 0) >= 1
        assert (seen_down["unavailable"] or 0) >= 1
        assert (seen_down["backlog"] or 0) > 0  # kept in the agents' spools
        with pg_engine.connect() as conn:
            rows = conn.execute(select(journal.c.agent_id, journal.c.seq)).all()
            devices = conn.execute(select(device_state.c.device_id)).scalars().all()
        by_agent: dict[str, list[int]] = {}
        for agent_id, seq in rows:
            by_agent.setdefault(agent_id, []).append(seq)
        for agent, count, got, spool in zip(fleet, produced, acked, spools, strict=True):
            seqs = sorted(by_agent.get(agent.agent_id, []))
            assert seqs == list(range(1, count + 1)), "a report lost or stored twice"
            assert got == set(seqs), "an acknowledged report is missing"
            assert spool.stats().depth == 0
            spool.close()
        assert sorted(devices) == sorted(f"pc-{i}" for i in range(AGENTS))

        statuses = {code for code, _ in link.answers}
        assert 500 not in statuses
        assert statuses <= {200, 503}, statuses
        # Every refusal told the agent when to come back: 5 s for the store, 1 s for a full queue.
        assert {after for code, after in link.answers if code == 503} <= {"5", "1"}
        assert await collector.metric("cm_store_up") == 1
        assert (await collector.client.get("/readyz")).status_code == 200
        assert (await collector.metric("cm_processor_errors_total") or 0) >= 1
        assert await collector.metric("cm_ingest_requests_total", code="503") == link.count(503)

    logged = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert any(
        r.name == "collector.store_errors" and "state store unavailable" in r.getMessage()
        for r in logged
    )
    assert any(r.name == "collector.processor" for r in logged)


async def test_metrics_answer_without_the_store_and_every_route_counts_its_503(
    tmp_path: Path,
) -> None:
    # A store that cannot be opened at all: the driver raises OperationalError on connect.
    gone = tmp_path / "no-such-folder" / "store.db"
    settings = load_settings(data_dir=tmp_path, database_url=f"sqlite:///{gone}")
    engine = create_engine(f"sqlite:///{gone}")
    service = build_service(settings, registry=CollectorRegistry(), engine=engine)
    text_ = service.exposition().decode()
    assert "cm_store_up 0.0" in text_
    assert "cm_ingest_queue_depth 0.0" in text_  # the process's own instruments stay
    assert "cm_agent_up" not in text_  # read from the store: left out, not invented
    assert "cm_device_" not in text_

    app = FastAPI()

    @app.get("/needs-the-store")
    def needs_the_store() -> None:
        with engine.connect():
            pass

    store_errors.install(app, service.metrics.store_unavailable)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://collector") as client:
        answer = await client.get("/needs-the-store")
    assert answer.status_code == 503
    assert answer.headers["Retry-After"] == str(store_errors.RETRY_AFTER_SECONDS)
    assert str(gone) not in answer.text  # no driver text: it names paths and hosts
    assert service.registry.get_sample_value("cm_store_unavailable_answers_total") == 1
    engine.dispose()

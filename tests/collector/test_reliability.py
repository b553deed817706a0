"""SIGKILL the collector under load: every acknowledged report is stored exactly once, none lost."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy import Engine, select

from agent.clock import SystemClock
from agent.sender import Sender, SendError
from agent.spool import Spool
from agent.wire import DeviceReport, ReportBatch
from collector import agents
from collector.ingest import store_batch
from collector.metrics import IngestMetrics
from collector.processor import Processor
from collector.schema import journal
from tests.agent.support import CollectorProcess
from tests.collector.builders import batch, pc_device
from tests.fakes import FakeClock

AGENTS = 6
REPORTS_PER_AGENT = 120


@pytest.fixture
def collector_process(engine: Engine, store_url: str, tmp_path: Path) -> Iterator[CollectorProcess]:
    process = CollectorProcess(store_url, tmp_path)
    process.start()
    yield process
    process.stop()


async def _run_agent(
    index: int,
    spool: Spool,
    sender: Sender,
    acked: set[int],
    killed: asyncio.Event,
) -> None:
    """Measure REPORTS_PER_AGENT reports, sending as it goes; retry through the outage."""
    start = datetime.now(UTC) - timedelta(hours=1)
    for n in range(REPORTS_PER_AGENT):
        device = DeviceReport.model_validate(pc_device(f"pc-{index}", cpu=float(n % 100)))
        spool.append(start + timedelta(seconds=15 * n), [device])
        if n % 3 == 2:
            await _send(sender, acked)
    while spool.stats().depth:
        await _send(sender, acked)


async def _send(sender: Sender, acked: set[int]) -> None:
    for _attempt in range(400):
        try:
            await sender.send_once()
        except SendError as exc:
            if not exc.retryable:
                raise
            await asyncio.sleep(0.05)  # retry pacing while the collector restarts
            continue
        if sender.last_ack is not None:
            acked.update(range(1, sender.last_ack.acked_seq + 1))
            acked.update(sender.last_ack.stored)
        return
    raise AssertionError("collector did not come back within the retry budget")


@pytest.mark.slow
async def test_sigkill_under_load_loses_and_duplicates_nothing(
    engine: Engine, collector_process: CollectorProcess, tmp_path: Path
) -> None:
    from collector.schema import communes

    with engine.connect() as conn:
        commune = conn.execute(select(communes.c.code)).scalars().first()
    assert commune is not None
    clock = SystemClock()
    identities = []
    for _ in range(AGENTS):
        token = agents.create_enrol_token(engine, commune, clock.now(), timedelta(hours=1))
        identities.append(agents.enrol(engine, token, "pc", "test", clock.now()))

    killed = asyncio.Event()
    acked_by_agent: list[set[int]] = [set() for _ in identities]
    spools = [Spool(tmp_path / f"spool-{i}.db") for i in range(AGENTS)]

    async def killer() -> None:
        # Kill once a third of the reports are in, while agents keep posting.
        while True:
            with engine.connect() as conn:
                stored = len(conn.execute(select(journal.c.id)).all())
            if stored >= AGENTS * REPORTS_PER_AGENT // 3:
                break
            await asyncio.sleep(0.05)
        await asyncio.to_thread(collector_process.kill)
        killed.set()
        await asyncio.to_thread(collector_process.start)

    async with httpx.AsyncClient(base_url=collector_process.url, timeout=10) as client:
        senders = [
            Sender(
                spool,
                client,
                agent_id=ident.agent_id,
                token=ident.agent_token,
                clock=clock,
                batch_size=10,
            )
            for spool, ident in zip(spools, identities, strict=True)
        ]
        await asyncio.wait_for(
            asyncio.gather(
                killer(),
                *(
                    _run_agent(i, spools[i], senders[i], acked_by_agent[i], killed)
                    for i in range(AGENTS)
                ),
            ),
            timeout=240,
        )
    assert killed.is_set()
    with engine.connect() as conn:
        rows = conn.execute(select(journal.c.agent_id, journal.c.seq)).all()
    by_agent: dict[str, list[int]] = {}
    for agent_id, seq in rows:
        by_agent.setdefault(agent_id, []).append(seq)
    for ident, acked in zip(identities, acked_by_agent, strict=True):
        seqs = sorted(by_agent.get(ident.agent_id, []))
        assert seqs == list(range(1, REPORTS_PER_AGENT + 1)), "lost or duplicated reports"
        assert acked <= set(seqs), "an acknowledged report is missing"
        assert acked == set(range(1, REPORTS_PER_AGENT + 1))
    for spool in spools:
        assert spool.stats().depth == 0
        spool.close()


async def test_a_stopped_processor_hands_its_lease_over_at_once(engine: Engine) -> None:
    """``commune-monitor process`` stopping (Ctrl-C, a hand-over to another process) releases
    the journal lease: the next processor goes on at once, not when the lease would expire."""
    from collector.schema import communes

    clock = FakeClock()
    with engine.connect() as conn:
        commune = conn.execute(select(communes.c.code)).scalars().first()
    assert commune is not None
    token = agents.create_enrol_token(engine, commune, clock.now(), timedelta(hours=1))
    agent = agents.enrol(engine, token, "pc", "test", clock.now())
    identity = agents.authenticate(engine, agent.agent_token)

    def store(seq: int) -> None:
        body = batch(agent.agent_id, [seq], clock.now() - timedelta(minutes=5))
        with engine.begin() as conn:
            store_batch(
                conn, identity, ReportBatch.model_validate(body), clock.now(), timedelta(0), 100
            )

    def processor() -> Processor:
        return Processor(engine, clock, IngestMetrics.create(CollectorRegistry()))

    first, second = processor(), processor()
    store(1)
    task = asyncio.create_task(first.run(asyncio.Event(), idle_seconds=3600))
    for _ in range(2000):  # until the running processor has consumed entry 1 (bounded)
        if first.lag() == 0:
            break
        await asyncio.sleep(0.005)
    assert first.lag() == 0
    store(2)
    assert second.step() == 0  # the lease is the running processor's: hands off
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    # Same clock, lease not expired: only the release lets the second one in.
    assert second.step() == 1
    assert second.lag() == 0

"""The journal processor (collector/processor.py) on both stores: current state and events in
journal order, consumers inside its transaction, one lease holder, pruning and lag."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from datetime import timedelta

import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy import Connection, Engine, func, select

from collector.metrics import IngestMetrics
from collector.processor import CURSOR, Processor, StoredReport
from collector.schema import cursors, device_state, events, journal
from tests.collector.builders import batch, pc_device
from tests.collector.support import Harness, enrolled, start, store
from tests.fakes import FakeClock


async def test_processor_builds_current_state_and_metrics(harness: Harness) -> None:
    begin = start(harness)
    await harness.post(
        batch(harness.agent_id, [1, 2], begin, devices=[pc_device("pc-quay-1", cpu=33.0)])
    )
    assert harness.service.processor.drain() == 2
    with harness.service.engine.connect() as conn:
        row = conn.execute(select(device_state)).one()
    assert row.device_id == "pc-quay-1"
    assert row.measured_at == begin + timedelta(seconds=15)
    metrics = (await harness.scrape()).text
    line = next(line for line in metrics.splitlines() if line.startswith("cm_device_cpu_percent{"))
    assert 'device_id="pc-quay-1"' in line
    assert 'province="37"' in line
    assert line.endswith(" 33.0")
    assert f'cm_agent_up{{agent_id="{harness.agent_id}"' in metrics or "cm_agent_up{" in metrics


async def test_a_stopped_processor_hands_its_lease_over_at_once(engine: Engine) -> None:
    """``commune-monitor process`` stopping (Ctrl-C, a hand-over to another process) releases
    the journal lease: the next processor goes on at once, not when the lease would expire."""
    clock = FakeClock()
    identity = enrolled(engine, clock)

    def processor() -> Processor:
        return Processor(engine, clock, IngestMetrics.create(CollectorRegistry()))

    first, second = processor(), processor()
    store(engine, identity, [1], clock.now() - timedelta(minutes=5), clock)
    task = asyncio.create_task(first.run(asyncio.Event(), idle_seconds=3600))
    for _ in range(2000):  # until the running processor has consumed entry 1 (bounded)
        if first.lag() == 0:
            break
        await asyncio.sleep(0.005)
    assert first.lag() == 0
    store(engine, identity, [2], clock.now() - timedelta(minutes=5), clock)
    assert second.step() == 0  # the lease is the running processor's: hands off
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    # Same clock, lease not expired: only the release lets the second one in.
    assert second.step() == 1
    assert second.lag() == 0


class Recorder:
    """A consumer that keeps what it was fed, and can be made to fail."""

    def __init__(self, fail: bool = False) -> None:
        self.fed: list[tuple[str, int]] = []
        self.fail = fail

    def consume(self, conn: Connection, reports: Sequence[StoredReport]) -> None:
        if self.fail:
            raise RuntimeError("consumer failed")
        self.fed += [(r.agent_id, r.seq) for r in reports]
        assert all(r.report.devices for r in reports)  # the typed report, built on first use


def _processor(engine: Engine, clock: FakeClock, **kwargs: object) -> Processor:
    return Processor(engine, clock, IngestMetrics.create(CollectorRegistry()), **kwargs)  # type: ignore[arg-type]


def test_consumers_are_fed_in_journal_order_in_batches(engine: Engine) -> None:
    clock = FakeClock()
    a, b = enrolled(engine, clock, "a"), enrolled(engine, clock, "b")
    begin = clock.now() - timedelta(minutes=10)
    store(engine, a, [1, 2], begin, clock)
    store(engine, b, [1], begin, clock)
    store(engine, a, [3], begin, clock)
    recorder, late = Recorder(), Recorder()
    processor = _processor(engine, clock, consumers=[recorder], batch_size=2)
    processor.add_consumer(late)
    assert processor.lag() == 4
    assert processor.step() == 2
    assert processor.lag() == 2
    assert processor.drain() == 2
    expected = [(a.agent_id, 1), (a.agent_id, 2), (b.agent_id, 1), (a.agent_id, 3)]
    assert recorder.fed == late.fed == expected
    assert processor.step() == 0


def test_a_failing_consumer_leaves_the_cursor_and_the_state_unmoved(engine: Engine) -> None:
    clock = FakeClock()
    identity = enrolled(engine, clock)
    store(engine, identity, [1], clock.now() - timedelta(minutes=1), clock)
    failing = _processor(engine, clock, consumers=[Recorder(fail=True)])
    with pytest.raises(RuntimeError, match="consumer failed"):
        failing.step()
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(device_state)).scalar_one() == 0
        position = conn.execute(
            select(cursors.c.position).where(cursors.c.name == CURSOR)
        ).scalar_one()
    assert position == 0
    # The failed step's transaction never committed its lease either: another processor goes on.
    working = _processor(engine, clock, consumers=[Recorder()])
    assert working.step() == 1


def test_an_expired_lease_is_taken_over(engine: Engine) -> None:
    clock = FakeClock()
    identity = enrolled(engine, clock)
    store(engine, identity, [1], clock.now() - timedelta(minutes=1), clock)
    first = _processor(engine, clock, lease_seconds=30)
    second = _processor(engine, clock, lease_seconds=30)
    assert first.step() == 1  # first holds the lease now (a crash would leave it held)
    store(engine, identity, [2], clock.now() - timedelta(minutes=1), clock)
    assert second.step() == 0
    clock.advance(31)
    assert second.step() == 1
    with engine.connect() as conn:
        holder = conn.execute(select(cursors.c.holder).where(cursors.c.name == CURSOR)).scalar()
    assert holder == second.holder


def test_events_are_stored_once_with_their_journal_entry(engine: Engine) -> None:
    clock = FakeClock()
    identity = enrolled(engine, clock)
    device = {
        **pc_device("pc-a"),
        "events": [{"type": "reboot", "severity": "warning", "attrs": {"reason": "update"}}],
    }
    store(engine, identity, [1], clock.now() - timedelta(minutes=1), clock, devices=[device])
    processor = _processor(engine, clock)
    assert processor.drain() == 1
    with engine.connect() as conn:
        rows = conn.execute(select(events)).all()
        journal_id = conn.execute(select(journal.c.id)).scalar_one()
    assert [(r.device_id, r.type, r.severity, r.journal_id) for r in rows] == [
        ("pc-a", "reboot", "warning", journal_id)
    ]
    assert json.loads(rows[0].attrs) == {"reason": "update"}


def test_prune_deletes_only_processed_entries_past_the_retention(engine: Engine) -> None:
    clock = FakeClock()
    identity = enrolled(engine, clock)
    processor = _processor(engine, clock, retention=timedelta(days=7))
    store(engine, identity, [1, 2], clock.now() - timedelta(minutes=1), clock)
    processor.drain()
    clock.advance(8 * 86400)
    store(engine, identity, [3], clock.now() - timedelta(minutes=1), clock)  # not processed
    assert processor.prune() == 2
    with engine.connect() as conn:
        left = list(conn.execute(select(journal.c.seq)).scalars())
    assert left == [3]
    assert processor.lag() == 1


def test_prune_without_a_cursor_deletes_nothing(engine: Engine) -> None:
    clock = FakeClock()
    identity = enrolled(engine, clock)
    store(engine, identity, [1], clock.now(), clock)
    clock.advance(30 * 86400)
    assert _processor(engine, clock).prune() == 0


def test_lag_seconds_is_the_wait_of_the_oldest_unprocessed_entry(engine: Engine) -> None:
    clock = FakeClock()
    identity = enrolled(engine, clock)
    processor = _processor(engine, clock)
    assert processor.lag_seconds(clock.now()) == 0.0
    store(engine, identity, [1], clock.now() - timedelta(minutes=1), clock)
    clock.advance(40)
    store(engine, identity, [2], clock.now() - timedelta(minutes=1), clock)
    clock.advance(5)
    assert processor.lag_seconds(clock.now()) == 45.0
    processor.step()
    assert processor.lag_seconds(clock.now()) == 0.0

"""Group commit to the journal and the acknowledgement (collector/ingest.py), on both stores:
stored once, the highest contiguous sequence acknowledged, refusals that leave the rest alone."""

from __future__ import annotations

import asyncio
import gc
import json
import zlib
from datetime import timedelta

import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy import Engine, select

from agent.wire import ReportBatch
from collector import agents
from collector.agents import AgentIdentity
from collector.db import WriteGate
from collector.decode import prepare_batch
from collector.errors import AuthError, Conflict
from collector.ingest import BatchToStore, JournalWriter, Stored, store_batch, store_batches
from collector.metrics import IngestMetrics
from collector.schema import agents as agents_table
from collector.schema import journal
from collector.settings import Settings
from tests.collector.builders import batch, pc_device
from tests.collector.support import Harness, enrolled, start
from tests.fakes import FakeClock

# -- through the API ----------------------------------------------------------------------------


async def test_batch_is_acknowledged_after_it_is_stored(harness: Harness) -> None:
    response = await harness.post(batch(harness.agent_id, [1, 2, 3], start(harness)))
    assert response.status_code == 200, response.text
    ack = response.json()
    assert ack["acked_seq"] == 3
    assert ack["stored"] == [1, 2, 3]
    assert ack["duplicates"] == 0
    assert harness.state() == (3, 3)
    with harness.service.engine.connect() as conn:
        payload = conn.execute(select(journal.c.payload).where(journal.c.seq == 2)).scalar_one()
    stored = json.loads(zlib.decompress(payload))
    assert stored["seq"] == 2
    assert stored["devices"][0]["kind"] == "pc"
    assert gc.isenabled()


async def test_resent_reports_are_stored_once(harness: Harness) -> None:
    body = batch(harness.agent_id, [1, 2], start(harness))
    first = await harness.post(body)
    second = await harness.post(body)
    assert first.json()["duplicates"] == 0
    assert second.status_code == 200
    assert second.json()["duplicates"] == 2
    assert second.json()["acked_seq"] == 2
    assert harness.state() == (2, 2)


async def test_ack_is_highest_contiguous_sequence(harness: Harness) -> None:
    begin = start(harness)
    gap = await harness.post(batch(harness.agent_id, [1, 3, 4], begin))
    assert gap.json()["acked_seq"] == 1
    assert gap.json()["stored"] == [1, 3, 4]
    filled = await harness.post(batch(harness.agent_id, [2], begin))
    assert filled.json()["acked_seq"] == 4
    assert harness.state() == (4, 4)


async def test_agent_dropped_reports_do_not_block_the_ack(harness: Harness) -> None:
    # The agent's spool overflowed and dropped 1..9: it says its oldest report is 10.
    body = batch(harness.agent_id, [10, 11], start(harness), oldest_unacked_seq=10)
    response = await harness.post(body)
    assert response.json()["acked_seq"] == 11


async def test_agent_clock_skew_is_recorded_and_corrected(harness: Harness) -> None:
    # The PC's clock is an hour behind (a dead CMOS battery is common on old counter PCs).
    behind = harness.clock.now() - timedelta(hours=1)
    body = batch(harness.agent_id, [1], behind, sent_at=behind)
    response = await harness.post(body, keep_sent_at=True)
    assert response.status_code == 200
    assert response.json()["clock_skew_seconds"] == pytest.approx(3600, abs=1)
    with harness.service.engine.connect() as conn:
        measured = conn.execute(select(journal.c.measured_at)).scalar_one()
    assert measured == harness.clock.now()


async def test_sequence_far_below_the_ack_is_409(harness: Harness) -> None:
    settings = harness.service.settings
    window = settings.sequence_window
    begin = harness.clock.now() - timedelta(seconds=15 * (window + 10))
    first = await harness.post(
        batch(harness.agent_id, [window + 5], begin, oldest_unacked_seq=window + 5)
    )
    assert first.json()["acked_seq"] == window + 5
    before = harness.state()
    response = await harness.post(batch(harness.agent_id, [1], begin))
    assert response.status_code == 409
    assert "enrol again" in response.json()["detail"]
    assert harness.state() == before


# -- store_batches on the store -----------------------------------------------------------------


def _item(identity: AgentIdentity, seqs: list[int], clock: FakeClock) -> BatchToStore:
    body = batch(identity.agent_id, seqs, clock.now() - timedelta(minutes=10), sent_at=clock.now())
    prepared = prepare_batch(ReportBatch.model_validate(body))
    return BatchToStore(identity, prepared, clock.now(), timedelta(0))


def _journal(engine: Engine) -> list[tuple[str, int]]:
    with engine.connect() as conn:
        return [
            (row.agent_id, row.seq)
            for row in conn.execute(
                select(journal.c.agent_id, journal.c.seq).order_by(
                    journal.c.agent_id, journal.c.seq
                )
            )
        ]


def test_a_refused_batch_of_a_group_leaves_the_others_stored(engine: Engine) -> None:
    clock = FakeClock()
    good, revoked = enrolled(engine, clock, "good"), enrolled(engine, clock, "revoked")
    agents.revoke(engine, revoked.agent_id, clock.now())
    stranger = AgentIdentity("ag_nobody000000000", good.commune_code, "0" * 64)
    items = [_item(revoked, [1], clock), _item(good, [1, 2], clock), _item(stranger, [1], clock)]
    with engine.begin() as conn:
        outcomes = store_batches(conn, items, sequence_window=100)
    refused, stored, unknown = outcomes
    assert isinstance(refused, AuthError)
    assert "revoked" in str(refused)
    assert isinstance(stored, Stored)
    assert (stored.ack.acked_seq, stored.reports) == (2, 2)
    assert stored.samples == 2 * len(pc_device("x")["samples"])
    assert isinstance(unknown, AuthError)
    assert "unknown agent" in str(unknown)
    assert _journal(engine) == [(good.agent_id, 1), (good.agent_id, 2)]


def test_a_replaced_token_cannot_write_even_if_it_was_authenticated(engine: Engine) -> None:
    # The ingest endpoint caches identities; the commit re-reads the agent row and refuses.
    clock = FakeClock()
    identity = enrolled(engine, clock)
    agents.rotate_token(engine, identity.agent_id, clock.now())
    with engine.begin() as conn, pytest.raises(AuthError, match="replaced"):
        store_batch(
            conn,
            identity,
            ReportBatch.model_validate(batch(identity.agent_id, [1], clock.now())),
            clock.now(),
            timedelta(0),
            100,
        )
    assert _journal(engine) == []


def test_two_batches_of_one_agent_in_one_group_ack_in_order(engine: Engine) -> None:
    clock = FakeClock()
    identity = enrolled(engine, clock)
    with engine.begin() as conn:
        first, second = store_batches(
            conn, [_item(identity, [2, 3], clock), _item(identity, [1], clock)], 100
        )
    assert isinstance(first, Stored)
    assert isinstance(second, Stored)
    assert first.ack.acked_seq == 0  # 1 is missing when the first batch is stored
    assert second.ack.acked_seq == 3  # the second fills the gap: 1..3 are contiguous
    with engine.connect() as conn:
        row = conn.execute(
            select(agents_table.c.acked_seq, agents_table.c.max_seq).where(
                agents_table.c.id == identity.agent_id
            )
        ).one()
    assert (row.acked_seq, row.max_seq) == (3, 3)


def test_a_sequence_just_inside_the_window_is_a_duplicate_not_a_conflict(engine: Engine) -> None:
    clock = FakeClock()
    identity = enrolled(engine, clock)
    with engine.begin() as conn:
        store_batches(conn, [_item(identity, list(range(1, 6)), clock)], 3)
    with engine.begin() as conn:
        (inside,) = store_batches(conn, [_item(identity, [3], clock)], 3)
        (below,) = store_batches(conn, [_item(identity, [2], clock)], 3)
    assert isinstance(inside, Stored)
    assert (inside.ack.duplicates, inside.reports) == (1, 0)
    assert isinstance(below, Conflict)
    assert "more than 3 below the acknowledged 5" in str(below)


async def test_the_writer_reports_how_long_its_oldest_batch_has_waited(
    engine: Engine, settings: Settings
) -> None:
    clock = FakeClock()
    identity = enrolled(engine, clock)
    writer = JournalWriter(
        engine, settings, IngestMetrics.create(CollectorRegistry()), WriteGate(engine)
    )
    item = _item(identity, [1], clock)
    assert writer.stall_seconds(clock.now()) == 0.0
    waiting = asyncio.create_task(
        writer.submit(identity, item.batch, item.received_at, item.correction)
    )
    await asyncio.sleep(0)  # the batch is queued; the writer loop is not running yet
    clock.advance(7)
    assert writer.stall_seconds(clock.now()) == 7.0
    writer.start()
    ack = await asyncio.wait_for(waiting, timeout=30)
    await writer.stop()
    assert ack.acked_seq == 1
    assert writer.stall_seconds(clock.now()) == 0.0
    assert writer.committed.is_set()

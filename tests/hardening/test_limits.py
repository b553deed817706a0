"""Limits at their bound: the per-agent rate limit of report batches, the body size limit."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import json
import sqlite3
from collections.abc import AsyncIterator, Iterator, MutableMapping
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, select

from agent.clock import SystemClock
from agent.sender import Sender, SendError
from agent.spool import Spool
from agent.wire import DeviceReport
from collector.schema import agents
from collector.settings import Settings, load_settings
from tests.collector.builders import batch, pc_device
from tests.hardening.inprocess import running_collector


def _body(agent_id: str, seq: int, now: datetime) -> dict[str, Any]:
    return batch(agent_id, [seq], now, sent_at=now)


async def test_an_agent_over_its_rate_gets_429_with_retry_after_and_nothing_is_stored(
    engine: Engine, settings: Settings
) -> None:
    async with running_collector(
        engine, settings, ingest_rate_per_agent=0.5, ingest_burst_per_agent=3
    ) as collector:
        noisy = await collector.enrol()
        quiet = await collector.enrol()
        now = collector.clock.now()
        for seq in (1, 2, 3):  # the burst
            assert (await collector.post(noisy, _body(noisy.agent_id, seq, now))).status_code == 200
        refused = await collector.post(noisy, _body(noisy.agent_id, 4, now))
        assert refused.status_code == 429
        # One token comes back every 2 s at 0.5/s.
        assert refused.headers["Retry-After"] == "2"
        assert "rate limit" in refused.json()["detail"]
        assert collector.journal_seqs(noisy) == [1, 2, 3]
        # Another agent is not held back by the noisy one.
        assert (await collector.post(quiet, _body(quiet.agent_id, 1, now))).status_code == 200
        assert await collector.metric("cm_ingest_rate_limited_total") == 1
        assert await collector.metric("cm_ingest_requests_total", code="429") == 1

        collector.clock.advance(1.0)  # half a token: still refused, and now 1 s to wait
        again = await collector.post(noisy, _body(noisy.agent_id, 4, now))
        assert again.status_code == 429
        assert again.headers["Retry-After"] == "1"
        collector.clock.advance(1.0)
        assert (await collector.post(noisy, _body(noisy.agent_id, 4, now))).status_code == 200
        assert collector.journal_seqs(noisy) == [1, 2, 3, 4]
        assert await collector.metric("cm_ingest_rate_limited_total") == 2


async def test_the_real_sender_keeps_a_rate_limited_batch_and_retries_it(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    async with running_collector(
        engine, settings, ingest_rate_per_agent=1.0, ingest_burst_per_agent=1
    ) as collector:
        agent = await collector.enrol()
        spool = Spool(tmp_path / "spool.db")
        sender = Sender(
            spool,
            collector.client,
            agent_id=agent.agent_id,
            token=agent.token,
            clock=SystemClock(),
            batch_size=1,
        )
        for cpu in (1.0, 2.0):
            spool.append(
                SystemClock().now(), [DeviceReport.model_validate(pc_device("pc-1", cpu=cpu))]
            )
        assert await sender.send_once() == 1
        with pytest.raises(SendError) as limited:
            await sender.send_once()
        assert limited.value.status == 429
        assert limited.value.retryable
        assert spool.stats().depth == 1  # not acknowledged, so still spooled
        collector.clock.advance(1.0)
        assert await sender.send_once() == 1
        assert spool.stats().depth == 0
        assert collector.journal_seqs(agent) == [1, 2]
        spool.close()


async def test_rate_limit_zero_is_off(engine: Engine, settings: Settings) -> None:
    async with running_collector(
        engine, settings, ingest_rate_per_agent=0.0, ingest_burst_per_agent=1
    ) as collector:
        agent = await collector.enrol()
        now = collector.clock.now()
        for seq in range(1, 8):
            assert (await collector.post(agent, _body(agent.agent_id, seq, now))).status_code == 200
        assert await collector.metric("cm_ingest_rate_limited_total") == 0


def test_rate_limit_settings_are_checked() -> None:
    assert load_settings(ingest_rate_per_agent=0).ingest_rate_per_agent == 0
    with pytest.raises(ValueError, match="ingest_burst_per_agent"):
        load_settings(ingest_burst_per_agent=0)


async def test_body_size_limit_at_its_bound(engine: Engine, settings: Settings) -> None:
    limit = 64 * 1024
    async with running_collector(
        engine, settings, max_body_bytes=limit, max_decompressed_bytes=limit
    ) as collector:
        agent = await collector.enrol()
        headers = {"Authorization": f"Bearer {agent.token}", "Content-Type": "application/json"}
        at_limit = b" " * (limit - 2) + b"{}"
        response = await collector.client.post("/api/v1/reports", content=at_limit, headers=headers)
        assert response.status_code == 422  # read whole and validated: not too large
        over = await collector.client.post(
            "/api/v1/reports", content=at_limit + b" ", headers=headers
        )
        assert over.status_code == 413

        # Without Content-Length (chunked), the bound holds while reading.
        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(limit // 1024 + 1):
                yield b" " * 1024

        streamed = await collector.client.post("/api/v1/reports", content=chunks(), headers=headers)
        assert streamed.status_code == 413
        # Inflating past the bound is refused too.
        bomb = gzip.compress(json.dumps({"pad": "x" * (limit * 2)}).encode())
        inflated = await collector.client.post(
            "/api/v1/reports",
            content=bomb,
            headers={**headers, "Content-Encoding": "gzip"},
        )
        assert inflated.status_code == 413
        assert collector.journal_rows() == 0
        assert await collector.metric("cm_ingest_requests_total", code="413") == 3


@contextlib.contextmanager
def _store_write_locked(engine: Engine, agent_id: str) -> Iterator[None]:
    """Another client holds the store so that the journal writer's commit waits inside it."""
    if engine.dialect.name == "sqlite":
        held = sqlite3.connect(str(engine.url.database), isolation_level=None)
        held.execute("BEGIN IMMEDIATE")  # the write lock: the writer's INSERT waits for it
        try:
            yield
        finally:
            held.rollback()
            held.close()
        return
    blocker = create_engine(engine.url)
    try:
        with blocker.connect() as conn:
            transaction = conn.begin()
            conn.execute(select(agents.c.id).where(agents.c.id == agent_id).with_for_update())
            try:
                yield
            finally:
                transaction.rollback()
    finally:
        blocker.dispose()


async def test_journal_queue_at_its_bound_answers_503_and_loses_nothing(
    engine: Engine, settings: Settings
) -> None:
    bound, posts = 2, 8
    async with running_collector(
        engine, settings, ingest_queue_max=bound, ingest_rate_per_agent=0.0
    ) as collector:
        agent = await collector.enrol()
        now = collector.clock.now()
        with _store_write_locked(engine, agent.agent_id):
            tasks = [
                asyncio.create_task(collector.post(agent, _body(agent.agent_id, seq, now)))
                for seq in range(1, posts + 1)
            ]
            # The writer holds at most one group in its blocked commit and the queue `bound`
            # more: every other post is refused at once.
            for _ in range(1000):  # bounded: ~10 s
                if sum(task.done() for task in tasks) >= posts - 2 * bound:
                    break
                await asyncio.sleep(0.01)  # let the in-process app take the posts
            refused = [task.result() for task in tasks if task.done()]
            assert refused, "no post was refused while the store was held"
            for response in refused:
                assert response.status_code == 503, response.text
                assert response.headers["Retry-After"] == "1"
        responses = await asyncio.gather(*tasks)
        acked = [seq for seq, r in enumerate(responses, start=1) if r.status_code == 200]
        overloaded = [seq for seq, r in enumerate(responses, start=1) if r.status_code == 503]
        assert len(acked) + len(overloaded) == posts
        assert 1 <= len(acked) <= 2 * bound
        # Every acknowledged batch is stored; the refused ones were not, until resent.
        assert collector.journal_seqs(agent) == acked
        assert await collector.metric("cm_ingest_requests_total", code="503") == len(overloaded)
        for seq in overloaded:
            resent = await collector.post(agent, _body(agent.agent_id, seq, now))
            assert resent.status_code == 200
        assert collector.journal_seqs(agent) == list(range(1, posts + 1))


async def test_a_client_gone_mid_body_is_a_400_not_a_server_error(
    engine: Engine, settings: Settings
) -> None:
    async with running_collector(engine, settings) as collector:
        agent = await collector.enrol()
        sent: list[MutableMapping[str, Any]] = []

        async def receive() -> MutableMapping[str, Any]:
            return {"type": "http.disconnect"}  # the link drops before the body arrives

        async def send(message: MutableMapping[str, Any]) -> None:
            sent.append(message)

        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": "/api/v1/reports",
            "raw_path": b"/api/v1/reports",
            "root_path": "",
            "query_string": b"",
            "headers": [
                (b"host", b"collector"),
                (b"authorization", f"Bearer {agent.token}".encode()),
                (b"content-type", b"application/json"),
                (b"content-length", b"100"),
            ],
            "client": ("127.0.0.1", 50000),
            "server": ("collector", 80),
        }
        await collector.transport.app(scope, receive, send)
        assert sent[0]["type"] == "http.response.start"
        assert sent[0]["status"] == 400
        assert await collector.metric("cm_ingest_requests_total", code="400") == 1
        assert collector.journal_rows() == 0

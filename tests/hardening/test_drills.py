"""Failure drills: an agent's clock off by an hour, PostgreSQL connections lost during ingest, the
data directory's disk full. Each ends with nothing acknowledged lost, nothing duplicated, the
collector serving again by itself, and the condition visible on /metrics.
"""

from __future__ import annotations

import asyncio
import errno
import subprocess
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, create_engine, select, text

from agent.clock import SystemClock
from agent.sender import Sender, SendError
from agent.spool import Spool
from agent.wire import DeviceReport
from collector import communes
from collector.communes import BUNDLED_UNITS
from collector.db import make_engine
from collector.schema import agents, journal
from collector.settings import Settings, load_settings
from province import migrate
from tests.agent.support import Link
from tests.collector.builders import batch, pc_device
from tests.conftest import PG_ADMIN_URL, TEST_PROVINCE
from tests.hardening.inprocess import Collector, Enrolled, running_collector
from tests.services import missing_service

NO_RATE_LIMIT = {"ingest_rate_per_agent": 0.0}


# ------------------------------------------------------------------------------- clock skew


async def test_agent_clock_an_hour_off_either_way_is_accepted_corrected_and_shown(
    engine: Engine, settings: Settings
) -> None:
    async with running_collector(engine, settings, future_window_seconds=300) as collector:
        now = collector.clock.now()
        behind, ahead = await collector.enrol(), await collector.enrol()
        for agent, offset in ((behind, -3600), (ahead, 3600)):
            agent_now = now + timedelta(seconds=offset)
            body = batch(agent.agent_id, [1], agent_now - timedelta(seconds=10), sent_at=agent_now)
            response = await collector.post(agent, body)
            assert response.status_code == 200, response.text
            assert response.json()["clock_skew_seconds"] == pytest.approx(-offset, abs=1)
            # Stored on the collector's time line: the hour is taken out.
            with engine.connect() as conn:
                measured = conn.execute(
                    select(journal.c.measured_at).where(journal.c.agent_id == agent.agent_id)
                ).scalar_one()
            assert measured.replace(tzinfo=now.tzinfo) == now - timedelta(seconds=10)
            shown = await collector.metric("cm_agent_clock_skew_seconds", agent_id=agent.agent_id)
            assert shown == pytest.approx(-offset, abs=1)


async def test_a_report_stamped_an_hour_after_its_own_batch_is_rejected_by_the_future_window(
    engine: Engine, settings: Settings
) -> None:
    async with running_collector(engine, settings, future_window_seconds=300) as collector:
        agent = await collector.enrol()
        now = collector.clock.now()
        # The batch's clock is right, but one report claims to be measured an hour from now.
        body = batch(agent.agent_id, [1], now + timedelta(hours=1), sent_at=now)
        response = await collector.post(agent, body)
        assert response.status_code == 422
        assert response.json()["field"] == "reports.0.measured_at"
        assert collector.journal_seqs(agent) == []
        # Just inside the window is accepted.
        inside = batch(agent.agent_id, [1], now + timedelta(seconds=299), sent_at=now)
        assert (await collector.post(agent, inside)).status_code == 200


# ---------------------------------------------------------------- PostgreSQL connection loss


def _backends(database: str, *, waiting_on_lock: bool = False) -> list[int]:
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            return list(
                conn.execute(
                    text(
                        "SELECT pid FROM pg_stat_activity WHERE datname = :db "
                        "AND pid <> pg_backend_pid() "
                        "AND (NOT :lock OR wait_event_type = 'Lock')"
                    ),
                    {"db": database, "lock": waiting_on_lock},
                ).scalars()
            )
    finally:
        admin.dispose()


def _terminate(pids: list[int]) -> None:
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            for pid in pids:
                conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    finally:
        admin.dispose()


@pytest.mark.parametrize("store_url", ["postgresql"], indirect=True)
async def test_connection_killed_inside_the_ingest_transaction_is_503_then_service_resumes(
    engine: Engine, settings: Settings
) -> None:
    database = str(engine.url.database)
    async with running_collector(engine, settings, **NO_RATE_LIMIT) as collector:
        agent = await collector.enrol()
        now = collector.clock.now()
        assert (await collector.post(agent, batch(agent.agent_id, [1], now))).status_code == 200
        # Hold the agent's row so the journal transaction waits inside the store, then kill
        # exactly that backend: the failure lands mid-transaction, every time.
        blocker = create_engine(engine.url)
        try:
            with blocker.connect() as held:
                transaction = held.begin()
                held.execute(
                    select(agents.c.id).where(agents.c.id == agent.agent_id).with_for_update()
                )
                posting = asyncio.create_task(
                    collector.post(agent, batch(agent.agent_id, [2], now))
                )
                waiting: list[int] = []
                for _ in range(500):  # bounded: up to ~10 s for the writer to block
                    waiting = _backends(database, waiting_on_lock=True)
                    if waiting:
                        break
                    await asyncio.sleep(0.02)  # let the app on this loop reach the lock
                assert waiting, "the journal writer never waited on the held row"
                _terminate(waiting)
                response = await posting
                transaction.rollback()
        finally:
            blocker.dispose()
        assert response.status_code == 503, response.text
        assert response.headers["Retry-After"] == "5"
        assert "postgres" not in response.text.lower()  # no driver text, no host or user
        assert collector.journal_seqs(agent) == [1]
        # No restart, no operator: the resend is stored, once.
        resent = await collector.post(agent, batch(agent.agent_id, [2], now))
        assert resent.status_code == 200, resent.text
        assert resent.json()["acked_seq"] == 2
        assert collector.journal_seqs(agent) == [1, 2]
        assert await collector.metric("cm_ingest_requests_total", code="503") == 1
        assert (await collector.client.get("/readyz")).status_code == 200


async def _agent_loop(
    collector: Collector, agent: Enrolled, spool: Spool, reports: int, link: Link
) -> None:
    client = httpx.AsyncClient(transport=link, base_url="http://collector")
    sender = Sender(spool, client, agent_id=agent.agent_id, token=agent.token, clock=SystemClock())
    start = SystemClock().now() - timedelta(hours=1)
    try:
        for n in range(reports):
            # Each agent its own PC: a device belongs to the agent that reported it first.
            device = DeviceReport.model_validate(pc_device(f"pc-{agent.agent_id}", cpu=float(n)))
            spool.append(start + timedelta(seconds=15 * n), [device])
            for _attempt in range(200):  # bounded retries through the outages
                try:
                    await sender.send_once()
                    break
                except SendError as exc:
                    if not exc.retryable:
                        raise
                    await asyncio.sleep(0.01)  # yield to the others; the outage is not timed
        while spool.stats().depth:
            await sender.send_once()
    finally:
        await client.aclose()


@pytest.mark.slow
@pytest.mark.parametrize("store_url", ["postgresql"], indirect=True)
async def test_connections_killed_under_load_lose_and_duplicate_nothing(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    database = str(engine.url.database)
    agents_count, reports = 4, 40
    async with running_collector(engine, settings, **NO_RATE_LIMIT) as collector:
        fleet = [await collector.enrol() for _ in range(agents_count)]
        spools = [Spool(tmp_path / f"spool-{i}.db") for i in range(agents_count)]
        link = Link(collector.transport)
        loops = [
            asyncio.create_task(_agent_loop(collector, agent, spool, reports, link))
            for agent, spool in zip(fleet, spools, strict=True)
        ]
        kills = 0
        while not all(task.done() for task in loops) and kills < 5:
            if collector.journal_rows() >= (kills + 1) * agents_count * reports // 6:
                _terminate(_backends(database))
                kills += 1
            await asyncio.sleep(0.01)  # let the agents post between checks
        await asyncio.gather(*loops)
        assert kills >= 3
        assert 500 not in link.statuses
        for agent, spool in zip(fleet, spools, strict=True):
            assert collector.journal_seqs(agent) == list(range(1, reports + 1))
            assert spool.stats().depth == 0
            spool.close()
        assert (await collector.client.get("/readyz")).status_code == 200


# ----------------------------------------------------------------------------- disk full


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 4 MiB tmpfs as the collector's data directory (unmounted afterwards)."""
    mount_point = tmp_path / "small-disk"
    mount_point.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        missing_service(f"a size-limited tmpfs (mount: {mounted.stderr.strip()})")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", str(mount_point)], check=False)


def _fill(folder: Path) -> Path:
    """Fill the disk of ``folder`` to the last byte; returns the filler file."""
    filler = folder / "filler"
    chunk = b"\0" * 65536
    with filler.open("wb", buffering=0) as out:
        for _ in range(10_000):  # bounded: 640 MiB at most, the disk is 4 MiB
            try:
                out.write(chunk)
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
                break
        else:
            raise AssertionError("the small disk never filled")
    # Top up with single bytes past the last whole chunk.
    with filler.open("ab", buffering=0) as out:
        for _ in range(65536):
            try:
                out.write(b"\0")
            except OSError:
                break
    return filler


async def test_data_directory_full_is_503_and_nothing_acknowledged_is_lost(
    small_disk: Path, tmp_path: Path
) -> None:
    settings = load_settings(
        data_dir=small_disk, admin_token="admin-secret", ingest_rate_per_agent=0.0
    )
    engine = make_engine(settings)
    try:
        migrate.upgrade(engine)
        communes.load_units(engine, communes.read_units(BUNDLED_UNITS, TEST_PROVINCE))
        async with running_collector(engine, settings) as collector:
            agent = await collector.enrol()
            spool = Spool(tmp_path / "spool.db")
            sender = Sender(
                spool,
                collector.client,
                agent_id=agent.agent_id,
                token=agent.token,
                clock=SystemClock(),
            )

            def measure(count: int) -> None:
                for n in range(count):
                    device = DeviceReport.model_validate(pc_device("pc-1", cpu=float(n)))
                    spool.append(SystemClock().now(), [device])

            measure(1)
            assert await sender.flush() == 1
            filler = _fill(small_disk)
            measure(3)
            refused = 0
            for _ in range(3):
                with pytest.raises(SendError) as full:
                    await sender.send_once()
                assert full.value.status == 503
                assert full.value.retryable
                refused += 1
            assert spool.stats().depth == 3  # nothing acknowledged, all still spooled
            assert collector.journal_seqs(agent) == [1]
            assert await collector.metric("cm_ingest_requests_total", code="503") == refused

            filler.unlink()  # an operator frees space; the collector needs no restart
            assert await sender.flush() == 3
            assert collector.journal_seqs(agent) == [1, 2, 3, 4]
            assert spool.stats().depth == 0
            spool.close()
    finally:
        engine.dispose()

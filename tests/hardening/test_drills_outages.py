"""Failure drills of the collector's outbound sides: VictoriaMetrics down, the SMTP relay down.

The whole collector runs in process (processor, time-series sink thread, alert timers) against
real services on loopback, stopped and started by PID (tests/tsdb.py, tests/alerts/receivers.py).
Each drill ends with nothing lost or duplicated, recovery without a restart of the collector, and
the condition shown on /metrics while it lasts and in the logs.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from alerts.schema import outbox, tickets
from collector.settings import Settings
from tests.agent.support import first_commune
from tests.alerts.receivers import SmtpServer
from tests.alerts.support import expand, pc
from tests.collector.builders import batch
from tests.collector.test_influx_sink import _exported
from tests.dashboards.province import commune_reports, expected_points
from tests.hardening.inprocess import Collector, Enrolled, running_collector
from tests.services import free_port
from tests.tsdb import VictoriaMetrics


async def _until(condition, seconds: float, what: str) -> None:
    """Poll the collector's background work (sink thread, timers), bounded in time."""
    deadline = time.monotonic() + seconds
    while not await asyncio.to_thread(condition):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {seconds:g} s waiting for {what}")
        await asyncio.sleep(0.05)  # the collector's own threads and timers work meanwhile


def _metric_now(collector: Collector, name: str, **labels: str) -> float | None:
    """One /metrics sample, from a thread (for _until): the exposition as the route renders it."""
    from prometheus_client.parser import text_string_to_metric_families

    for family in text_string_to_metric_families(collector.service.exposition().decode()):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    return None


# ------------------------------------------------------------------ VictoriaMetrics down


@pytest.fixture
def victoria(tmp_path: Path) -> Iterator[VictoriaMetrics]:
    """A VictoriaMetrics on a free loopback port, stopped by PID afterwards."""
    vm = VictoriaMetrics(tmp_path / "vm").start()
    try:
        yield vm
    finally:
        vm.stop()


async def _post_reports(
    collector: Collector, agent: Enrolled, reports: list[dict[str, Any]], per_batch: int = 3
) -> list[float]:
    """Post reports as an agent would, a few per batch; returns each request's seconds."""
    took = []
    for first in range(0, len(reports), per_batch):
        body = {
            "schema_version": 1,
            "agent_id": agent.agent_id,
            "sent_at": collector.clock.now().isoformat(),
            "reports": reports[first : first + per_batch],
        }
        started = time.perf_counter()
        response = await collector.post(agent, body)
        took.append(time.perf_counter() - started)
        assert response.status_code == 200, response.text
    return took


def _renumbered(reports: list[dict[str, Any]], first_seq: int) -> list[dict[str, Any]]:
    for offset, report in enumerate(reports):
        report["seq"] = first_seq + offset
    return reports


def _points(reports: list[dict[str, Any]]) -> int:
    return sum(len(points) for points in expected_points(reports).values())


async def test_victoriametrics_down_for_a_period_slows_nothing_and_loses_no_sample(
    engine: Engine,
    settings: Settings,
    victoria: VictoriaMetrics,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    async with running_collector(
        engine,
        settings,
        run_processor=True,
        ingest_rate_per_agent=0.0,
        influx_url=victoria.url,
        influx_flush_interval_seconds=0.1,
        influx_batch_size=500,
        alerts_enabled=False,  # the sink's drill; the alert timers have theirs below
    ) as collector:
        sink = collector.service.sink
        assert sink is not None
        agent = await collector.enrol()
        commune = first_commune(engine)
        start = collector.clock.now() - timedelta(hours=2)
        before = commune_reports(commune, start, 6, 60.0)
        during = _renumbered(commune_reports(commune, start + timedelta(minutes=6), 12, 60.0), 7)
        after = _renumbered(commune_reports(commune, start + timedelta(minutes=18), 6, 60.0), 19)

        took_before = await _post_reports(collector, agent, before)
        await _until(
            lambda: _metric_now(collector, "cm_tsdb_sink_samples_written_total") == _points(before),
            30,
            "the first points in VictoriaMetrics",
        )

        victoria.stop()
        took_during = await _post_reports(collector, agent, during)
        # The processor went on at its pace: every report consumed, its points on local disk.
        await _until(
            lambda: _metric_now(collector, "cm_tsdb_sink_backlog_samples") == _points(during),
            30,
            "the outage's points in the backlog",
        )
        await _until(
            lambda: (
                (
                    _metric_now(collector, "cm_tsdb_sink_write_errors_total", reason="unreachable")
                    or 0
                )
                >= 1
            ),
            30,
            "a failed write to be counted",
        )
        assert collector.service.processor.lag() == 0
        assert (_metric_now(collector, "cm_tsdb_sink_backlog_bytes") or 0) > 0
        assert _metric_now(collector, "cm_tsdb_sink_samples_written_total") == _points(before)

        victoria.start()  # same port, same data
        took_after = await _post_reports(collector, agent, after)
        total = _points(before) + _points(during) + _points(after)
        await _until(
            lambda: _metric_now(collector, "cm_tsdb_sink_samples_written_total") == total,
            60,
            "the backlog to drain by itself",
        )
        assert _metric_now(collector, "cm_tsdb_sink_backlog_samples") == 0
        assert _metric_now(collector, "cm_tsdb_sink_backlog_bytes") == 0
        assert _metric_now(
            collector, "cm_tsdb_sink_dropped_samples_total", reason="backlog_full"
        ) in (
            None,
            0,
        )
        assert collector.journal_rows() == len(before) + len(during) + len(after)

    # Ingest never waited for the database: no refusal (all 200 above), no slower answers than
    # a loaded machine explains (a blocking write would take its 30 s client timeout).
    assert max(took_during) < max(2.0, 10 * max(took_before + took_after))
    # Every sample landed once, at the time it was measured (agent time), not when it was sent.
    expected = expected_points(before)
    for key, points in [*expected_points(during).items(), *expected_points(after).items()]:
        expected.setdefault(key, []).extend(points)
    assert _exported(victoria, commune) == {key: sorted(p) for key, p in expected.items()}
    assert any(
        r.name == "collector.influx_sink" and "time-series write failed" in r.getMessage()
        for r in caplog.records
    )


# ----------------------------------------------------------------------- SMTP relay down


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    """An aiosmtpd relay on a free loopback port, not started yet: the drill starts it."""
    server = SmtpServer(free_port())
    try:
        yield server
    finally:
        server.stop()


def _outbox(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(select(outbox).order_by(outbox.c.id)).all())


def _all_sent(engine: Engine, count: int) -> bool:
    rows = _outbox(engine)
    return len(rows) == count and all(r.sent_at is not None for r in rows)


async def _raise_disk_tickets(collector: Collector, agent: Enrolled, pcs: list[str], seq: int):
    """Disks over the rule's 90 %: one device_health ticket per PC, one e-mail each."""
    devices = expand([pc(device_id, disk=97.0) for device_id in pcs])
    body = batch(
        agent.agent_id,
        [seq],
        collector.clock.now() - timedelta(seconds=5),
        devices=devices,
        sent_at=collector.clock.now(),
    )
    response = await collector.post(agent, body)
    assert response.status_code == 200, response.text


async def test_smtp_relay_down_delivers_every_message_once_after_it_returns(
    engine: Engine,
    settings: Settings,
    smtp: SmtpServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="alerts.notify")
    async with running_collector(
        engine,
        settings,
        run_processor=True,
        ingest_rate_per_agent=0.0,
        smtp_host="127.0.0.1",
        smtp_port=smtp.port,
        # The timers run on the real scheduler, often; the backoff they honour is on the
        # injected clock, which only this test moves. Silence never fires while it does.
        alerts_notify_seconds=0.05,
        alerts_sweep_seconds=0.05,
        heartbeat_seconds=3600.0,
    ) as collector:
        agent = await collector.enrol()
        # The relay is down when three tickets open.
        await _raise_disk_tickets(collector, agent, ["pc-a", "pc-b", "pc-c"], 1)

        def attempted(times: int, count: int = 3) -> bool:
            rows = _outbox(engine)
            return len(rows) == count and all(r.attempts >= times for r in rows)

        await _until(lambda: attempted(1), 30, "a first, failed attempt of each message")
        assert all(r.sent_at is None and "SMTP" in r.last_error for r in _outbox(engine))
        assert _metric_now(collector, "cm_notifications_retrying", channel="email") == 3
        assert _metric_now(collector, "cm_notifications_pending") == 3
        queued = _metric_now(collector, "cm_notifications_oldest_undelivered_timestamp_seconds")
        assert queued == min(r.created_at for r in _outbox(engine)).timestamp()

        # Past the first backoff (30 s), still down: each is retried, and fails again.
        collector.clock.advance(31)
        await _until(lambda: attempted(2), 30, "the retries after the first backoff")
        assert smtp.messages == []

        # The relay returns; past the second backoff (60 s) every message goes out once.
        smtp.start()
        collector.clock.advance(61)
        await _until(lambda: _all_sent(engine, 3), 30, "the deliveries")
        # A later ticket is a marker: once it is delivered the timers have passed over the
        # delivered rows again, and must not have sent any of them twice.
        await _raise_disk_tickets(collector, agent, ["pc-d"], 2)
        # The relay has the message before the dispatcher commits its row as sent: wait for
        # both, or the row read below may still show the attempt uncounted.
        await _until(
            lambda: len(smtp.messages) >= 4 and _all_sent(engine, 4), 30, "the marker's delivery"
        )
        rows = _outbox(engine)
        assert _metric_now(collector, "cm_notifications_pending") == 0
        assert _metric_now(collector, "cm_notifications_retrying", channel="email") is None
        assert (
            _metric_now(collector, "cm_notifications_oldest_undelivered_timestamp_seconds") is None
        )

    with engine.connect() as conn:
        ticket_ids = sorted(conn.execute(select(tickets.c.id)).scalars())
    assert len(ticket_ids) == 4  # one per PC: nothing raised twice while the relay was away
    subjects = sorted(str(m["Subject"]) for m in smtp.messages)
    assert subjects == sorted(r.subject for r in rows)  # every message exactly once
    assert len(set(subjects)) == 4
    assert all(f"#{ticket_id} " in " ".join(subjects) for ticket_id in ticket_ids)
    assert [r.attempts for r in rows] == [3, 3, 3, 1]
    warnings = [
        r for r in caplog.records if r.getMessage().startswith("notification not delivered:")
    ]
    assert len(warnings) == 6  # each failed attempt logged once
    # ... naming its ticket, channel and next try, so an operator knows what is stuck.
    assert all(any(f"#{t}" in r.getMessage() for t in ticket_ids) for r in warnings)
    assert all("email" in r.getMessage() and "next try" in r.getMessage() for r in warnings)
    assert any(
        r.getMessage() == "notification delivered after failed attempts" for r in caplog.records
    )

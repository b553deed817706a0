"""Queues at their bound: the time-series sink's disk backlog, the notification outbox.

What happens when each is full is documented in docs/security.md ("Bounded queues"): the
backlog keeps its oldest points and drops new ones, counted and logged; the outbox has no bound
that could drop a ticket's notice, and shows its depth instead. In both cases nothing the ingest
acknowledged is ever lost: the journal holds every report.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy import Engine

from alerts.notify import Dispatcher, NotifyError, OutboxCollector
from collector.settings import Settings
from tests.agent.support import first_commune
from tests.alerts.support import World, pc
from tests.collector.test_influx_sink import _exported
from tests.dashboards.province import commune_reports, expected_points
from tests.hardening.inprocess import running_collector
from tests.hardening.test_drills_outages import _metric_now, _post_reports, _until
from tests.tsdb import VictoriaMetrics

# ------------------------------------------------------------- time-series backlog at its bound


async def test_full_tsdb_backlog_drops_new_points_counted_and_logged_never_a_report(
    engine: Engine, settings: Settings, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="collector.influx_sink")
    # The database's address is known but nothing listens there yet: it is down from the start.
    victoria = VictoriaMetrics(tmp_path / "vm")
    bound = 6 * 1024
    try:
        async with running_collector(
            engine,
            settings,
            run_processor=True,
            ingest_rate_per_agent=0.0,
            influx_url=victoria.url,
            influx_backlog_max_bytes=bound,
            influx_flush_interval_seconds=0.1,
            alerts_enabled=False,
        ) as collector:
            sink = collector.service.sink
            assert sink is not None
            agent = await collector.enrol()
            commune = first_commune(engine)
            reports = commune_reports(commune, collector.clock.now() - timedelta(hours=1), 30, 60.0)
            per_report = sum(len(p) for p in expected_points(reports[:1]).values())
            # One report per request and per processor step: one backlog segment each.
            for report in reports:
                await _post_reports(collector, agent, [report])  # every one answered 200
                await _until(lambda: collector.service.processor.lag() == 0, 30, "processing")

            kept = _metric_now(collector, "cm_tsdb_sink_backlog_samples")
            dropped = _metric_now(
                collector, "cm_tsdb_sink_dropped_samples_total", reason="backlog_full"
            )
            assert kept is not None
            assert dropped is not None
            assert dropped > 0, "the bound was never reached"
            assert kept + dropped == per_report * len(reports)  # every point kept or counted
            assert (_metric_now(collector, "cm_tsdb_sink_backlog_bytes") or 0) <= bound
            assert _metric_now(collector, "cm_tsdb_sink_backlog_capacity_bytes") == bound
            # The ingest acknowledged every report and the journal holds them all.
            assert collector.journal_rows() == len(reports)
            full = [r for r in caplog.records if "backlog full" in r.getMessage()]
            assert full, "dropping without an error in the log"
            assert all(r.levelno == logging.ERROR for r in full)
            # One line per episode, not per step (a later, smaller step may still fit).
            assert len(full) < dropped / per_report

            # The database comes up: the kept points drain, and the backlog takes points again.
            victoria.start()
            await _until(
                lambda: _metric_now(collector, "cm_tsdb_sink_backlog_samples") == 0,
                60,
                "the backlog to drain",
            )
            later = commune_reports(commune, collector.clock.now() - timedelta(minutes=5), 1, 60)
            later[0]["seq"] = len(reports) + 1
            await _post_reports(collector, agent, later)
            await _until(
                lambda: (
                    _metric_now(collector, "cm_tsdb_sink_samples_written_total")
                    == kept + per_report
                ),
                60,
                "the later report's points",
            )
            assert (
                _metric_now(collector, "cm_tsdb_sink_dropped_samples_total", reason="backlog_full")
                == dropped
            )

        # What was kept is whole reports, the oldest first: history runs on from the start
        # of the outage (a later step only if it still fitted); then the later report.
        stored = _exported(victoria, commune)
        times = {ts for points in stored.values() for ts, _ in points}
        by_time = {}
        for report in [*reports, *later]:
            points = expected_points([report])
            (ts,) = {t for p in points.values() for t, _ in p}
            by_time[ts] = points
        assert times <= set(by_time)
        expected = {}
        for ts in sorted(times):
            for key, points in by_time[ts].items():
                expected.setdefault(key, []).extend(points)
        assert stored == {k: sorted(v) for k, v in expected.items()}  # no partial report
        assert len(times) * per_report == kept + per_report
        outage = sorted(by_time)[: len(reports)]
        assert outage[0] in times  # the start of the outage is kept
        assert outage[-1] not in times  # its newest points were the ones dropped
        prefix = next(i for i, ts in enumerate(outage) if ts not in times)
        # Each full episode ends with a warning that says how many points it dropped; only a
        # step that fitted after a drop (ending an episode) lies beyond the kept prefix.
        again = [r for r in caplog.records if "has room again" in r.getMessage()]
        assert len(again) == len(full)
        assert sum(r.dropped_points for r in again) == dropped  # type: ignore[attr-defined]
        assert len([ts for ts in outage[prefix:] if ts in times]) <= len(again) - 1
    finally:
        victoria.stop()


# ------------------------------------------------------------- notification outbox, unbounded


class _RelayDown:
    """A notifier whose relay refuses every connection, then accepts (a real one is in the
    drill of tests/hardening/test_drills_outages.py; this one counts what it was given)."""

    def __init__(self) -> None:
        self.up = False
        self.sent: list[str] = []

    def send(self, message) -> None:
        if not self.up:
            raise NotifyError("SMTP 127.0.0.1:25: [Errno 111] Connection refused")
        self.sent.append(message.subject)


def _metric(registry: CollectorRegistry, name: str, **labels: str) -> float | None:
    value = registry.get_sample_value(name, labels)
    return None if value is None else float(value)


def test_outbox_beyond_a_dispatch_batch_keeps_every_message_and_shows_its_depth(
    engine: Engine,
) -> None:
    world = World(engine)
    relay = _RelayDown()
    batch = 25
    dispatcher = Dispatcher(
        engine,
        world.clock,
        {"email": relay},
        routing=world.alerts.routing,
        backoff_base=timedelta(seconds=30),
        batch=batch,
    )
    registry = CollectorRegistry()
    registry.register(OutboxCollector(engine))
    # Many more tickets than one dispatch pass reads: 4 communes x 20 PCs with full disks.
    for commune in world.communes[:4]:
        world.enrol(commune, [pc(f"{commune}-PC-{n}", disk=97.0) for n in range(20)])
    world.tick()
    queued = dispatcher.pending()
    assert queued == 80

    passes = 0
    while _metric(registry, "cm_notifications_retrying", channel="email") != queued:
        result = dispatcher.deliver_due()
        # A pass reads at most ``batch`` rows, and stops at the first refused connection.
        assert result.sent == 0
        assert result.failed <= 1
        passes += 1
        assert passes <= queued, "some messages were never attempted"
    assert dispatcher.pending() == queued  # nothing dropped however long the relay is away
    oldest = _metric(registry, "cm_notifications_oldest_undelivered_timestamp_seconds")
    assert oldest == world.clock.now().timestamp() - 60  # queued at the tick, a minute ago

    relay.up = True
    world.clock.advance(3600)  # past every backoff
    delivered = 0
    for _ in range(queued):  # bounded: one message per pass at worst
        done = dispatcher.deliver_due()
        assert done.sent <= batch
        delivered += done.sent
        if delivered == queued:
            break
    assert delivered == queued
    assert len(relay.sent) == len(set(relay.sent)) == queued  # each once
    assert dispatcher.pending() == 0
    assert _metric(registry, "cm_notifications_retrying", channel="email") is None
    assert _metric(registry, "cm_notifications_oldest_undelivered_timestamp_seconds") is None

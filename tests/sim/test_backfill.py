"""A back-fill of history through the real ingest (sim/backfill.py, driven by ``Driver.backfill``)
on a fake clock: every report an agent would have sent, a live run continuing each sequence, and
a batch whose acknowledgement was lost resent and stored once."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import Engine, select

from agent.vntime import VN_TZ
from alerts.calendar import load_calendar
from collector.communes import BUNDLED_UNITS
from collector.schema import device_state, journal
from collector.settings import Settings
from sim import generate_fleet
from sim.presence import Presence
from sim.symptoms import read_journal
from tests.fakes import FakeClock
from tests.hardening.support import AnswerLog
from tests.sim.harness import simulated


async def test_backfill_gives_history_and_the_live_run_continues_the_sequence(
    settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    fleet = generate_fleet(BUNDLED_UNITS, "37", seed=2, max_communes=2)
    clock = FakeClock()
    start = clock.now() - timedelta(days=4)  # Thursday to Monday: two working days.
    hours = [start + timedelta(hours=n) for n in range(96)]
    # Site agents report every hour; counter PCs when their clerks have them on.
    presence = Presence(load_calendar(), fleet.seed)
    expected = {
        agent.key: (
            len(hours)
            if agent.role == "site"
            else sum(presence.span(agent.key, agent.commune_code, at) is not None for at in hours)
        )
        for agent in fleet.agents
    }
    ticks: list[int] = []
    async with simulated(settings, engine, fleet, tmp_path, clock=clock) as sim:
        result = await sim.driver.backfill(start, clock.now(), progress=ticks.append)
        assert result.failures == []
        assert result.reports == sum(expected.values())
        assert ticks[-1] == len(fleet.agents)
        sim.driver.open_spools()
        await sim.run(3)
        agents_by_id = sim.driver.agents_by_id
    reports = read_journal(engine, agents_by_id)
    per_agent: dict[str, list[int]] = {}
    for report in reports:
        per_agent.setdefault(report.agent.key, []).append(report.seq)
    # Monday 08:00: every PC is on; each agent's sequence runs on from its history, unbroken.
    assert {key: seqs for key, seqs in per_agent.items()} == {
        key: list(range(1, count + 4)) for key, count in expected.items()
    }
    assert min(r.measured_at for r in reports) == start
    with engine.connect() as conn:
        states = conn.execute(
            select(device_state.c.device_id, device_state.c.kind, device_state.c.measured_at)
        ).all()
    equipment = {row.device_id for row in states if row.kind not in ("service", "link")}
    assert equipment == {d.device_id for d in fleet.devices}
    probes = {row.device_id for row in states if row.kind == "service"}
    pcs = [d.device_id for d in fleet.devices if d.kind == "pc"]
    assert probes == {f"probe:{target}@{pc}" for pc in pcs for target in ("motcua", "dvcqg")}
    assert max(row.measured_at for row in states) == clock.now() - timedelta(minutes=1)

    def series(device_id: str, name: str) -> list[tuple[int, float]]:
        """(local hour, value) of one sample, on working days only."""
        out = []
        for report in reports:
            local = report.measured_at + timedelta(hours=7)
            for device in report.devices:
                if device.device_id == device_id and local.weekday() < 5:
                    out += [(local.hour, s.value) for s in device.samples if s.name == name]
        return out

    pc = next(d for d in fleet.devices if d.kind == "pc")
    cpu = series(pc.device_id, "cpu_percent")
    peak = [v for hour, v in cpu if hour in (9, 15)]
    lunch = [v for hour, v in cpu if hour == 12]
    # Working-hours peaks in Asia/Ho_Chi_Minh, near idle over lunch.
    assert min(peak) > max(lunch)
    # At night the counter PCs are off (a few left on): most of their reports are by day.
    pc_reports = [r for r in reports if r.agent.role == "pc"]
    night = [r for r in pc_reports if (r.measured_at + timedelta(hours=7)).hour in (1, 2, 3)]
    assert len(night) * 10 < len(pc_reports)
    events = {e.type for r in pc_reports for d in r.devices for e in d.events}
    assert {"agent_started", "agent_stopping"} <= events
    printer = next(d for d in fleet.devices if d.kind == "printer")
    pages = [v for _hour, v in series(printer.device_id, "printer_pages_total")]
    assert pages == sorted(pages)
    assert pages[-1] > pages[0]


class _LostAcks(httpx.AsyncBaseTransport):
    """A link that drops the collector's answer to the first ``count`` report POSTs: the batch
    is stored, but the agent side sees a timeout (the case a resend must not duplicate)."""

    def __init__(self, inner: httpx.AsyncBaseTransport, count: int) -> None:
        self._inner = inner
        self.left = count

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        if request.url.path == "/api/v1/reports" and self.left > 0:
            self.left -= 1
            await response.aread()
            raise httpx.ReadTimeout("simulated lost acknowledgement", request=request)
        return response


async def test_backfill_resends_a_batch_whose_ack_was_lost_and_stores_it_once(
    settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    fleet = generate_fleet(BUNDLED_UNITS, "37", seed=4, max_communes=1)
    clock = FakeClock(datetime(2026, 3, 2, 15, 0, tzinfo=VN_TZ))  # every PC on since 9:00
    links: list[_LostAcks] = []

    def lossy(inner: httpx.AsyncBaseTransport) -> httpx.AsyncBaseTransport:
        links.append(_LostAcks(inner, count=3))
        return links[-1]

    async with simulated(settings, engine, fleet, tmp_path, clock=clock, network=lossy) as sim:
        result = await sim.driver.backfill(clock.now() - timedelta(hours=6), clock.now())
    assert sum(link.left for link in links) == 0  # every client's first 3 acks were lost
    assert result.failures == []
    assert result.retries == 3 * len(links)
    assert result.reports == 6 * len(fleet.agents)
    assert result.duplicates > 0  # the resent batches were found already stored
    with engine.connect() as conn:
        rows = conn.execute(select(journal.c.agent_id, journal.c.seq)).all()
    assert len(rows) == len(set(rows)) == 6 * len(fleet.agents)


async def test_a_batch_over_the_collectors_bounds_is_halved_until_it_is_taken(
    settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    fleet = generate_fleet(BUNDLED_UNITS, "37", seed=4, max_communes=1)
    clock = FakeClock(datetime(2026, 3, 2, 15, 0, tzinfo=VN_TZ))  # every PC on since 9:00
    # A collector set far below the default: six hours of a site agent are too many objects.
    strict = settings.model_copy(
        update={"ingest": settings.ingest.model_copy(update={"max_objects_per_batch": 2_000})}
    )
    links: list[AnswerLog] = []

    def watched(inner: httpx.AsyncBaseTransport) -> httpx.AsyncBaseTransport:
        links.append(AnswerLog(inner))
        return links[-1]

    async with simulated(strict, engine, fleet, tmp_path, clock=clock, network=watched) as sim:
        result = await sim.driver.backfill(clock.now() - timedelta(hours=6), clock.now())
    assert sum(link.count(413) for link in links) > 0, "the bound was reached"
    assert result.failures == []
    assert result.reports == 6 * len(fleet.agents)
    with engine.connect() as conn:
        rows = conn.execute(select(journal.c.agent_id, journal.c.seq)).all()
    assert len(rows) == len(set(rows)) == 6 * len(fleet.agents)

"""The fleet through the real agent spool and sender and the real ingest, on a fake clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import Engine, func, select

from agent.vntime import VN_TZ
from alerts.calendar import load_calendar
from collector.communes import BUNDLED_UNITS
from collector.schema import device_state, journal
from collector.settings import Settings
from sim import generate_fleet, load_scenario
from sim.presence import Presence
from sim.symptoms import compare, observed_symptoms, read_journal
from tests.fakes import FakeClock
from tests.sim.harness import fibre_cut, simulated


async def test_link_down_spools_then_replays_every_report_exactly_once(
    settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    clock = FakeClock()
    fleet, resolved = fibre_cut("10m", clock)
    cut = fleet.communes[1].code
    async with simulated(
        settings, engine, fleet, tmp_path, faults=resolved.faults, clock=clock
    ) as sim:
        sim.driver.open_spools()
        await sim.run(10)  # Minutes 0..9: the link goes down at minute 5.
        at_cut = [r for r in sim.driver.runtimes if r.agent.commune_code == cut]
        elsewhere = [r for r in sim.driver.runtimes if r.agent.commune_code != cut]
        assert all(r.spool is not None and r.spool.stats().depth == 5 for r in at_cut)
        assert all(r.spool is not None and r.spool.stats().depth == 0 for r in elsewhere)
        await sim.run(10)  # Minutes 10..19: back at minute 15, the spools replay.
        # The ten reports of the cut plus the one measured as the link came back.
        assert all(r.max_depth == 11 for r in at_cut)
        assert all(r.spool is not None and r.spool.stats().depth == 0 for r in sim.driver.runtimes)
        agents_by_id = sim.driver.agents_by_id
    reports = read_journal(engine, agents_by_id)
    per_agent: dict[str, list[int]] = {}
    for report in reports:
        per_agent.setdefault(report.agent.key, []).append(report.seq)
    # Every agent's 20 reports, each exactly once, in an unbroken sequence.
    assert len(per_agent) == len(fleet.agents)
    assert all(seqs == list(range(1, 21)) for seqs in per_agent.values())
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(journal)).scalar_one() == 20 * len(
            fleet.agents
        )
    start = resolved.faults[0].start
    for report in reports:
        delay = report.received_at - report.measured_at
        during = start <= report.measured_at < resolved.faults[0].end
        if report.agent.commune_code == cut and during:
            # Measured during the cut (agent time kept), delivered when the link came back.
            assert report.received_at == start + timedelta(minutes=10), report
        else:
            assert delay == timedelta(0), report
    symptoms = observed_symptoms(reports)
    assert compare(resolved.ground_truth, symptoms).ok


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


async def test_default_scenario_friday_afternoon_produces_its_ground_truth(
    settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    fleet = generate_fleet(BUNDLED_UNITS, "37", seed=1, max_communes=3)
    friday = datetime(2026, 3, 6, 15, 30, tzinfo=VN_TZ).astimezone(UTC)  # the demo's start
    clock = FakeClock(friday)
    resolved = load_scenario().resolve(fleet, friday)
    until = friday + timedelta(hours=2)  # the afternoon's faults and the evening shutdown
    truth = [t for t in resolved.ground_truth if t.end <= until]
    assert len(truth) == 13  # with the certificate running out and the broken plugin
    async with simulated(
        settings,
        engine,
        fleet,
        tmp_path,
        faults=resolved.faults,
        clock=clock,
        interval_seconds=180,
    ) as sim:
        sim.driver.open_spools()
        await sim.run(40)  # 2 h of 3-minute reports: past the end of every afternoon fault.
        agents_by_id = sim.driver.agents_by_id
    reports = read_journal(engine, agents_by_id)
    symptoms = observed_symptoms(reports, interval_seconds=180)
    check = compare(truth, symptoms, resolved.windows)
    assert check.missing == []
    assert check.unexplained == []
    assert {s.problem_class for s in symptoms} >= {g.problem_class for g in truth}
    assert {"signing_cert_expiring", "signing_plugin_down"} <= {g.problem_class for g in truth}
    # The PCs went home at closing, most of them saying goodbye: silence, but no symptom.
    goodbyes = [
        r for r in reports for d in r.devices for e in d.events if e.type == "agent_stopping"
    ]
    assert len(goodbyes) > len([a for a in fleet.agents if a.role == "pc"]) // 2


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

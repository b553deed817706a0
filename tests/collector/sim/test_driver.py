"""The fleet through the real agent spool and sender and the real ingest, on a fake clock."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import httpx
from sqlalchemy import Engine, func, select

from collector.cli import BUNDLED_UNITS
from collector.schema import device_state, journal
from collector.settings import Settings
from collector.sim import SimClock, generate_fleet, load_scenario
from collector.sim.truth import compare, observed_symptoms, read_journal
from tests.collector.sim.harness import fibre_cut, simulated
from tests.fakes import FakeClock


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
    ticks: list[int] = []
    async with simulated(settings, engine, fleet, tmp_path, clock=clock) as sim:
        result = await sim.driver.backfill(start, clock.now(), progress=ticks.append)
        assert result.failures == []
        assert result.reports == 96 * len(fleet.agents)
        assert ticks[-1] == len(fleet.agents)
        sim.driver.open_spools()
        await sim.run(3)
        agents_by_id = sim.driver.agents_by_id
    reports = read_journal(engine, agents_by_id)
    per_agent: dict[str, list[int]] = {}
    for report in reports:
        per_agent.setdefault(report.agent.key, []).append(report.seq)
    assert all(seqs == list(range(1, 100)) for seqs in per_agent.values())
    assert min(r.measured_at for r in reports) == start
    with engine.connect() as conn:
        states = conn.execute(select(device_state.c.device_id, device_state.c.measured_at)).all()
    assert {row.device_id for row in states} == {d.device_id for d in fleet.devices}
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
    night = [v for hour, v in cpu if hour in (1, 2, 3)]
    # Working-hours peaks in Asia/Ho_Chi_Minh, near idle at night.
    assert min(peak) > max(night)
    printer = next(d for d in fleet.devices if d.kind == "printer")
    pages = [v for _hour, v in series(printer.device_id, "printer_pages_total")]
    assert pages == sorted(pages)
    assert pages[-1] > pages[0]


async def test_default_scenario_produces_its_ground_truth(
    settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    fleet = generate_fleet(BUNDLED_UNITS, "37", seed=1, max_communes=3)
    clock = FakeClock()
    resolved = load_scenario().resolve(fleet, clock.now())
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
        await sim.run(64)  # 3 h 12 min of 3-minute reports: past the end of every fault.
        agents_by_id = sim.driver.agents_by_id
    symptoms = observed_symptoms(read_journal(engine, agents_by_id), interval_seconds=180)
    check = compare(resolved.ground_truth, symptoms)
    assert check.missing == []
    assert check.unexplained == []
    assert {s.problem_class for s in symptoms} == {g.problem_class for g in resolved.ground_truth}


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
    clock = FakeClock()
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


def test_sim_clock_keeps_its_time_when_its_speed_changes() -> None:
    real = FakeClock()
    start = real.now()
    clock = SimClock(start, 1.0, real=real)
    real.advance(90)
    assert clock.now() == start + timedelta(seconds=90)
    clock.set_speed(60.0)
    assert clock.now() == start + timedelta(seconds=90)
    real.advance(10)
    assert clock.now() == start + timedelta(seconds=690)
    assert clock.monotonic() == 690.0

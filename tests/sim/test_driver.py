"""The fleet through the real agent spool and sender and the real ingest, on a fake clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, func, select

from agent.vntime import VN_TZ
from collector.communes import BUNDLED_UNITS
from collector.schema import journal
from collector.settings import Settings
from sim import generate_fleet, load_scenario
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

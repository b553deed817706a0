"""An ordinary day and night of a province through the real ingest and alert engine: tickets
only for what a province should be told (issue 19).

Six communes report every ten minutes from Thursday 14:00 to Friday 10:00 (Vietnam time) after a
day of history: a two-hour fibre cut across the evening shutdown (replayed from the real spools),
the PCs switched off at closing (goodbyes, cuts at the wall, a few left on), a maintenance page
after hours, the collector's uplink failing at night, a PC not switched on in the morning, an
undeclared maintenance page at work and a declared one. Tickets must be exactly the ground truth.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy import Engine, func, select

from agent.vntime import VN_TZ
from alerts.schema import incidents, tickets
from collector.communes import BUNDLED_UNITS
from collector.schema import agents, journal
from collector.settings import Settings
from province.app import create_app
from province.service import build_service
from sim import Driver, generate_fleet, parse_scenario
from tests.fakes import FakeClock
from tests.stores import on_scenario_stores

HEARTBEAT = 600.0
START = datetime(2026, 3, 5, 14, 0, tzinfo=VN_TZ)  # Thursday
END = datetime(2026, 3, 6, 10, 0, tzinfo=VN_TZ)  # Friday
SCENARIO = """
name: an ordinary day
faults:
  - {id: fibre-cut, type: link_down, start: 1h, duration: 2h, target: {commune: 1}}
  - id: evening-page
    type: maintenance_page
    start: 5h
    duration: 1h
    target: {system: motcua}
  - {id: uplink, type: collector_uplink_down, start: 7h, duration: 40m}
  - id: not-started
    type: pc_not_started
    start: 16h
    duration: 3h
    target: {scope: device, commune: 3, kind: pc, index: 0}
  - id: morning-page
    type: maintenance_page
    start: 18h
    duration: 40m
    target: {system: motcua}
  - id: planned
    type: declared_maintenance
    start: 19h
    duration: 30m
    target: {system: dvcqg}
"""


def _tickets(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        return list(
            conn.execute(
                select(tickets, incidents.c.started_at, incidents.c.ended_at).join(
                    incidents, incidents.c.id == tickets.c.incident_id
                )
            ).all()
        )


@on_scenario_stores
@pytest.mark.timeout(900)
async def test_an_ordinary_day_gives_exactly_the_tickets_a_province_should_get(
    settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    settings = settings.model_copy(
        update={
            "heartbeat_seconds": HEARTBEAT,
            "run_processor": False,
            # The test runs the timers itself, on the simulated clock.
            "alerts_sweep_seconds": 3600.0,
            "alerts_notify_seconds": 3600.0,
        }
    )
    clock = FakeClock(START)
    fleet = generate_fleet(BUNDLED_UNITS, "37", seed=3, max_communes=6)
    resolved = parse_scenario(SCENARIO, "day.yaml").resolve(fleet, START)
    service = build_service(settings, clock=clock, registry=CollectorRegistry(), engine=engine)
    assert service.alerting is not None
    alerting = service.alerting
    driver = Driver(
        fleet,
        base_url="http://collector.test",
        spool_dir=tmp_path / "spools",
        clock=clock,
        faults=resolved.faults,
        transport=httpx.ASGITransport(app=create_app(service)),
        interval_seconds=HEARTBEAT,
        start=START - timedelta(days=1),
    )
    try:
        async with service.running():
            driver.enrol(engine)
            history = await driver.backfill(START - timedelta(days=1), START)
            assert history.failures == []
            service.processor.drain()
            assert resolved.declare_windows(engine, clock.now(), author="test") == 1
            driver.open_spools()
            while clock.now() < END:
                await driver.step()
                service.processor.drain()
                alerting.engine.sweep()
                clock.advance(HEARTBEAT)
            agents_by_id = driver.agents_by_id
    finally:
        await driver.aclose()

    found = _tickets(engine)
    got = Counter((t.problem_class, t.commune_code, t.device_id, t.system) for t in found)
    want = Counter(
        (e.problem_class, e.commune_code, e.device_id, e.system) for e in resolved.ground_truth
    )
    # No ticket for the evening shutdown, the night, the page after hours or the declared work.
    assert got == want
    assert sorted(want) == sorted(
        [
            ("site_outage", fleet.communes[1].code, None, None),
            ("upstream_outage", None, None, None),
            ("device_down", fleet.communes[3].code, fleet.communes[3].devices[0].device_id, None),
            ("software_outage", None, None, "motcua"),
        ],
        key=str,
    )
    slack = timedelta(seconds=HEARTBEAT)
    by_key = {(t.problem_class, t.commune_code, t.device_id, t.system): t for t in found}
    for truth in resolved.ground_truth:
        ticket = by_key[(truth.problem_class, truth.commune_code, truth.device_id, truth.system)]
        assert abs(ticket.started_at - truth.start) <= slack, truth.fault_id
        assert ticket.ended_at is not None, truth.fault_id
        assert abs(ticket.ended_at - truth.end) <= slack, truth.fault_id
        assert ticket.opened_at - truth.start <= 1.5 * slack, truth.fault_id
    with engine.connect() as conn:
        # The declared maintenance was seen, and held in its window: an incident, no ticket.
        in_window = conn.execute(
            select(incidents.c.system).where(incidents.c.window_id.is_not(None))
        ).all()
        # Most counter PCs said goodbye in the evening, and the collector recorded it.
        goodbyes = conn.execute(
            select(func.count()).where(agents.c.goodbye_reason == "shutdown")
        ).scalar_one()
        rows = conn.execute(
            select(journal.c.agent_id, journal.c.seq, journal.c.measured_at, journal.c.received_at)
        ).all()
    assert {row.system for row in in_window} == {"dvcqg"}
    pcs = [agent for agent in fleet.agents if agent.role == "pc"]
    assert goodbyes > len(pcs) // 2
    # The two-hour cut replayed from the real spools: each report once, measured when it was.
    per_agent: dict[str, list[int]] = {}
    for row in rows:
        per_agent.setdefault(row.agent_id, []).append(row.seq)
    assert all(sorted(seqs) == list(range(1, len(seqs) + 1)) for seqs in per_agent.values())
    cut = next(f for f in resolved.faults if f.id == "fibre-cut")
    replayed = [
        row
        for row in rows
        if agents_by_id[row.agent_id].commune_code == fleet.communes[1].code
        and cut.start <= row.measured_at < cut.end
    ]
    assert len({row.measured_at for row in replayed}) == 12  # two hours of ten-minute reports
    assert all(row.received_at >= cut.end for row in replayed)

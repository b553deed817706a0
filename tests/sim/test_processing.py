"""Journal processing of a simulated province: the batch size never changes what is stored.

A back-fill puts a month of one agent's reports into one POST, so the processor's batches then
hold hundreds of reports of the same devices, merged in memory before one upsert per device;
live, a batch holds a few reports of many devices. Both must give the same current state and
events as processing the journal one report at a time.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry
from sqlalchemy import Engine, delete, select, update

from collector.communes import BUNDLED_UNITS
from collector.metrics import IngestMetrics
from collector.processor import CURSOR, Processor
from collector.schema import cursors, device_state, events, journal
from collector.settings import Settings
from sim import generate_fleet, parse_scenario
from tests.fakes import FakeClock
from tests.sim.harness import simulated

# Live faults that make events (printer jam, door open) and replays (a cut link: reports measured
# during the cut reach the journal after newer reports of other communes).
SCENARIO = """
name: processing
faults:
  - id: cut
    type: link_down
    start: 3m
    duration: 6m
    target: {scope: commune, commune: 1}
  - id: jam
    type: printer_jam
    start: 2m
    duration: 5m
    target: {scope: device, commune: 0, kind: printer, index: 0}
  - id: door
    type: printer_door_open
    start: 4m
    duration: 4m
    target: {scope: device, commune: 1, kind: printer, index: 0}
  - id: printer-off
    type: device_off
    start: 1m
    duration: 3m
    target: {scope: device, commune: 0, kind: printer, index: 1}
"""


def _snapshot(engine: Engine) -> tuple[list[Any], list[Any]]:
    """device_state rows and event rows (without their surrogate ids), in a stable order; facts
    as a mapping: the processor writes this batch's facts before the stored ones, so their order
    in the JSON text follows the batches when a report carries only some of the PC's facts (the
    signing check's plugin version every minute, the tokens check's every ten)."""
    with engine.connect() as conn:
        states = conn.execute(
            select(device_state).order_by(device_state.c.commune_code, device_state.c.device_id)
        ).all()
        event_rows = conn.execute(
            select(*(c for c in events.c if c.name != "id")).order_by(
                events.c.journal_id, events.c.device_id, events.c.type, events.c.message
            )
        ).all()
    facts = list(device_state.c.keys()).index("facts")
    rows = [
        (*row[:facts], sorted(json.loads(row[facts]).items()), *row[facts + 1 :]) for row in states
    ]
    return rows, [tuple(row) for row in event_rows]


def _reprocess(engine: Engine, clock: FakeClock, batch_size: int) -> tuple[list[Any], list[Any]]:
    """Forget the processed state, process the whole journal again in ``batch_size`` batches."""
    with engine.begin() as conn:
        conn.execute(delete(events))
        conn.execute(delete(device_state))
        conn.execute(
            update(cursors)
            .where(cursors.c.name == CURSOR)
            .values(position=0, holder="", lease_until=None)
        )
    processor = Processor(
        engine, clock, IngestMetrics.create(CollectorRegistry()), batch_size=batch_size
    )
    with engine.connect() as conn:
        entries = len(conn.execute(select(journal.c.id)).all())
    assert processor.drain() == entries
    return _snapshot(engine)


async def test_batch_size_never_changes_device_state_or_events(
    settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    fleet = generate_fleet(BUNDLED_UNITS, "37", seed=3, max_communes=2)
    clock = FakeClock()
    resolved = parse_scenario(SCENARIO, "processing.yaml").resolve(fleet, clock.now())
    async with simulated(
        settings, engine, fleet, tmp_path, faults=resolved.faults, clock=clock
    ) as sim:
        # A day of hourly history in one POST per agent, then live minutes with the faults.
        backfill = await sim.driver.backfill(clock.now() - timedelta(days=1), clock.now())
        assert backfill.failures == []
        sim.driver.open_spools()
        await sim.run(12)
    # As processed by the running service: live batches interleaved with ingest.
    served = _snapshot(engine)
    states, event_rows = served
    # Every device reported (the PCs' probes and the site's line are devices of their own too).
    assert {row[1] for row in states} >= {device.device_id for device in fleet.devices}
    assert {row[3] for row in states} >= {"service", "link"}
    messages = {row[5] for row in event_rows}
    assert {"printer 1 reports jammed", "printer 1 reports door open"} <= messages, messages
    assert any(row[3] == "snmp_target_unreachable" for row in event_rows)
    one_by_one = _reprocess(engine, clock, batch_size=1)
    assert one_by_one == served
    # Batches larger than an agent's whole back-fill POST: every device merged in memory.
    assert _reprocess(engine, clock, batch_size=5000) == one_by_one
    assert _reprocess(engine, clock, batch_size=7) == one_by_one

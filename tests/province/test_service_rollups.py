"""The province's service keeps the register's daily rollups (province/service.py): its processor
rolls up what it consumes, the process that processes the journal prunes them, and every process
refreshes the register's figures for /metrics in the background. On both stores."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from agent.wire import ReportBatch
from collector import agents
from collector.ingest import store_batch
from collector.settings import Settings
from inventory.measurements import SignalSource
from inventory.register_writer import register_to_csv
from inventory.reports import InventoryConfig, ranked
from inventory.rollups import RETENTION_DAYS, DayRollup, decode_histogram, write_rollups
from inventory.store import import_register
from province.service import ProvinceService, build_service
from tests.alerts.support import expand, pc
from tests.fakes import FakeClock
from tests.inventory.rollup_history import COMMUNE, pc_asset, rollup_rows, vn_day

END = datetime(2026, 3, 11, 10, 0, tzinfo=UTC)


def _service(settings: Settings, engine: Engine, *, processing: bool = True) -> ProvinceService:
    return build_service(
        settings.model_copy(update={"run_processor": processing}),
        clock=FakeClock(END),
        engine=engine,
    )


def _report(engine: Engine, memory: float) -> None:
    """One report of PC-A (memory at ``memory`` %) stored in the journal, measured an hour ago."""
    token = agents.create_enrol_token(engine, COMMUNE, END, timedelta(hours=1))
    enrolment = agents.enrol(engine, token, "pc-a", "test", END)
    identity = agents.authenticate(engine, enrolment.agent_token)
    device = pc("PC-A", memory=memory, targets=())
    batch = ReportBatch.model_validate(
        {
            "schema_version": 1,
            "agent_id": identity.agent_id,
            "sent_at": END.isoformat(),
            "reports": [
                {
                    "seq": 1,
                    "measured_at": (END - timedelta(hours=1)).isoformat(),
                    "devices": expand([device]),
                }
            ],
        }
    )
    with engine.begin() as conn:
        store_batch(conn, identity, batch, END, timedelta(0), 100_000)


def test_the_service_rolls_up_what_its_processor_consumes(
    settings: Settings, engine: Engine
) -> None:
    import_register(engine, register_to_csv([pc_asset("PC-A")]), filename="r.csv", now=END)
    service = _service(settings, engine)
    _report(engine, memory=93.0)
    assert service.processor.drain() == 1
    (row,) = rollup_rows(engine).values()
    assert (row["device_id"], row["day"]) == ("PC-A", vn_day(END - timedelta(hours=1)))
    assert decode_histogram(row["memory_hist"]) == {93: 1}
    result = ranked(engine, InventoryConfig(), now=END)
    assert result.measurements is not None
    assert result.measurements.source is SignalSource.ROLLUPS
    saturation = next(t for t in result.scores[0].terms if t.term == "saturation")
    assert "memory p95 93 %" in saturation.explanation_en


def _old_rollup(engine: Engine) -> None:
    old_day = vn_day(END) - timedelta(days=RETENTION_DAYS + 5)
    with engine.begin() as conn:
        write_rollups(conn, {(COMMUNE, "PC-OLD", old_day): DayRollup(reports=1, memory={50: 1})})


async def test_where_the_journal_is_processed_old_rollups_are_pruned(
    settings: Settings, engine: Engine
) -> None:
    _old_rollup(engine)
    service = _service(settings, engine)
    assert service.rollups is not None
    async with service.running():
        await asyncio.wait_for(service.rollups.pruned.wait(), timeout=60)
    assert rollup_rows(engine) == {}


async def test_a_process_that_only_ingests_prunes_nothing_but_serves_figures(
    settings: Settings, engine: Engine
) -> None:
    _old_rollup(engine)
    service = _service(settings, engine, processing=False)
    assert service.inventory is not None
    assert service.rollups is not None
    async with service.running():
        await asyncio.to_thread(service.exposition, devices=False)  # the first scrape
        await asyncio.wait_for(service.inventory.refreshed.wait(), timeout=60)
        assert b"cm_inventory_figures_timestamp_seconds" in service.exposition(devices=False)
    assert not service.rollups.pruned.is_set()
    assert len(rollup_rows(engine)) == 1

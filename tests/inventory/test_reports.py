"""Ranking and plan from the store, with failures measured from the device's critical events."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from inventory.models import Asset, AssetKind
from inventory.register_io import register_to_csv
from inventory.reports import (
    ExportError,
    ExportFormat,
    InventoryConfig,
    Report,
    budget_plan,
    export_bytes,
    ranking,
    report_sheets,
)
from inventory.store import import_register
from tests.inventory.builders import NOW, add_agent, add_device, add_event, province_register

COMMUNE = "13285"


@pytest.fixture(scope="module")
def config() -> InventoryConfig:
    return InventoryConfig()


def pc(tag: str) -> Asset:
    return Asset(
        asset_tag=tag,
        kind=AssetKind.PC,
        commune_code=COMMUNE,
        room="Quầy 1",
        put_into_use=date(2021, 6, 1),
        original_cost=14_000_000,
        serial=f"SN-{tag}",
    )


def test_failures_count_critical_events_once_per_type_and_day(
    engine: Engine, config: InventoryConfig
) -> None:
    import_register(engine, register_to_csv([pc("PC-A"), pc("PC-B")]), filename="r.csv", now=NOW)
    add_agent(engine, "agent-1", COMMUNE)
    add_device(
        engine,
        agent_id="agent-1",
        commune_code=COMMUNE,
        device_id="pc-b",
        kind="pc",
        facts={"serial": "SN-PC-B"},
    )
    when = [
        (NOW - timedelta(days=3), "critical", "disk_failing"),
        (NOW - timedelta(days=3, hours=1), "critical", "disk_failing"),  # same day: once
        (NOW - timedelta(days=40), "critical", "disk_failing"),
        (NOW - timedelta(days=40), "critical", "host_down"),
        (NOW - timedelta(days=10), "warning", "memory_high"),  # not a failure
        (NOW - timedelta(days=400), "critical", "host_down"),  # older than 12 months
    ]
    for seq, (at, severity, kind) in enumerate(when, start=1):
        add_event(
            engine,
            agent_id="agent-1",
            commune_code=COMMUNE,
            device_id="pc-b",
            type_=kind,
            severity=severity,
            measured_at=at,
            journal_id=seq,
        )
    scores = ranking(engine, config, now=NOW)
    assert [s.asset_tag for s in scores] == ["PC-B", "PC-A"]
    failures = {s.asset_tag: next(t for t in s.terms if t.term == "failures") for s in scores}
    assert failures["PC-B"].explanation_en.startswith("3 failure(s)")
    assert failures["PC-A"].contribution == 0


def test_plan_from_the_store_stays_within_budget(
    engine: Engine, config: InventoryConfig, units_csv: Path
) -> None:
    assets = province_register(units_csv, communes=3)
    import_register(engine, register_to_csv(assets), filename="r.csv", now=NOW)
    budget = 300_000_000
    plan = budget_plan(engine, config, budget, now=NOW)
    assert 0 < plan.spent <= budget
    assert plan.spent + plan.remaining == budget
    assert plan.proven_optimal
    # The commune names come from the store's commune list.
    assert all(line.commune_name for line in plan.lines)


def test_multi_sheet_report_refuses_csv(engine: Engine, config: InventoryConfig) -> None:
    sheets = report_sheets(engine, config, Report.RECONCILIATION, now=NOW)
    assert len(sheets) == 3
    with pytest.raises(ExportError) as caught:
        export_bytes(sheets, ExportFormat.CSV)
    assert caught.value.field == "format"
    assert export_bytes(sheets, ExportFormat.XLSX)[:2] == b"PK"

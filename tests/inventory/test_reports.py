"""Ranking, plan and report sheets from the store (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine

from inventory.exports import ExportError, ExportFormat, export_bytes
from inventory.models import Asset, AssetKind
from inventory.register_writer import register_to_csv
from inventory.reports import InventoryConfig, Report, budget_plan, report_sheets
from inventory.store import import_register
from tests.inventory.builders import NOW, province_register

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

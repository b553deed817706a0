"""Registers, plans and device state for the store, API, CLI and export tests of the inventory."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import Engine, insert

from collector.schema import agents, device_state
from inventory.lives import LifeTables
from inventory.models import Asset
from inventory.plan import Plan, build_plan
from inventory.prices import PriceTable
from inventory.priority import PriorityScore, score_assets
from inventory.sample_register import generate_register, load_units
from inventory.sample_signals import generate_signals
from tests.conftest import TEST_PROVINCE

# The province of the ``engine`` fixture (Ninh Bình): its first communes hold the registers.
PROVINCE = TEST_PROVINCE
AS_OF = date(2026, 3, 2)
NOW = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)


def province_register(units_csv: Path, communes: int = 3, seed: int = 7) -> list[Asset]:
    """A realistic register (DOMAIN.md §5 fleet model) for the first ``communes`` communes."""
    return generate_register(units_csv, PROVINCE, seed=seed, as_of=AS_OF, max_communes=communes)


LAI_CHAU_BUDGET = 3_000_000_000


def lai_chau_plan(
    units_csv: Path, tables: LifeTables, prices: PriceTable
) -> tuple[list[Asset], dict[str, PriorityScore], Plan]:
    """Lai Châu's whole register with a year of synthetic signals, planned on 3 billion đồng."""
    assets = generate_register(units_csv, "12", seed=5, as_of=AS_OF)
    scores = score_assets(assets, tables, as_of=AS_OF, signals=generate_signals(assets, seed=5))
    names = {unit.commune_code: unit.commune_name for unit in load_units(units_csv)}
    plan = build_plan(
        assets, scores, prices, LAI_CHAU_BUDGET, tables=tables, as_of=AS_OF, commune_names=names
    )
    return assets, scores, plan


def add_agent(engine: Engine, agent_id: str, commune_code: str) -> None:
    """An enrolled agent row, as ``agents.enrol`` leaves it (device_state refers to it)."""
    with engine.begin() as conn:
        conn.execute(
            insert(agents),
            {
                "id": agent_id,
                "commune_code": commune_code,
                "token_hash": f"hash-{agent_id}",
                "hostname": agent_id,
                "created_at": NOW,
            },
        )


def add_device(
    engine: Engine,
    *,
    agent_id: str,
    commune_code: str,
    device_id: str,
    kind: str,
    facts: dict[str, str],
    measured_at: datetime = NOW,
) -> None:
    """A device_state row as the processor writes it after a report."""
    with engine.begin() as conn:
        conn.execute(
            insert(device_state),
            {
                "commune_code": commune_code,
                "device_id": device_id,
                "agent_id": agent_id,
                "kind": kind,
                "first_seen_at": measured_at,
                "measured_at": measured_at,
                "samples": "[]",
                "facts": json.dumps(facts),
            },
        )


def add_event(
    engine: Engine,
    *,
    agent_id: str,
    commune_code: str,
    device_id: str,
    type_: str,
    severity: str,
    measured_at: datetime,
    journal_id: int = 1,
) -> None:
    """An event row as the processor stores it from a report."""
    from collector.schema import events

    with engine.begin() as conn:
        conn.execute(
            insert(events),
            {
                "commune_code": commune_code,
                "device_id": device_id,
                "agent_id": agent_id,
                "type": type_,
                "severity": severity,
                "message": type_,
                "attrs": "{}",
                "measured_at": measured_at,
                "journal_id": journal_id,
            },
        )

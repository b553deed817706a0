"""Register and upgrade-plan gauges on /metrics (inventory/metrics.py), on both stores: counts by
age band of the held assets, assets past their life, and the plan's candidates and their cost,
equal to what the register, the ranking and an unlimited-budget plan say; computed in the
background, never by a scrape."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine, create_engine, text

from collector.settings import Settings
from inventory.metrics import AGE_BANDS, InventoryCollector, age_band
from inventory.models import AssetStatus
from inventory.register_writer import register_to_csv
from inventory.reports import InventoryConfig, budget_plan, ranking
from inventory.store import import_register
from province import migrate
from province.service import build_service
from tests.fakes import FakeClock
from tests.inventory.builders import AS_OF, NOW, PROVINCE, province_register

REFRESH = 300.0
Families = dict[str, dict[tuple[tuple[str, str], ...], float]]


def _scrape(collector: InventoryCollector) -> Families:
    """What a scrape shows now (it never computes)."""
    registry = CollectorRegistry()
    registry.register(collector)
    out: Families = {}
    for family in text_string_to_metric_families(generate_latest(registry).decode()):
        for sample in family.samples:
            out.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return out


def _refreshed(collector: InventoryCollector) -> Families:
    """The figures after a computation, as the service's timer runs it."""
    collector.refresh()
    return _scrape(collector)


def _total(families: Families, name: str) -> float:
    return sum(families.get(name, {}).values())


def _years(put_into_use_days: int, used_before: int) -> float:
    return put_into_use_days / 365.25 + used_before


def test_held_assets_are_counted_by_age_band_commune_and_kind(
    engine: Engine, units_csv: Path
) -> None:
    register = province_register(units_csv, communes=3)
    # One disposed of: a register line still, but no longer held.
    retired = register[0].model_copy(
        update={"asset_tag": "RETIRED-1", "serial": None, "status": AssetStatus.RETIRED}
    )
    register.append(retired)
    import_register(engine, register_to_csv(register), filename="r.csv", now=NOW)
    scraped = _refreshed(InventoryCollector(engine, FakeClock(NOW)))
    # Expected from the register lines themselves: held assets only, bands by whole years.
    bounds = [(1, "0-1"), (3, "1-3"), (5, "3-5"), (7, "5-7")]
    expected: Counter[tuple[tuple[str, str], ...]] = Counter()
    for asset in register:
        if asset.status not in (AssetStatus.IN_USE, AssetStatus.BROKEN):
            continue
        years = _years((AS_OF - asset.put_into_use).days, asset.years_used_before_purchase)
        band = next((label for bound, label in bounds if years < bound), "7+")
        labels = {
            "province": PROVINCE,
            "commune_code": asset.commune_code,
            "kind": asset.kind.value,
            "age_band": band,
        }
        expected[tuple(sorted(labels.items()))] += 1
    assert scraped["cm_assets"] == {key: float(n) for key, n in expected.items()}
    # The register really spans bands and holds assets that are not counted (retired ones).
    assert len({dict(key)["age_band"] for key in expected}) >= 3
    assert sum(expected.values()) < len(register)


def test_candidates_and_their_cost_are_what_an_unlimited_plan_replaces(
    engine: Engine, units_csv: Path
) -> None:
    register = province_register(units_csv, communes=3)
    import_register(engine, register_to_csv(register), filename="r.csv", now=NOW)
    scraped = _refreshed(InventoryCollector(engine, FakeClock(NOW)))
    config = InventoryConfig()
    scores = ranking(engine, config, now=NOW)
    assert _total(scraped, "cm_assets_past_life") == sum(s.past_life for s in scores) > 0
    # With money for everything, the plan replaces every candidate: the ranked list's cost.
    plan = budget_plan(engine, config, 10**13, now=NOW)
    assert plan.replacements == plan.candidates > 0
    assert _total(scraped, "cm_upgrade_candidates") == plan.replacements
    assert _total(scraped, "cm_upgrade_candidates_cost_vnd") == plan.spent
    by_commune: Counter[str] = Counter()
    for key, value in scraped["cm_upgrade_candidates_cost_vnd"].items():
        by_commune[dict(key)["commune_code"]] += int(value)
    assert by_commune == {s.commune_code: s.cost for s in plan.communes if s.cost}
    assert {dict(key)["province"] for key in scraped["cm_upgrade_candidates"]} == {PROVINCE}


def test_a_scrape_serves_the_last_figures_and_never_computes(
    engine: Engine, units_csv: Path
) -> None:
    register = province_register(units_csv, communes=4)
    first, later = register[:40], register[40:]
    import_register(engine, register_to_csv(first), filename="a.csv", now=NOW)
    clock = FakeClock(NOW)
    collector = InventoryCollector(engine, clock, refresh_seconds=REFRESH)
    # Before the first computation: nothing of the register, and the scrape does not wait.
    assert "cm_assets" not in _scrape(collector)
    before = _refreshed(collector)
    import_register(engine, register_to_csv(later), filename="b.csv", now=NOW)
    clock.advance(2 * REFRESH)
    assert _scrape(collector) == before  # the register changed: the figures wait for a refresh
    after = _refreshed(collector)
    held = [a for a in register if a.status in (AssetStatus.IN_USE, AssetStatus.BROKEN)]
    assert _total(after, "cm_assets") == len(held) > _total(before, "cm_assets")
    assert (
        after["cm_inventory_figures_timestamp_seconds"][()]
        == before["cm_inventory_figures_timestamp_seconds"][()] + 2 * REFRESH
    )


async def test_the_timer_computes_them_in_the_background_once_scraped(
    engine: Engine, units_csv: Path
) -> None:
    register = province_register(units_csv, communes=2)
    import_register(engine, register_to_csv(register), filename="r.csv", now=NOW)
    collector = InventoryCollector(engine, FakeClock(NOW), refresh_seconds=REFRESH)
    async with collector.running():
        # The first scrape asks for them (a process nobody scrapes never computes them) and
        # does not wait for them.
        assert "cm_assets" not in await asyncio.to_thread(_scrape, collector)
        await asyncio.wait_for(collector.refreshed.wait(), timeout=60)
        scraped = _scrape(collector)
    held = sum(a.status in (AssetStatus.IN_USE, AssetStatus.BROKEN) for a in register)
    assert _total(scraped, "cm_assets") == held > 0


def test_a_failing_computation_keeps_the_last_figures(engine: Engine, units_csv: Path) -> None:
    register = province_register(units_csv, communes=2)
    import_register(engine, register_to_csv(register), filename="r.csv", now=NOW)
    clock = FakeClock(NOW)
    collector = InventoryCollector(engine, clock, refresh_seconds=REFRESH)
    before = _refreshed(collector)
    assert _total(before, "cm_assets") > 0
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE inventory_assets RENAME TO inventory_assets_gone"))
    clock.advance(REFRESH)
    # The scrape still answers, with the figures (and their timestamp) of the last success.
    assert _refreshed(collector) == before


def test_isolated_they_are_computed_in_a_worker_process_with_the_same_figures(
    engine: Engine, units_csv: Path
) -> None:
    register = province_register(units_csv, communes=2)
    import_register(engine, register_to_csv(register), filename="r.csv", now=NOW)
    clock = FakeClock(NOW)
    in_thread = _refreshed(InventoryCollector(engine, clock))
    collector = InventoryCollector(engine, clock, isolated=True)
    try:
        isolated = _refreshed(collector)
        assert collector._worker is not None  # the pass ran in the worker process
        durations = "cm_inventory_figures_duration_seconds"
        assert {k: v for k, v in isolated.items() if k != durations} == {
            k: v for k, v in in_thread.items() if k != durations
        }
        # A failure in the worker keeps the last figures, as in a thread.
        with engine.begin() as conn:
            conn.execute(text("ALTER TABLE inventory_assets RENAME TO inventory_assets_gone"))
        clock.advance(REFRESH)
        assert _refreshed(collector) == isolated
    finally:
        collector.close()
    assert collector._worker is None


def test_a_store_in_memory_is_computed_in_the_thread() -> None:
    memory = create_engine("sqlite://")
    migrate.upgrade(memory)
    collector = InventoryCollector(memory, FakeClock(NOW), isolated=True)
    # No other process can open it: the isolation is dropped, not the figures.
    assert "cm_inventory_figures_timestamp_seconds" in _refreshed(collector)
    assert collector._worker is None


def test_an_empty_register_gives_empty_families(engine: Engine) -> None:
    scraped = _refreshed(InventoryCollector(engine, FakeClock(NOW)))
    assert "cm_assets" not in scraped
    assert scraped["cm_inventory_figures_timestamp_seconds"][()] == NOW.timestamp()


async def test_the_service_exposes_them_on_metrics(
    engine: Engine, settings: Settings, units_csv: Path
) -> None:
    register = province_register(units_csv, communes=1)
    import_register(engine, register_to_csv(register), filename="r.csv", now=NOW)
    # Where the journal is processed elsewhere too: the figures serve this process's scrapes.
    service = build_service(
        settings.model_copy(update={"run_processor": False}), clock=FakeClock(NOW), engine=engine
    )
    assert service.inventory is not None
    async with service.running():
        first = await asyncio.to_thread(service.exposition)  # asks for the figures
        await asyncio.wait_for(service.inventory.refreshed.wait(), timeout=60)
        body = service.exposition().decode()
    assert b"cm_assets{" not in first
    held = sum(a.status in (AssetStatus.IN_USE, AssetStatus.BROKEN) for a in register)
    families = {f.name: f for f in text_string_to_metric_families(body)}
    assert sum(s.value for s in families["cm_assets"].samples) == held


def test_age_bands_cover_every_age_in_order() -> None:
    labels = [label for _, label in AGE_BANDS]
    assert labels == sorted(labels)  # Grafana lists them in this order
    assert [age_band(x) for x in (0.0, 0.99, 1.0, 4.99, 5.0, 6.99, 7.0, 40.0)] == [
        "0-1",
        "0-1",
        "1-3",
        "3-5",
        "5-7",
        "5-7",
        "7+",
        "7+",
    ]

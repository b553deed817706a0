"""Register and upgrade-plan gauges on /metrics (inventory/metrics.py), on both stores: counts by
age band of the held assets, assets past their life, and the plan's candidates and their cost,
equal to what the register, the ranking and an unlimited-budget plan say; cached on the clock."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine, text

from collector.service import build_service
from collector.settings import Settings
from inventory.metrics import AGE_BANDS, InventoryCollector, age_band
from inventory.models import AssetStatus
from inventory.register_io import register_to_csv
from inventory.reports import InventoryConfig, budget_plan, ranking
from inventory.store import import_register
from tests.fakes import FakeClock
from tests.inventory.builders import AS_OF, NOW, PROVINCE, province_register

REFRESH = 300.0
Families = dict[str, dict[tuple[tuple[str, str], ...], float]]


def _scrape(collector: InventoryCollector) -> Families:
    registry = CollectorRegistry()
    registry.register(collector)
    out: Families = {}
    for family in text_string_to_metric_families(generate_latest(registry).decode()):
        for sample in family.samples:
            out.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return out


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
    scraped = _scrape(InventoryCollector(engine, FakeClock(NOW)))
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
    scraped = _scrape(InventoryCollector(engine, FakeClock(NOW)))
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


def test_figures_are_cached_until_the_refresh_is_due(engine: Engine, units_csv: Path) -> None:
    register = province_register(units_csv, communes=4)
    first, later = register[:40], register[40:]
    import_register(engine, register_to_csv(first), filename="a.csv", now=NOW)
    clock = FakeClock(NOW)
    collector = InventoryCollector(engine, clock, refresh_seconds=REFRESH)
    before = _scrape(collector)
    import_register(engine, register_to_csv(later), filename="b.csv", now=NOW)
    clock.advance(REFRESH - 1)
    assert _scrape(collector) == before  # the register changed, the figures not yet
    clock.advance(1)
    after = _scrape(collector)
    held = [a for a in register if a.status in (AssetStatus.IN_USE, AssetStatus.BROKEN)]
    assert _total(after, "cm_assets") == len(held) > _total(before, "cm_assets")
    assert (
        after["cm_inventory_figures_timestamp_seconds"][()]
        == before["cm_inventory_figures_timestamp_seconds"][()] + REFRESH
    )


def test_a_failing_computation_keeps_the_last_figures(engine: Engine, units_csv: Path) -> None:
    register = province_register(units_csv, communes=2)
    import_register(engine, register_to_csv(register), filename="r.csv", now=NOW)
    clock = FakeClock(NOW)
    collector = InventoryCollector(engine, clock, refresh_seconds=REFRESH)
    before = _scrape(collector)
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE inventory_assets RENAME TO inventory_assets_gone"))
    clock.advance(REFRESH)
    # The scrape still answers, with the figures (and their timestamp) of the last success.
    assert _scrape(collector) == before


def test_an_empty_register_gives_empty_families(engine: Engine) -> None:
    scraped = _scrape(InventoryCollector(engine, FakeClock(NOW)))
    assert "cm_assets" not in scraped
    assert scraped["cm_inventory_figures_timestamp_seconds"][()] == NOW.timestamp()


def test_the_service_exposes_them_on_metrics(
    engine: Engine, settings: Settings, units_csv: Path
) -> None:
    register = province_register(units_csv, communes=1)
    import_register(engine, register_to_csv(register), filename="r.csv", now=NOW)
    service = build_service(settings, clock=FakeClock(NOW), engine=engine)
    body = service.exposition().decode()
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

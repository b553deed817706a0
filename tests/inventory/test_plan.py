"""Budget plan: coverage honoured, budget never exceeded, optimal against brute force, XLSX."""

from __future__ import annotations

import random
from datetime import date, timedelta
from pathlib import Path

import pytest

from inventory.errors import PlanError
from inventory.lives import LifeTables
from inventory.models import Asset, AssetKind, AssetStatus
from inventory.plan import PlanSettings, build_plan, greedy_reference
from inventory.prices import PriceTable, load_price_table
from inventory.priority import PriorityScore, score_assets
from tests.inventory.builders import LAI_CHAU_BUDGET, lai_chau_plan

AS_OF = date(2026, 3, 2)


@pytest.fixture(scope="module")
def prices() -> PriceTable:
    return load_price_table()


def make(tag: str, kind: str, commune: str, put: date, **extra: object) -> Asset:
    fields: dict[str, object] = {
        "asset_tag": tag,
        "kind": kind,
        "commune_code": commune,
        "put_into_use": put,
        "room": "Quầy 1",
    }
    fields.update(extra)
    return Asset.model_validate(fields)


def scenario() -> list[Asset]:
    old = date(2017, 1, 1)
    return [
        # Commune 00070: both printers out (one broken, one past its 7-year life).
        make("A-MI-1", "printer", "00070", old, status="broken", status_since=date(2026, 1, 5)),
        make("A-MI-2", "printer", "00070", old),
        make("A-MT-1", "pc", "00070", old, original_cost=15_000_000, status="broken"),
        make("A-MT-2", "pc", "00070", old, original_cost=15_000_000),
        # Commune 00004: one printer still fine, so no constraint there.
        make("B-MI-1", "printer", "00004", date(2024, 1, 1)),
        make("B-MT-1", "pc", "00004", old, original_cost=14_000_000, status="broken"),
    ]


def scored(assets: list[Asset], tables: LifeTables) -> dict[str, PriorityScore]:
    return score_assets(assets, tables, as_of=AS_OF)


def test_printer_rule_is_honoured_when_affordable(tables: LifeTables, prices: PriceTable) -> None:
    assets = scenario()
    scores = scored(assets, tables)
    # The PCs score higher than the printers...
    assert scores["A-MT-1"].points > scores["A-MI-1"].points
    # ...but with room for one PC and one printer, commune 00070 gets its printer back.
    budget = 16_500_000 + 4_800_000
    plan = build_plan(assets, scores, prices, budget, tables=tables, as_of=AS_OF)
    chosen = {line.asset_tag for line in plan.lines}
    assert len(chosen & {"A-MI-1", "A-MI-2"}) == 1
    assert plan.spent <= budget
    [coverage] = [c for c in plan.coverage if c.rule_id == "printer_per_commune"]
    assert (coverage.commune_code, coverage.met) == ("00070", True)
    printer_line = next(line for line in plan.lines if line.kind is AssetKind.PRINTER)
    assert printer_line.coverage_rule == "printer_per_commune"
    assert "ít nhất một máy in hoạt động" in printer_line.reason_vi
    assert "At least one working printer" in printer_line.reason_en
    assert plan.proven_optimal


def test_unaffordable_rule_is_reported_not_met(tables: LifeTables, prices: PriceTable) -> None:
    assets = scenario()
    plan = build_plan(assets, scored(assets, tables), prices, 4_000_000, tables=tables, as_of=AS_OF)
    assert plan.lines == ()
    [coverage] = plan.coverage
    assert not coverage.met
    assert "4.800.000 đ" in coverage.note_vi
    summary = next(c for c in plan.communes if c.commune_code == "00070")
    assert summary.unmet_rules == ("printer_per_commune",)


def test_budget_is_never_exceeded_and_totals_add_up(tables: LifeTables, prices: PriceTable) -> None:
    assets = scenario()
    scores = scored(assets, tables)
    for budget in range(0, 60_000_001, 1_700_000):
        plan = build_plan(
            assets,
            scores,
            prices,
            budget,
            tables=tables,
            as_of=AS_OF,
            settings=PlanSettings(min_score=0),
        )
        assert plan.spent == sum(line.price for line in plan.lines) <= budget
        assert plan.remaining == budget - plan.spent
        assert sum(c.cost for c in plan.communes) == plan.spent
        assert sum(c.replacements for c in plan.communes) == plan.replacements


def test_missing_scores_and_negative_budget(tables: LifeTables, prices: PriceTable) -> None:
    assets = scenario()
    with pytest.raises(PlanError, match="no priority score"):
        build_plan(assets, {}, prices, 1, tables=tables, as_of=AS_OF)
    with pytest.raises(PlanError, match="negative"):
        build_plan(assets, scored(assets, tables), prices, -5, tables=tables, as_of=AS_OF)
    with pytest.raises(ValueError, match="must not share kinds"):
        PlanSettings(
            coverage_rules=(
                *PlanSettings().coverage_rules,
                {"id": "x", "kinds": ["printer"], "name_vi": "x", "name_en": "x"},
            )
        )


def random_register(rng: random.Random) -> list[Asset]:
    assets: list[Asset] = []
    kinds = ["pc", "printer", "scanner", "mfp", "router"]
    for index in range(rng.randint(3, 11)):
        status = rng.choice(["in_use", "in_use", "broken", "retired"])
        put = date(2026, 1, 1) - timedelta(days=rng.randint(100, 12 * 365))
        assets.append(
            make(
                f"R-{index}",
                rng.choice(kinds),
                rng.choice(["00070", "00004"]),
                put,
                original_cost=rng.choice([None, 4_000_000, 15_000_000]),
                status=status,
                status_since=date(2026, 1, 10) if status != "in_use" else None,
                room=rng.choice(["Quầy 2", "Phòng chuyên môn"]),
            )
        )
    return assets


def brute_force_plan(
    assets: list[Asset],
    scores: dict[str, PriorityScore],
    prices: PriceTable,
    budget: int,
    min_score: float,
) -> tuple[int, int]:
    """(rules met, points) of the best plan, re-deriving the rule's definition independently."""
    rules = [{AssetKind.PRINTER, AssetKind.MFP}, {AssetKind.SCANNER}]
    held = [a for a in assets if a.status in (AssetStatus.IN_USE, AssetStatus.BROKEN)]
    groups: list[set[str]] = []
    for kinds in rules:
        for commune in {a.commune_code for a in held}:
            members = [a for a in held if a.kind in kinds and a.commune_code == commune]
            working = [
                a
                for a in members
                if a.status is AssetStatus.IN_USE and not scores[a.asset_tag].past_life
            ]
            if members and not working:
                groups.append({a.asset_tag for a in members})
    in_groups = set().union(*groups) if groups else set()
    candidates = [
        a for a in held if scores[a.asset_tag].score >= min_score or a.asset_tag in in_groups
    ]
    best = (-1, -1)
    for mask in range(1 << len(candidates)):
        chosen = [a for k, a in enumerate(candidates) if mask >> k & 1]
        if sum(prices.kinds[a.kind].price_vnd for a in chosen) > budget:
            continue
        tags = {a.asset_tag for a in chosen}
        met = sum(1 for group in groups if group & tags)
        best = max(best, (met, sum(scores[a.asset_tag].points for a in chosen)))
    return best


def test_plan_is_optimal_against_brute_force(tables: LifeTables, prices: PriceTable) -> None:
    rng = random.Random(20260302)
    for _ in range(40):
        assets = random_register(rng)
        scores = scored(assets, tables)
        budget = rng.randint(0, 60_000_000)
        min_score = rng.choice([0.0, 30.0, 45.0])
        plan = build_plan(
            assets,
            scores,
            prices,
            budget,
            tables=tables,
            as_of=AS_OF,
            settings=PlanSettings(min_score=min_score),
        )
        met = sum(1 for c in plan.coverage if c.met)
        assert (met, plan.objective_points) == brute_force_plan(
            assets, scores, prices, budget, min_score
        )
        assert plan.spent <= budget


def test_province_plan_is_proven_optimal_and_restores_every_commune(
    tables: LifeTables, prices: PriceTable, units_csv: Path
) -> None:
    assets, scores, plan = lai_chau_plan(units_csv, tables, prices)
    assert plan.proven_optimal
    assert 0 < plan.spent <= LAI_CHAU_BUDGET
    assert all(c.met for c in plan.coverage)
    greedy = greedy_reference(assets, scores, prices, LAI_CHAU_BUDGET, tables=tables)
    assert greedy.cost <= LAI_CHAU_BUDGET
    assert plan.lines[0].commune_name.startswith(("Xã", "Phường"))

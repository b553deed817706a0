"""Wear (hao mòn) schedules: worked examples computed by hand, then invariants.

Each example writes the arithmetic in comments; the expected rows are typed in from that
arithmetic, not from the code. Tables: 23/2023 desktop 5 yr / 20 %, 141/2025 desktop 7 yr /
14.29 %, "other equipment" 5 yr / 20 % in both (inventory/lives.yaml).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from inventory.lives import (
    LifeTables,
    ProvinceOverrides,
    apply_province_overrides,
)
from inventory.models import Asset, AssetKind, AssetStatus, Revaluation
from inventory.wear import (
    FirstYearRule,
    WearMethod,
    WearRow,
    WearSettings,
    wear_schedule,
)

AS_OF = date(2026, 6, 30)


def pc(cost: int | None, put: date, **extra: object) -> Asset:
    return Asset.model_validate(
        {
            "asset_tag": extra.pop("tag", "TS-01"),
            "kind": extra.pop("kind", AssetKind.PC),
            "commune_code": "00070",
            "put_into_use": put,
            "original_cost": cost,
            **extra,
        }
    )


def table(schedule_rows: list[WearRow]) -> list[tuple[int, int, int, int]]:
    """(year, wear, accumulated, remaining) of each row."""
    return [(r.year, r.wear, r.accumulated, r.remaining) for r in schedule_rows]


def test_desktop_2023_crosses_the_2026_transition(tables: LifeTables) -> None:
    # Desktop, cost 15,000,000, put into use 08/2023. The year it is put into use counts in full.
    # 23/2023: 15,000,000 × 20 % = 3,000,000 a year.
    #   2023: 3,000,000 → accumulated 3,000,000, remaining 12,000,000
    #   2024: 3,000,000 → 6,000,000 / 9,000,000
    #   2025: 3,000,000 → 9,000,000 / 6,000,000
    # 141/2025 changes the life 5 → 7 years, so Art. 18.1 applies from 2026:
    #   years used = 2023, 2024, 2025 = 3; remaining life = 7 − 3 = 4
    #   annual wear = (15,000,000 − 9,000,000) ÷ 4 = 1,500,000
    #   2026: 1,500,000 → 10,500,000 / 4,500,000
    #   2027: 1,500,000 → 12,000,000 / 3,000,000
    #   2028: 1,500,000 → 13,500,000 / 1,500,000
    #   2029 (last year of the 4): 15,000,000 − 13,500,000 = 1,500,000 → 15,000,000 / 0
    #   2030: fully worn, no wear.
    schedule = wear_schedule(
        pc(15_000_000, date(2023, 8, 15)), tables, as_of=AS_OF, through_year=2030
    )
    assert table(list(schedule.rows)) == [
        (2023, 3_000_000, 3_000_000, 12_000_000),
        (2024, 3_000_000, 6_000_000, 9_000_000),
        (2025, 3_000_000, 9_000_000, 6_000_000),
        (2026, 1_500_000, 10_500_000, 4_500_000),
        (2027, 1_500_000, 12_000_000, 3_000_000),
        (2028, 1_500_000, 13_500_000, 1_500_000),
        (2029, 1_500_000, 15_000_000, 0),
        (2030, 0, 15_000_000, 0),
    ]
    methods = [row.method for row in schedule.rows]
    assert methods == [
        WearMethod.STRAIGHT_LINE,
        WearMethod.STRAIGHT_LINE,
        WearMethod.STRAIGHT_LINE,
        WearMethod.TRANSITION,
        WearMethod.TRANSITION,
        WearMethod.TRANSITION,
        WearMethod.LAST_YEAR,
        WearMethod.FULLY_WORN,
    ]
    assert [row.rule_set for row in schedule.rows[2:4]] == ["tt23_2023", "tt141_2025"]
    assert schedule.rows[3].rate_percent == Decimal("14.29")
    assert schedule.rows[3].life_years == 7
    # 31/12/2025 is before the as-of date, 31/12/2026 after it.
    assert not schedule.rows[2].projected
    assert schedule.rows[3].projected


def test_the_first_year_rule_is_a_setting(tables: LifeTables) -> None:
    # Same desktop with wear from the year after it is put into use:
    #   2024: 3,000,000 → 3,000,000 / 12,000,000; 2025: 3,000,000 → 6,000,000 / 9,000,000
    # years used at 31/12/2025 = 2024, 2025 = 2; remaining life = 7 − 2 = 5
    #   annual from 2026 = 9,000,000 ÷ 5 = 1,800,000; 2026–2030, the 2030 row taking the rest.
    schedule = wear_schedule(
        pc(15_000_000, date(2023, 8, 15)),
        tables,
        as_of=AS_OF,
        through_year=2031,
        settings=WearSettings(first_year=FirstYearRule.FROM_NEXT_YEAR),
    )
    assert table(list(schedule.rows)) == [
        (2024, 3_000_000, 3_000_000, 12_000_000),
        (2025, 3_000_000, 6_000_000, 9_000_000),
        (2026, 1_800_000, 7_800_000, 7_200_000),
        (2027, 1_800_000, 9_600_000, 5_400_000),
        (2028, 1_800_000, 11_400_000, 3_600_000),
        (2029, 1_800_000, 13_200_000, 1_800_000),
        (2030, 1_800_000, 15_000_000, 0),
        (2031, 0, 15_000_000, 0),
    ]


def test_printer_under_ten_million_has_no_wear(tables: LifeTables) -> None:
    # An A4 printer at 4,800,000 VND is below the 10,000,000 VND threshold (Art. 3.2b): a tool,
    # with an age but no wear rows.
    printer = pc(4_800_000, date(2022, 3, 1), kind=AssetKind.PRINTER)
    schedule = wear_schedule(printer, tables, as_of=AS_OF)
    assert not printer.is_fixed_asset
    assert not schedule.is_fixed_asset
    assert schedule.rows == ()
    assert "10.000.000" in schedule.note_vi
    assert schedule.remaining_at(2026) is None


def test_pc_fully_worn_before_2026_stays_at_zero(tables: LifeTables) -> None:
    # Desktop 14,000,000 put into use 03/2018, still in use.
    # 14,000,000 × 20 % = 2,800,000 a year, 2018–2022; 2022 is the 5th (last) year:
    #   2018: 2,800,000 / 11,200,000   2019: 5,600,000 / 8,400,000   2020: 8,400,000 / 5,600,000
    #   2021: 11,200,000 / 2,800,000   2022: 14,000,000 / 0
    # 2023–2025: fully worn. 2026: remaining value 0, so Art. 18.1 gives no wear either.
    schedule = wear_schedule(pc(14_000_000, date(2018, 3, 1)), tables, as_of=AS_OF)
    assert table(list(schedule.rows)) == [
        (2018, 2_800_000, 2_800_000, 11_200_000),
        (2019, 2_800_000, 5_600_000, 8_400_000),
        (2020, 2_800_000, 8_400_000, 5_600_000),
        (2021, 2_800_000, 11_200_000, 2_800_000),
        (2022, 2_800_000, 14_000_000, 0),
        (2023, 0, 14_000_000, 0),
        (2024, 0, 14_000_000, 0),
        (2025, 0, 14_000_000, 0),
        (2026, 0, 14_000_000, 0),
    ]
    assert schedule.rows[4].method is WearMethod.LAST_YEAR
    assert {row.method for row in schedule.rows[5:]} == {WearMethod.FULLY_WORN}


def test_broken_asset_stops_wearing_the_year_it_broke(tables: LifeTables) -> None:
    # Desktop 20,000,000 put into use 01/2024, broke 04/05/2026 (Art. 11.3d: no further wear).
    #   2024: 20,000,000 × 20 % = 4,000,000 → 4,000,000 / 16,000,000
    #   2025: 4,000,000 → 8,000,000 / 12,000,000
    #   2026: broken at 31/12 → 0, the book value stays 12,000,000; 2027 likewise.
    broken = pc(
        20_000_000,
        date(2024, 1, 10),
        status=AssetStatus.BROKEN,
        status_since=date(2026, 5, 4),
    )
    schedule = wear_schedule(broken, tables, as_of=AS_OF, through_year=2027)
    assert table(list(schedule.rows)) == [
        (2024, 4_000_000, 4_000_000, 16_000_000),
        (2025, 4_000_000, 8_000_000, 12_000_000),
        (2026, 0, 8_000_000, 12_000_000),
        (2027, 0, 8_000_000, 12_000_000),
    ]
    assert [row.method for row in schedule.rows[2:]] == [WearMethod.BROKEN] * 2


def test_broken_without_a_date_is_broken_from_the_register_date(tables: LifeTables) -> None:
    broken = pc(20_000_000, date(2024, 1, 10), status=AssetStatus.BROKEN)
    schedule = wear_schedule(broken, tables, as_of=date(2025, 11, 3))
    # 2024 was booked; 2025 (the register's year) has no wear.
    assert table(list(schedule.rows)) == [
        (2024, 4_000_000, 4_000_000, 16_000_000),
        (2025, 0, 4_000_000, 16_000_000),
    ]


def test_retired_asset_leaves_the_books(tables: LifeTables) -> None:
    retired = pc(
        15_000_000,
        date(2023, 8, 15),
        status=AssetStatus.RETIRED,
        status_since=date(2026, 2, 1),
    )
    schedule = wear_schedule(retired, tables, as_of=AS_OF, through_year=2028)
    assert [row.year for row in schedule.rows] == [2023, 2024, 2025]


def test_desktop_bought_in_2026(tables: LifeTables) -> None:
    # Desktop 15,000,000 put into use 02/2026: 141/2025 from the start, no transition.
    #   15,000,000 × 14.29 % = 2,143,500 a year, 2026–2031 (6 years) → 12,861,000 accumulated
    #   2032 is the 7th and last year: 15,000,000 − 12,861,000 = 2,139,000
    schedule = wear_schedule(
        pc(15_000_000, date(2026, 2, 1)), tables, as_of=AS_OF, through_year=2033
    )
    assert table(list(schedule.rows)) == [
        (2026, 2_143_500, 2_143_500, 12_856_500),
        (2027, 2_143_500, 4_287_000, 10_713_000),
        (2028, 2_143_500, 6_430_500, 8_569_500),
        (2029, 2_143_500, 8_574_000, 6_426_000),
        (2030, 2_143_500, 10_717_500, 4_282_500),
        (2031, 2_143_500, 12_861_000, 2_139_000),
        (2032, 2_139_000, 15_000_000, 0),
        (2033, 0, 15_000_000, 0),
    ]
    assert schedule.rows[-2].method is WearMethod.LAST_YEAR


def province(rate: str, life: int | None = None) -> ProvinceOverrides:
    return ProvinceOverrides.model_validate(
        {
            "schema": 1,
            "province": "Tỉnh Thử nghiệm",
            "overrides": [
                {
                    "rule_set": "tt141_2025",
                    "asset_class": "desktop_pc",
                    "rate_percent": rate,
                    "life_years": life,
                    "decision": "Quyết định số 01/2026/QĐ-UBND (giả định)",
                }
            ],
        }
    )


def test_province_override_of_plus_twenty_percent(tables: LifeTables) -> None:
    # The province raises the desktop rate by 20 %: 14.29 % × 1.2 = 17.148 % (the limit, allowed).
    # Life = ceil(100 ÷ 17.148) = ceil(5.83) = 6 years.
    # Desktop 15,000,000 bought 2026: 15,000,000 × 17.148 % = 2,572,200 a year for 2026–2030
    #   → 5 × 2,572,200 = 12,861,000; 2031 (6th, last): 15,000,000 − 12,861,000 = 2,139,000
    harsh = apply_province_overrides(tables, province("17.148"))
    rate = harsh.rate(2026, "desktop_pc")
    assert (rate.life_years, rate.rate_percent, rate.base_rate_percent) == (
        6,
        Decimal("17.148"),
        Decimal("14.29"),
    )
    schedule = wear_schedule(
        pc(15_000_000, date(2026, 2, 1)), harsh, as_of=AS_OF, through_year=2031
    )
    assert [row.wear for row in schedule.rows] == [2_572_200] * 5 + [2_139_000]
    assert schedule.rows[-1].remaining == 0
    # The packaged table itself is untouched.
    assert tables.rate(2026, "desktop_pc").rate_percent == Decimal("14.29")


def test_transition_when_the_new_life_is_already_past(tables: LifeTables) -> None:
    # A made-up 141/2025 table with a 3-year life (33.34 %) for "other equipment", to reach the
    # last sentence of Art. 18.1. Switch 10,000,000 put into use 2022:
    #   23/2023: 10,000,000 × 20 % = 2,000,000 a year, 2022–2025 → accumulated 8,000,000,
    #   remaining 2,000,000
    #   years used = 4 ≥ new life 3 with value left → 2026 wear = the whole 2,000,000.
    data = tables.model_dump(by_alias=True)
    data["rule_sets"][1]["rates"]["other_equipment"].update(
        {"life_years": 3, "rate_percent": Decimal("33.34")}
    )
    short = LifeTables.model_validate(data)
    switch = pc(10_000_000, date(2022, 5, 1), kind=AssetKind.SWITCH)
    schedule = wear_schedule(switch, short, as_of=AS_OF, through_year=2027)
    assert table(list(schedule.rows)) == [
        (2022, 2_000_000, 2_000_000, 8_000_000),
        (2023, 2_000_000, 4_000_000, 6_000_000),
        (2024, 2_000_000, 6_000_000, 4_000_000),
        (2025, 2_000_000, 8_000_000, 2_000_000),
        (2026, 2_000_000, 10_000_000, 0),
        (2027, 0, 10_000_000, 0),
    ]
    assert schedule.rows[4].method is WearMethod.TRANSITION_PAST_LIFE


def test_unchanged_class_continues_without_transition(tables: LifeTables) -> None:
    # "Other equipment" is 5 yr / 20 % in both tables: Art. 18.1 does not apply, the switch keeps
    # cost × rate. 12,500,000 × 20 % = 2,500,000 a year, 2024–2028.
    switch = pc(12_500_000, date(2024, 9, 1), kind=AssetKind.SWITCH)
    schedule = wear_schedule(switch, tables, as_of=AS_OF, through_year=2028)
    assert [row.wear for row in schedule.rows] == [2_500_000] * 5
    assert WearMethod.TRANSITION not in {row.method for row in schedule.rows}


def test_second_hand_purchase_in_2026(tables: LifeTables) -> None:
    # Desktop bought second-hand in 03/2026 for 12,000,000, already used 3 years (Art. 13.1h):
    # life = 7 − 3 = 4 years; annual wear = 12,000,000 ÷ 4 = 3,000,000 (Art. 14.9), 2026–2029.
    used = pc(12_000_000, date(2026, 3, 1), years_used_before_purchase=3)
    schedule = wear_schedule(used, tables, as_of=AS_OF, through_year=2030)
    assert table(list(schedule.rows)) == [
        (2026, 3_000_000, 3_000_000, 9_000_000),
        (2027, 3_000_000, 6_000_000, 6_000_000),
        (2028, 3_000_000, 9_000_000, 3_000_000),
        (2029, 3_000_000, 12_000_000, 0),
        (2030, 0, 12_000_000, 0),
    ]
    assert schedule.rows[0].method is WearMethod.SECOND_HAND


def test_second_hand_booked_before_2026_keeps_its_wear(tables: LifeTables) -> None:
    # Desktop bought second-hand in 05/2024 for 10,000,000 after 2 years of use:
    # 23/2023 life 5 − 2 = 3 years; 10,000,000 ÷ 3 = 3,333,333.33 → 3,333,333 (half up).
    #   2024: 3,333,333 / 6,666,667    2025: 6,666,666 / 3,333,334
    #   2026 is its last year: 3,333,334 (Art. 18.2: no re-computation under 141/2025)
    used = pc(10_000_000, date(2024, 5, 1), years_used_before_purchase=2)
    schedule = wear_schedule(used, tables, as_of=AS_OF, through_year=2027)
    assert table(list(schedule.rows)) == [
        (2024, 3_333_333, 3_333_333, 6_666_667),
        (2025, 3_333_333, 6_666_666, 3_333_334),
        (2026, 3_333_334, 10_000_000, 0),
        (2027, 0, 10_000_000, 0),
    ]


def test_revalued_inherited_equipment(tables: LifeTables) -> None:
    # A desktop inherited in the 2025 merger without books, revalued in 2026 (Art. 18.4):
    # cost 15,000,000, remaining value 6,000,000, remaining life 3 years.
    # Opening accumulated = 15,000,000 − 6,000,000 = 9,000,000;
    # annual wear = 6,000,000 ÷ 3 = 2,000,000 in 2026, 2027, 2028.
    inherited = pc(
        None,
        date(2019, 6, 1),
        revaluation=Revaluation(
            year=2026, cost=15_000_000, remaining_value=6_000_000, remaining_life_years=3
        ),
        previous_owner="UBND xã Xuân Hòa (cũ)",
    )
    assert inherited.is_fixed_asset
    schedule = wear_schedule(inherited, tables, as_of=AS_OF, through_year=2029)
    assert schedule.opening_accumulated == 9_000_000
    assert table(list(schedule.rows)) == [
        (2026, 2_000_000, 11_000_000, 4_000_000),
        (2027, 2_000_000, 13_000_000, 2_000_000),
        (2028, 2_000_000, 15_000_000, 0),
        (2029, 0, 15_000_000, 0),
    ]
    assert schedule.remaining_at(2025) == 6_000_000


def test_revalued_cost_only_wears_as_if_booked(tables: LifeTables) -> None:
    # Revalued in 2026 at a cost of 15,000,000 with no remaining value or life recorded; put into
    # use 04/2022. As if booked: 2022–2025 at 3,000,000 → remaining 3,000,000 at 31/12/2025;
    # remaining life = 7 − 4 years used = 3 → 1,000,000 a year in 2026, 2027, 2028.
    inherited = pc(None, date(2022, 4, 1), revaluation=Revaluation(year=2026, cost=15_000_000))
    schedule = wear_schedule(inherited, tables, as_of=AS_OF, through_year=2028)
    assert schedule.opening_accumulated == 12_000_000
    assert [row.wear for row in schedule.rows] == [1_000_000] * 3
    assert schedule.rows[-1].remaining == 0


def test_unknown_cost_without_revaluation_has_no_wear(tables: LifeTables) -> None:
    schedule = wear_schedule(pc(None, date(2019, 1, 1)), tables, as_of=AS_OF)
    assert schedule.rows == ()
    assert "Chưa rõ nguyên giá" in schedule.note_vi


@settings(max_examples=200, deadline=None)
@given(
    cost=st.integers(min_value=10_000_000, max_value=2_000_000_000),
    put=st.dates(min_value=date(2005, 1, 1), max_value=date(2030, 12, 31)),
    kind=st.sampled_from(list(AssetKind)),
    used=st.integers(min_value=0, max_value=8),
    first_year=st.sampled_from(list(FirstYearRule)),
)
def test_invariants_of_every_schedule(
    tables: LifeTables,
    cost: int,
    put: date,
    kind: AssetKind,
    used: int,
    first_year: FirstYearRule,
) -> None:
    asset = pc(cost, put, kind=kind, years_used_before_purchase=used)
    schedule = wear_schedule(
        asset,
        tables,
        as_of=date(2031, 1, 1),
        through_year=2060,
        settings=WearSettings(first_year=first_year),
    )
    accumulated = schedule.opening_accumulated
    fully_worn = False
    for row in schedule.rows:
        assert row.wear >= 0
        assert isinstance(row.wear, int)
        accumulated += row.wear
        assert row.accumulated == accumulated
        assert row.remaining == cost - accumulated >= 0
        if fully_worn:
            assert row.wear == 0
        fully_worn = row.remaining == 0
    # An asset in use is always fully worn in the end, and never worn for more than
    # max(old life, new life) + 1 years.
    assert schedule.rows[-1].remaining == 0
    worn_years = [row.year for row in schedule.rows if row.wear > 0]
    assert len(worn_years) <= 8

"""Annual wear (hao mòn) of fixed assets per fiscal year, as of 31 December, in whole VND.

Rules (141/2025/TT-BTC, read in full; 23/2023/TT-BTC had the same principles):

* Wear is computed once a year, in December (Art. 12.1a): one row per fiscal year.
* Straight line: annual wear = cost × rate (Art. 14.1); accumulated(n) = accumulated(n−1) + wear(n)
  (Art. 14.10); the last year of the life takes cost − accumulated (Art. 14.11); remaining value
  = cost − accumulated (Art. 16). Amounts are whole VND (Art. 5.1), rounded half up.
* No wear once fully worn (Art. 11.3c) nor after the asset broke (Art. 11.3d). A retired or
  transferred asset leaves the books: no row from the year of disposal (Art. 12.1c gives that
  year's wear to the receiving unit).
* Fiscal years up to 2025 use the 23/2023 table, from 2026 the 141/2025 table (Art. 19). Where the
  class's life or rate changed, an asset booked before 2026 wears from 2026
  (cost − accumulated at 31/12/2025) ÷ (new life − years used); already past the new life with
  value left, the 2026 wear is the whole remaining value (Art. 18.1).
* Bought second-hand: life = table life − years already used, annual wear = cost ÷ that life
  (Art. 13.1h, 14.9); one booked before 2026 keeps its wear, no transition (Art. 18.2).
* Received without books and revalued (Art. 18.4, Art. 6.3a): rows start in the revaluation year
  with accumulated = revalued cost − revalued remaining value, and the remaining value wears
  evenly over the revalued remaining life. The Art. 18.1 transition is not re-applied to it.

Partial first year: the circulars state no proration (wear is cost × rate for "the year", computed
in December), and the one booked example we have (a desktop put into use in 08/2023 at 5 yr / 20 %)
reads as a full year. The default is therefore ``FirstYearRule.FULL_YEAR``: the year the asset is
put into use is worn in full and counts as one year used. ``FROM_NEXT_YEAR`` starts wear the year
after, for a province whose practice differs.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from inventory.lives import ClassRate, LifeTables, RuleSet
from inventory.models import Asset, AssetStatus
from inventory.money import vnd_en, vnd_vi


class FirstYearRule(StrEnum):
    """How the year an asset is put into use is counted."""

    FULL_YEAR = "full_year"
    FROM_NEXT_YEAR = "from_next_year"


class WearSettings(BaseModel):
    """Choices the circulars leave to practice."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    first_year: FirstYearRule = FirstYearRule.FULL_YEAR


class WearMethod(StrEnum):
    """How one year's wear was computed."""

    STRAIGHT_LINE = "straight_line"
    LAST_YEAR = "last_year_remainder"
    TRANSITION = "transition_18_1"
    TRANSITION_PAST_LIFE = "transition_18_1_past_life"
    SECOND_HAND = "second_hand"
    REVALUED = "revalued_18_4"
    FULLY_WORN = "fully_worn"
    BROKEN = "broken"


METHOD_LABELS: dict[WearMethod, tuple[str, str]] = {
    WearMethod.STRAIGHT_LINE: ("Nguyên giá × tỷ lệ hao mòn", "Cost × rate"),
    WearMethod.LAST_YEAR: (
        "Năm cuối: nguyên giá − hao mòn lũy kế",
        "Last year: cost − accumulated wear",
    ),
    WearMethod.TRANSITION: (
        "Chuyển tiếp Đ.18.1 TT 141/2025: giá trị còn lại ÷ thời gian sử dụng còn lại",
        "Transition Art. 18.1 of 141/2025: remaining value ÷ remaining life",
    ),
    WearMethod.TRANSITION_PAST_LIFE: (
        "Chuyển tiếp Đ.18.1: đã hết thời gian sử dụng, hao mòn năm 2026 = giá trị còn lại",
        "Transition Art. 18.1: past its life, 2026 wear = remaining value",
    ),
    WearMethod.SECOND_HAND: (
        "Mua tài sản đã qua sử dụng: nguyên giá ÷ thời gian sử dụng còn lại",
        "Bought second-hand: cost ÷ remaining life",
    ),
    WearMethod.REVALUED: (
        "Đánh giá lại (Đ.18.4): giá trị còn lại ÷ thời gian sử dụng còn lại",
        "Revalued (Art. 18.4): remaining value ÷ remaining life",
    ),
    WearMethod.FULLY_WORN: ("Đã tính đủ hao mòn", "Fully worn"),
    WearMethod.BROKEN: ("Hỏng, không tính hao mòn", "Broken: no wear"),
}


class WearRow(BaseModel):
    """The wear of one fiscal year and the book values at 31 December of that year."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    year: int
    rule_set: str
    life_years: int
    rate_percent: Decimal
    method: WearMethod
    wear: int
    accumulated: int
    remaining: int
    projected: bool


class WearSchedule(BaseModel):
    """The wear rows of one asset; empty for tools and supplies (not fixed assets)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    asset_tag: str
    asset_class: str
    is_fixed_asset: bool
    cost: int | None
    # Accumulated wear before the first row (non-zero only for revalued assets).
    opening_accumulated: int
    rows: tuple[WearRow, ...]
    note_vi: str = ""
    note_en: str = ""

    def row_for(self, year: int) -> WearRow | None:
        """The row of fiscal ``year``, if the asset was on the books and worn that year."""
        for row in self.rows:
            if row.year == year:
                return row
        return None

    def remaining_at(self, year: int) -> int | None:
        """Remaining value at 31 December of ``year``; None for assets without a cost."""
        if self.cost is None or not self.is_fixed_asset:
            return None
        remaining = self.cost - self.opening_accumulated
        for row in self.rows:
            if row.year > year:
                break
            remaining = row.remaining
        return remaining


@dataclass(frozen=True)
class _Plan:
    """The wear of the coming years: ``annual`` a year until ``last_year``, which takes the rest."""

    annual: int
    last_year: int
    method: WearMethod


def round_vnd(amount: Decimal) -> int:
    """Whole VND, half up (141/2025 Art. 5.1 leaves rounding to accounting law)."""
    return int(amount.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def first_wear_year(asset: Asset, settings: WearSettings) -> int:
    """The first fiscal year in which the asset is worn (and counted as used)."""
    if settings.first_year is FirstYearRule.FROM_NEXT_YEAR:
        return asset.put_into_use.year + 1
    return asset.put_into_use.year


def _straight_line(cost: int, rate: ClassRate, first_year: int) -> _Plan:
    return _Plan(
        annual=round_vnd(Decimal(cost) * rate.rate_percent / 100),
        last_year=first_year + rate.life_years - 1,
        method=WearMethod.STRAIGHT_LINE,
    )


def _spread(remaining: int, years: int, start: int, method: WearMethod) -> _Plan:
    if years <= 0:
        # Past its life with value left: all of it this year (Art. 18.1, last sentence).
        return _Plan(annual=remaining, last_year=start, method=method)
    return _Plan(
        annual=round_vnd(Decimal(remaining) / years), last_year=start + years - 1, method=method
    )


def _stop_year(asset: Asset, as_of: date) -> int | None:
    """The fiscal year from which a broken or disposed asset has no wear."""
    if asset.status is AssetStatus.IN_USE:
        return None
    # An unknown date is taken as the register's date: past years were booked as they were.
    return (asset.status_since or as_of).year


def _revalued_start(
    asset: Asset, tables: LifeTables, class_id: str, settings: WearSettings
) -> tuple[int, int, _Plan]:
    """(start year, opening accumulated, plan) of a revalued asset."""
    revaluation = asset.revaluation
    assert revaluation is not None
    year = revaluation.year
    cost = revaluation.cost
    remaining = revaluation.remaining_value
    if remaining is None:
        # No revalued remaining value: the revalued cost is worn as if it had been booked.
        booked = asset.model_copy(
            update={"revaluation": None, "original_cost": cost, "status": AssetStatus.IN_USE}
        )
        history = wear_schedule(
            booked, tables, as_of=date(year, 12, 31), through_year=year - 1, settings=settings
        )
        left = history.remaining_at(year - 1)
        remaining = cost if left is None else left
    life = revaluation.remaining_life_years
    if life is None:
        used = max(0, year - first_wear_year(asset, settings)) + asset.years_used_before_purchase
        life = tables.rate(year, class_id).life_years - used
    plan = _spread(remaining, life, year, WearMethod.REVALUED)
    return year, cost - remaining, plan


def wear_schedule(
    asset: Asset,
    tables: LifeTables,
    *,
    as_of: date,
    through_year: int | None = None,
    settings: WearSettings | None = None,
) -> WearSchedule:
    """The asset's wear per fiscal year up to ``through_year`` (default: ``as_of``'s year).

    ``as_of`` is the date the register's status is known at: a broken asset with no date of
    breaking is taken as broken from that year, and rows whose 31 December is after it are
    marked ``projected``.
    """
    settings = settings or WearSettings()
    class_id = tables.class_of(asset)
    cost = asset.cost_basis
    if not asset.is_fixed_asset or cost is None:
        return _without_wear(asset, class_id, cost)
    books = _Books(asset, tables, class_id, cost, first_wear_year(asset, settings), as_of)
    if asset.revaluation is not None:
        start, opening, plan = _revalued_start(asset, tables, class_id, settings)
    else:
        start, opening = books.first_year, 0
        rate = tables.rate(books.first_year, class_id)
        if asset.years_used_before_purchase > 0:
            life = max(1, rate.life_years - asset.years_used_before_purchase)
            plan = _spread(cost, life, books.first_year, WearMethod.SECOND_HAND)
        else:
            plan = _straight_line(cost, rate, books.first_year)
    through = as_of.year if through_year is None else through_year
    return WearSchedule(
        asset_tag=asset.asset_tag,
        asset_class=class_id,
        is_fixed_asset=True,
        cost=cost,
        opening_accumulated=opening,
        rows=tuple(books.rows(start, through, opening, plan)),
    )


def _without_wear(asset: Asset, class_id: str, cost: int | None) -> WearSchedule:
    """The schedule of a tool or supply, or of an asset whose cost is unknown: no rows, a note."""
    if cost is None:
        note_vi = "Chưa rõ nguyên giá, chưa đánh giá lại: không tính hao mòn"
        note_en = "Cost unknown and not revalued: no wear computed"
    else:
        note_vi = (
            f"Nguyên giá {vnd_vi(cost)} dưới 10.000.000 đ: không phải tài sản cố định, "
            "không tính hao mòn (công cụ, dụng cụ)"
        )
        note_en = (
            f"Cost {vnd_en(cost)} is under 10,000,000 VND: not a fixed asset, no wear "
            "(tool or supply)"
        )
    return WearSchedule(
        asset_tag=asset.asset_tag,
        asset_class=class_id,
        is_fixed_asset=False,
        cost=cost,
        opening_accumulated=0,
        rows=(),
        note_vi=note_vi,
        note_en=note_en,
    )


@dataclass(frozen=True)
class _Books:
    """One fixed asset on the books: what every fiscal year's row is computed from."""

    asset: Asset
    tables: LifeTables
    class_id: str
    cost: int
    first_year: int
    as_of: date

    def rows(self, start: int, through: int, accumulated: int, plan: _Plan) -> list[WearRow]:
        """The rows from ``start`` to ``through``, re-planning where the rule set changes."""
        asset = self.asset
        stop = _stop_year(asset, self.as_of)
        disposed = asset.status in (AssetStatus.RETIRED, AssetStatus.TRANSFERRED)
        revalued = asset.revaluation is not None
        # The rule set the asset was booked under: an asset put into use in 2025 but first worn
        # in 2026 (FROM_NEXT_YEAR) is still "on the books before 2026" for Art. 18.1.
        current: RuleSet | None = (
            None if revalued else self.tables.rule_set_for(asset.put_into_use.year)
        )
        rows: list[WearRow] = []
        for year in range(start, through + 1):
            if disposed and stop is not None and year >= stop:
                break
            rule_set = self.tables.rule_set_for(year)
            rate = rule_set.rates[self.class_id]
            if current is not None and rule_set.id != current.id:
                plan = _plan_at_new_rule_set(
                    plan=plan,
                    rule_set=rule_set,
                    old_rate=current.rates[self.class_id],
                    new_rate=rate,
                    year=year,
                    cost=self.cost,
                    accumulated=accumulated,
                    years_used=year - self.first_year + asset.years_used_before_purchase,
                    keep_plan=revalued or asset.years_used_before_purchase > 0,
                    first_year=self.first_year,
                )
            current = rule_set
            broken = stop is not None and year >= stop
            wear, method = _year_wear(plan, year, self.cost - accumulated, broken)
            accumulated += wear
            rows.append(
                WearRow(
                    year=year,
                    rule_set=rule_set.id,
                    life_years=rate.life_years,
                    rate_percent=rate.rate_percent,
                    method=method,
                    wear=wear,
                    accumulated=accumulated,
                    remaining=self.cost - accumulated,
                    projected=date(year, 12, 31) > self.as_of,
                )
            )
        return rows


def _year_wear(plan: _Plan, year: int, remaining: int, broken: bool) -> tuple[int, WearMethod]:
    """One fiscal year's wear and how it was computed, with ``remaining`` value at its start."""
    if broken:
        return 0, WearMethod.BROKEN
    if remaining <= 0:
        return 0, WearMethod.FULLY_WORN
    if year >= plan.last_year or plan.annual >= remaining:
        last_of_spread = plan.method is WearMethod.TRANSITION_PAST_LIFE
        return remaining, plan.method if last_of_spread else WearMethod.LAST_YEAR
    return plan.annual, plan.method


def _plan_at_new_rule_set(
    *,
    plan: _Plan,
    rule_set: RuleSet,
    old_rate: ClassRate,
    new_rate: ClassRate,
    year: int,
    cost: int,
    accumulated: int,
    years_used: int,
    keep_plan: bool,
    first_year: int,
) -> _Plan:
    """The plan from the first year of a new rule set (Art. 18.1 transition where it applies)."""
    unchanged = (old_rate.life_years, old_rate.rate_percent) == (
        new_rate.life_years,
        new_rate.rate_percent,
    )
    if unchanged or keep_plan:
        return plan
    if rule_set.transition_from_previous == "art_18_1":
        remaining_life = new_rate.life_years - years_used
        method = WearMethod.TRANSITION if remaining_life > 0 else WearMethod.TRANSITION_PAST_LIFE
        return _spread(cost - accumulated, remaining_life, year, method)
    return _straight_line(cost, new_rate, first_year)


def wear_schedules(
    assets: Iterable[Asset],
    tables: LifeTables,
    *,
    as_of: date,
    through_year: int | None = None,
    settings: WearSettings | None = None,
) -> list[WearSchedule]:
    """``wear_schedule`` of every asset, in order."""
    return [
        wear_schedule(asset, tables, as_of=as_of, through_year=through_year, settings=settings)
        for asset in assets
    ]

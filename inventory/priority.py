"""Upgrade priority of an asset: a 0–100 score explained term by term.

Each term has a value in [0, 1], a weight from configuration and a contribution
``weight × value ÷ Σ weights × 100`` points, so the contributions add up to the score whatever
the weights are. The terms (issue 8 §5):

* ``age``: years in use against the useful life of the rule set in force (141/2025 Art. 13.3: that
  life is the disposal age); full at ``age_cap_ratio`` × life.
* ``remaining_value``: share of the cost already worn at the last closed 31 December; for tools and
  supplies (no wear) the age share stands in.
* ``failures``: tickets and incidents on the asset in the last 12 months; full at ``failures_full``.
* ``saturation``: the worst of the measured signals given (p95 memory, p95 CPU, disk use, SMART
  warnings, print volume against the recommended monthly volume); no measurement → 0.
* ``workload``: dossiers a day at its counter or commune; full at
  ``workload_full_dossiers_per_day``.
* ``criticality``: how much a failure stops service (a counter PC > a public PC > a back-office PC).
* ``out_of_service``: 1 when the asset is broken.
* ``unsupported_os``: 1 when the computer's operating system is past its end of support
  (``inventory/os_support.yaml``, issue 23): no more security updates, and signing plugins and
  the procedure system's browsers stop supporting it.

The integer ``points`` (score × 100) is what the budget plan maximises, so plans compare exactly.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from inventory.lives import LifeTables
from inventory.models import KIND_LABELS, Asset, AssetKind, AssetStatus
from inventory.money import num_en, num_vi, vnd_en, vnd_vi
from inventory.priority_config import Placement, PriorityConfig
from inventory.tables import Lang
from inventory.wear import WearSettings, wear_schedule


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class AssetSignals(_Frozen):
    """What was measured or counted for one asset over the last 12 months; all optional."""

    failures_12m: int = Field(default=0, ge=0)
    p95_memory_percent: float | None = Field(default=None, ge=0, le=100)
    p95_cpu_percent: float | None = Field(default=None, ge=0, le=100)
    disk_used_percent: float | None = Field(default=None, ge=0, le=100)
    smart_warnings: int | None = Field(default=None, ge=0)
    pages_per_month: float | None = Field(default=None, ge=0)
    recommended_pages_per_month: float | None = Field(default=None, gt=0)
    workload_dossiers_per_day: float | None = Field(default=None, ge=0)
    placement: Placement | None = None
    # The operating system the agent reported ("Windows 10 22H2") and its end of support, when
    # os_support.yaml lists it.
    os_label: str | None = Field(default=None, max_length=100)
    os_end_of_support: date | None = None


class PriorityTerm(_Frozen):
    """One term of a score: its value, weight, contribution in points and why."""

    term: str
    value: float
    weight: float
    contribution: float
    explanation_vi: str
    explanation_en: str


class PriorityScore(_Frozen):
    """The upgrade priority of one asset with every term that makes it up."""

    asset_tag: str
    commune_code: str
    kind: AssetKind
    status: AssetStatus
    score: float = Field(ge=0, le=100)
    points: int = Field(ge=0, le=10_000)
    terms: tuple[PriorityTerm, ...]
    age_years: float
    life_years: int
    past_life: bool
    placement: Placement
    remaining_value: int | None

    def reasons(self, lang: Lang = "vi", limit: int = 3) -> list[str]:
        """Explanations of the ``limit`` terms that contribute most (zero terms left out)."""
        ranked = sorted(self.terms, key=lambda term: term.contribution, reverse=True)
        return [
            term.explanation_vi if lang == "vi" else term.explanation_en
            for term in ranked[:limit]
            if term.contribution > 0
        ]


def _ramp(value: float, start: float, full: float) -> float:
    return min(1.0, max(0.0, (value - start) / (full - start)))


@functools.lru_cache(maxsize=16)
def _room_pattern(pattern: str) -> re.Pattern[str]:
    # Compiled once: re.search's own cache lookup (flags are an enum) cost more than the match,
    # for every asset of a province on every ranking.
    return re.compile(pattern, re.IGNORECASE)


def placement_of(asset: Asset, config: PriorityConfig, given: Placement | None = None) -> Placement:
    """Where the asset serves: as given, else from its room text, else the back office."""
    if given is not None:
        return given
    if _room_pattern(config.public_room_pattern).search(asset.room):
        return Placement.PUBLIC
    if _room_pattern(config.counter_room_pattern).search(asset.room):
        return Placement.COUNTER
    return Placement.BACK_OFFICE


def age_years(asset: Asset, as_of: date) -> float:
    """Years in use at ``as_of``, including years used before a second-hand purchase."""
    days = max(0, (as_of - asset.put_into_use).days)
    return days / 365.25 + asset.years_used_before_purchase


def _last_closed_year(as_of: date) -> int:
    # Book values exist for 31 December of closed years; on 31/12 itself the year is computed.
    return as_of.year if (as_of.month, as_of.day) == (12, 31) else as_of.year - 1


_PLACEMENT_LABELS: dict[Placement, tuple[str, str]] = {
    Placement.COUNTER: ("tại quầy tiếp nhận", "at a reception counter"),
    Placement.PUBLIC: ("phục vụ công dân tự nộp hồ sơ", "for public self-service"),
    Placement.BACK_OFFICE: ("ở bộ phận hậu cần/chuyên môn", "in a back office"),
}


# A term as computed: its value in [0, 1] and its explanation in Vietnamese and English.
_Explained = tuple[float, str, str]


def score_asset(
    asset: Asset,
    tables: LifeTables,
    *,
    as_of: date,
    signals: AssetSignals | None = None,
    config: PriorityConfig | None = None,
    wear_settings: WearSettings | None = None,
) -> PriorityScore:
    """The asset's priority at ``as_of``, from its register line and its measured signals."""
    config = config or PriorityConfig()
    signals = signals or AssetSignals()
    weights = config.weights
    life = tables.rate(as_of.year, tables.class_of(asset)).life_years
    age = age_years(asset, as_of)
    remaining, remaining_term = _remaining_value_term(
        asset, tables, as_of, age / life, wear_settings
    )
    placement = placement_of(asset, config, signals.placement)
    explained: tuple[tuple[str, float, _Explained], ...] = (
        ("age", weights.age, _age_term(asset, age, life, config)),
        ("remaining_value", weights.remaining_value, remaining_term),
        ("failures", weights.failures, _failures_term(signals, config)),
        ("saturation", weights.saturation, _saturation_term(asset, signals, config)),
        ("workload", weights.workload, _workload_term(signals, config)),
        ("criticality", weights.criticality, _criticality_term(asset, placement, config)),
        ("out_of_service", weights.out_of_service, _out_of_service_term(asset)),
        ("unsupported_os", weights.unsupported_os, _unsupported_os_term(signals, as_of)),
    )
    total_weight = weights.total()
    terms = tuple(_term(name, weight, total_weight, *term) for name, weight, term in explained)
    exact = sum(term.weight * term.value for term in terms) / total_weight * 100
    points = min(10_000, max(0, round(exact * 100)))
    return PriorityScore(
        asset_tag=asset.asset_tag,
        commune_code=asset.commune_code,
        kind=asset.kind,
        status=asset.status,
        score=points / 100,
        points=points,
        terms=terms,
        age_years=round(age, 2),
        life_years=life,
        past_life=age >= life,
        placement=placement,
        remaining_value=remaining,
    )


_TERM_FIELDS = frozenset(PriorityTerm.model_fields)


def _term(
    term: str, weight: float, total_weight: float, value: float, vi: str, en: str
) -> PriorityTerm:
    # Built from checked numbers, eight per asset of a province on every ranking and plan:
    # neither validation nor model_construct (whose per-field loop was a third of the scoring
    # time), but the instance model_construct builds, set directly (every field is given, none
    # has a default, none is private). tests/inventory/test_priority.py compares it with a
    # validated one.
    built = PriorityTerm.__new__(PriorityTerm)
    _set = object.__setattr__  # the model is frozen
    _set(
        built,
        "__dict__",
        {
            "term": term,
            "value": round(value, 4),
            "weight": weight,
            "contribution": round(weight * value / total_weight * 100, 2),
            "explanation_vi": vi,
            "explanation_en": en,
        },
    )
    _set(built, "__pydantic_fields_set__", set(_TERM_FIELDS))
    _set(built, "__pydantic_extra__", None)
    _set(built, "__pydantic_private__", None)
    return built


def _age_term(asset: Asset, age: float, life: int, config: PriorityConfig) -> _Explained:
    ratio = age / life
    past_vi = ", đã quá thời gian sử dụng" if age >= life else ""
    past_en = ", past its useful life" if age >= life else ""
    return (
        min(ratio, config.age_cap_ratio) / config.age_cap_ratio,
        f"Đã sử dụng {num_vi(age)} năm / thời gian sử dụng {life} năm "
        f"({num_vi(ratio * 100, 0)} %){past_vi}",
        f"In use {num_en(age)} years of a {life}-year life ({num_en(ratio * 100, 0)} %){past_en}",
    )


def _remaining_value_term(
    asset: Asset,
    tables: LifeTables,
    as_of: date,
    ratio: float,
    wear_settings: WearSettings | None,
) -> tuple[int | None, _Explained]:
    """(remaining value at the last closed 31 December, the term); the age share without wear."""
    cost = asset.cost_basis
    if not asset.is_fixed_asset or not cost:
        proxy = min(1.0, ratio)
        return None, (
            proxy,
            "Không phải tài sản cố định (không tính hao mòn): dùng tỷ lệ tuổi/thời gian sử dụng "
            f"{num_vi(proxy * 100, 0)} %",
            f"Not a fixed asset (no wear): the age share stands in, {num_en(proxy * 100, 0)} %",
        )
    closed = _last_closed_year(as_of)
    schedule = wear_schedule(
        asset, tables, as_of=as_of, through_year=closed, settings=wear_settings
    )
    remaining = schedule.remaining_at(closed)
    left = remaining if remaining is not None else cost
    worn = 1 - left / cost
    return remaining, (
        worn,
        f"Giá trị còn lại {vnd_vi(left)} / nguyên giá {vnd_vi(cost)} "
        f"(đã hao mòn {num_vi(worn * 100, 0)} %)",
        f"Remaining value {vnd_en(left)} of a {vnd_en(cost)} cost ({num_en(worn * 100, 0)} % worn)",
    )


def _failures_term(signals: AssetSignals, config: PriorityConfig) -> _Explained:
    failures = signals.failures_12m
    return (
        min(1.0, failures / config.failures_full),
        f"{failures} lần hỏng/sự cố trong 12 tháng qua",
        f"{failures} failure(s) or incident(s) in the last 12 months",
    )


def _saturation_term(asset: Asset, signals: AssetSignals, config: PriorityConfig) -> _Explained:
    parts = _saturation_parts(asset, signals, config)
    if not parts:
        return 0.0, "Chưa có số liệu đo", "No measurements"
    return (
        max(part[0] for part in parts),
        "Quá tải đo được: " + ", ".join(part[1] for part in parts),
        "Measured saturation: " + ", ".join(part[2] for part in parts),
    )


def _saturation_parts(
    asset: Asset, signals: AssetSignals, config: PriorityConfig
) -> list[_Explained]:
    """Each measured signal given: how full it is, in words."""
    thresholds = config.saturation
    parts: list[_Explained] = []
    if (memory := signals.p95_memory_percent) is not None:
        level = _ramp(memory, thresholds.memory_start_percent, thresholds.memory_full_percent)
        parts.append((level, f"RAM p95 {num_vi(memory, 0)} %", f"memory p95 {num_en(memory, 0)} %"))
    if (cpu := signals.p95_cpu_percent) is not None:
        level = _ramp(cpu, thresholds.cpu_start_percent, thresholds.cpu_full_percent)
        parts.append((level, f"CPU p95 {num_vi(cpu, 0)} %", f"CPU p95 {num_en(cpu, 0)} %"))
    if (disk := signals.disk_used_percent) is not None:
        level = _ramp(disk, thresholds.disk_start_percent, thresholds.disk_full_percent)
        parts.append(
            (level, f"ổ đĩa đã dùng {num_vi(disk, 0)} %", f"disk {num_en(disk, 0)} % used")
        )
    if (warnings := signals.smart_warnings) is not None:
        level = 1.0 if warnings > 0 else 0.0
        parts.append((level, f"{warnings} cảnh báo SMART", f"{warnings} SMART warning(s)"))
    pages = signals.pages_per_month
    recommended = signals.recommended_pages_per_month or config.recommended_pages_per_month.get(
        asset.kind
    )
    if pages is not None and recommended:
        ratio = pages / recommended
        parts.append(
            (
                _ramp(ratio, thresholds.print_start_ratio, thresholds.print_full_ratio),
                f"in {num_vi(pages, 0)} trang/tháng = "
                f"{num_vi(ratio * 100, 0)} % công suất khuyến nghị",
                f"prints {num_en(pages, 0)} pages/month = "
                f"{num_en(ratio * 100, 0)} % of the recommended volume",
            )
        )
    return parts


def _workload_term(signals: AssetSignals, config: PriorityConfig) -> _Explained:
    workload = signals.workload_dossiers_per_day
    if workload is None:
        return 0.0, "Chưa có số liệu khối lượng hồ sơ", "No workload data"
    return (
        min(1.0, workload / config.workload_full_dossiers_per_day),
        f"Khối lượng {num_vi(workload, 0)} hồ sơ/ngày",
        f"Workload {num_en(workload, 0)} dossiers/day",
    )


def _criticality_term(asset: Asset, placement: Placement, config: PriorityConfig) -> _Explained:
    kind_vi, kind_en = KIND_LABELS[asset.kind]
    where_vi, where_en = _PLACEMENT_LABELS[placement]
    criticality = config.criticality.of(asset.kind, placement)
    return (
        criticality,
        f"{kind_vi} {where_vi}: mức quan trọng {num_vi(criticality, 1)}",
        f"{kind_en} {where_en}: criticality {num_en(criticality, 1)}",
    )


def _out_of_service_term(asset: Asset) -> _Explained:
    broken = asset.status is AssetStatus.BROKEN
    return (
        1.0 if broken else 0.0,
        "Đang hỏng, không sử dụng được" if broken else "Đang hoạt động",
        "Broken, out of service" if broken else "Working",
    )


def _unsupported_os_term(signals: AssetSignals, as_of: date) -> _Explained:
    label, end = signals.os_label, signals.os_end_of_support
    if label is None:
        return 0.0, "Chưa rõ hệ điều hành", "Operating system not known"
    if end is None:
        return 0.0, f"{label}: chưa rõ thời hạn hỗ trợ", f"{label}: end of support not known"
    if as_of > end:
        return (
            1.0,
            f"Hệ điều hành hết hỗ trợ: {label} (từ {end:%d/%m/%Y})",
            f"Operating system out of support: {label} (since {end:%d/%m/%Y})",
        )
    return (
        0.0,
        f"{label}: còn được hỗ trợ đến {end:%d/%m/%Y}",
        f"{label}: supported until {end:%d/%m/%Y}",
    )


def score_assets(
    assets: Iterable[Asset],
    tables: LifeTables,
    *,
    as_of: date,
    signals: Mapping[str, AssetSignals] | None = None,
    config: PriorityConfig | None = None,
    wear_settings: WearSettings | None = None,
) -> dict[str, PriorityScore]:
    """Scores of the assets still held (in use or broken), by asset tag."""
    signals = signals or {}
    config = config or PriorityConfig()
    return {
        asset.asset_tag: score_asset(
            asset,
            tables,
            as_of=as_of,
            signals=signals.get(asset.asset_tag),
            config=config,
            wear_settings=wear_settings,
        )
        for asset in assets
        if asset.in_service
    }

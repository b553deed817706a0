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

The integer ``points`` (score × 100) is what the budget plan maximises, so plans compare exactly.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from inventory._yaml import load_model
from inventory.fmt import num_en, num_vi, vnd_en, vnd_vi
from inventory.lives import LifeTables
from inventory.models import KIND_LABELS, Asset, AssetKind, AssetStatus
from inventory.tables import Cell, Column, ColumnType, Lang, Sheet
from inventory.wear import WearSettings, wear_schedule

DEFAULT_PRIORITY_PATH = Path(__file__).with_name("priority.yaml")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Placement(StrEnum):
    """Where a computer serves: at a reception counter, for the public, or in a back office."""

    COUNTER = "counter"
    PUBLIC = "public"
    BACK_OFFICE = "back_office"


class PriorityWeights(_Frozen):
    """Relative weights of the terms; only their ratios matter."""

    age: float = Field(default=25, ge=0)
    remaining_value: float = Field(default=10, ge=0)
    failures: float = Field(default=15, ge=0)
    saturation: float = Field(default=15, ge=0)
    workload: float = Field(default=10, ge=0)
    criticality: float = Field(default=15, ge=0)
    out_of_service: float = Field(default=10, ge=0)

    @model_validator(mode="after")
    def _not_all_zero(self) -> Self:
        if self.total() <= 0:
            raise ValueError("at least one weight must be positive")
        return self

    def total(self) -> float:
        """Sum of the weights."""
        return (
            self.age
            + self.remaining_value
            + self.failures
            + self.saturation
            + self.workload
            + self.criticality
            + self.out_of_service
        )


class SaturationThresholds(_Frozen):
    """Where each measured signal starts to count (0) and where it is full (1)."""

    memory_start_percent: float = Field(default=80, ge=0, le=100)
    memory_full_percent: float = Field(default=98, ge=0, le=100)
    cpu_start_percent: float = Field(default=70, ge=0, le=100)
    cpu_full_percent: float = Field(default=95, ge=0, le=100)
    disk_start_percent: float = Field(default=85, ge=0, le=100)
    disk_full_percent: float = Field(default=98, ge=0, le=100)
    # Monthly pages ÷ the model's recommended monthly volume.
    print_start_ratio: float = Field(default=0.8, ge=0)
    print_full_ratio: float = Field(default=1.5, ge=0)

    @model_validator(mode="after")
    def _start_below_full(self) -> Self:
        for name in ("memory", "cpu", "disk"):
            start = getattr(self, f"{name}_start_percent")
            full = getattr(self, f"{name}_full_percent")
            if start >= full:
                raise ValueError(f"{name}_start_percent {start} must be below {name}_full_percent")
        if self.print_start_ratio >= self.print_full_ratio:
            raise ValueError("print_start_ratio must be below print_full_ratio")
        return self


class Criticality(_Frozen):
    """How much a failure of each kind stops service, 0–1; computers by placement."""

    pc_counter: float = Field(default=1.0, ge=0, le=1)
    pc_public: float = Field(default=0.6, ge=0, le=1)
    pc_back_office: float = Field(default=0.4, ge=0, le=1)
    printer: float = Field(default=0.7, ge=0, le=1)
    mfp: float = Field(default=0.6, ge=0, le=1)
    # Digitisation is 22 of the 100 points of the 766 index: a counter without a scanner stalls.
    scanner: float = Field(default=0.9, ge=0, le=1)
    # One router or switch down takes the whole centre off the specialised network.
    router: float = Field(default=1.0, ge=0, le=1)
    switch: float = Field(default=0.9, ge=0, le=1)
    firewall: float = Field(default=0.7, ge=0, le=1)
    access_point: float = Field(default=0.5, ge=0, le=1)
    ups: float = Field(default=0.7, ge=0, le=1)
    kiosk: float = Field(default=0.5, ge=0, le=1)
    queue_machine: float = Field(default=0.7, ge=0, le=1)
    camera: float = Field(default=0.3, ge=0, le=1)
    nvr: float = Field(default=0.4, ge=0, le=1)
    video_conference: float = Field(default=0.5, ge=0, le=1)
    other: float = Field(default=0.3, ge=0, le=1)

    def of(self, kind: AssetKind, placement: Placement) -> float:
        """Criticality of an asset of ``kind`` at ``placement``."""
        if kind is AssetKind.PC:
            value: float = getattr(self, f"pc_{placement.value}")
            return value
        value = getattr(self, kind.value)
        return value


class PriorityConfig(_Frozen):
    """Weights and thresholds of the priority score (loadable from YAML)."""

    weights: PriorityWeights = PriorityWeights()
    age_cap_ratio: float = Field(default=1.5, gt=0, description="age ÷ life at which age is full")
    failures_full: int = Field(default=6, ge=1, description="failures in 12 months for a full term")
    workload_full_dossiers_per_day: float = Field(default=150, gt=0)
    saturation: SaturationThresholds = SaturationThresholds()
    recommended_pages_per_month: dict[AssetKind, float] = Field(
        default_factory=lambda: {AssetKind.PRINTER: 5_000.0, AssetKind.MFP: 20_000.0}
    )
    criticality: Criticality = Criticality()
    # Room text that marks a counter or a public corner (case-insensitive regular expressions).
    counter_room_pattern: str = r"qu[aầ]y|counter|một cửa|mot cua"
    public_room_pattern: str = r"tự phục vụ|tu phuc vu|đề án 06|de an 06|self.?service|công dân"

    @model_validator(mode="after")
    def _patterns_compile(self) -> Self:
        for name in ("counter_room_pattern", "public_room_pattern"):
            try:
                re.compile(getattr(self, name))
            except re.error as exc:
                raise ValueError(f"{name} is not a regular expression: {exc}") from exc
        return self


def load_priority_config(path: Path | None = None) -> PriorityConfig:
    """Load priority weights and thresholds (default: the packaged ``priority.yaml``)."""
    return load_model(path or DEFAULT_PRIORITY_PATH, PriorityConfig)


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


def placement_of(asset: Asset, config: PriorityConfig, given: Placement | None = None) -> Placement:
    """Where the asset serves: as given, else from its room text, else the back office."""
    if given is not None:
        return given
    if re.search(config.public_room_pattern, asset.room, re.IGNORECASE):
        return Placement.PUBLIC
    if re.search(config.counter_room_pattern, asset.room, re.IGNORECASE):
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
    total_weight = weights.total()
    terms: list[PriorityTerm] = []

    def add(term: str, value: float, weight: float, vi: str, en: str) -> None:
        # Built from checked numbers: skip validation, it is most of the scoring time.
        terms.append(
            PriorityTerm.model_construct(
                term=term,
                value=round(value, 4),
                weight=weight,
                contribution=round(weight * value / total_weight * 100, 2),
                explanation_vi=vi,
                explanation_en=en,
            )
        )

    class_id = tables.class_of(asset)
    life = tables.rate(as_of.year, class_id).life_years
    age = age_years(asset, as_of)
    ratio = age / life
    past_life = age >= life
    kind_vi, kind_en = KIND_LABELS[asset.kind]
    past_vi = ", đã quá thời gian sử dụng" if past_life else ""
    past_en = ", past its useful life" if past_life else ""
    add(
        "age",
        min(ratio, config.age_cap_ratio) / config.age_cap_ratio,
        weights.age,
        f"Đã sử dụng {num_vi(age)} năm / thời gian sử dụng {life} năm "
        f"({num_vi(ratio * 100, 0)} %){past_vi}",
        f"In use {num_en(age)} years of a {life}-year life ({num_en(ratio * 100, 0)} %){past_en}",
    )

    remaining: int | None = None
    cost = asset.cost_basis
    if asset.is_fixed_asset and cost:
        schedule = wear_schedule(
            asset,
            tables,
            as_of=as_of,
            through_year=_last_closed_year(as_of),
            settings=wear_settings,
        )
        remaining = schedule.remaining_at(_last_closed_year(as_of))
        left = remaining if remaining is not None else cost
        worn = 1 - left / cost
        add(
            "remaining_value",
            worn,
            weights.remaining_value,
            f"Giá trị còn lại {vnd_vi(left)} / nguyên giá {vnd_vi(cost)} "
            f"(đã hao mòn {num_vi(worn * 100, 0)} %)",
            f"Remaining value {vnd_en(left)} of a {vnd_en(cost)} cost "
            f"({num_en(worn * 100, 0)} % worn)",
        )
    else:
        proxy = min(1.0, ratio)
        add(
            "remaining_value",
            proxy,
            weights.remaining_value,
            "Không phải tài sản cố định (không tính hao mòn): dùng tỷ lệ tuổi/thời gian sử dụng "
            f"{num_vi(proxy * 100, 0)} %",
            f"Not a fixed asset (no wear): the age share stands in, {num_en(proxy * 100, 0)} %",
        )

    failures = signals.failures_12m
    add(
        "failures",
        min(1.0, failures / config.failures_full),
        weights.failures,
        f"{failures} lần hỏng/sự cố trong 12 tháng qua",
        f"{failures} failure(s) or incident(s) in the last 12 months",
    )

    thresholds = config.saturation
    parts: list[tuple[float, str, str]] = []
    if signals.p95_memory_percent is not None:
        memory = signals.p95_memory_percent
        parts.append(
            (
                _ramp(memory, thresholds.memory_start_percent, thresholds.memory_full_percent),
                f"RAM p95 {num_vi(memory, 0)} %",
                f"memory p95 {num_en(memory, 0)} %",
            )
        )
    if signals.p95_cpu_percent is not None:
        cpu = signals.p95_cpu_percent
        parts.append(
            (
                _ramp(cpu, thresholds.cpu_start_percent, thresholds.cpu_full_percent),
                f"CPU p95 {num_vi(cpu, 0)} %",
                f"CPU p95 {num_en(cpu, 0)} %",
            )
        )
    if signals.disk_used_percent is not None:
        disk = signals.disk_used_percent
        parts.append(
            (
                _ramp(disk, thresholds.disk_start_percent, thresholds.disk_full_percent),
                f"ổ đĩa đã dùng {num_vi(disk, 0)} %",
                f"disk {num_en(disk, 0)} % used",
            )
        )
    if signals.smart_warnings is not None:
        warnings = signals.smart_warnings
        parts.append(
            (
                1.0 if warnings > 0 else 0.0,
                f"{warnings} cảnh báo SMART",
                f"{warnings} SMART warning(s)",
            )
        )
    if signals.pages_per_month is not None:
        recommended = signals.recommended_pages_per_month or config.recommended_pages_per_month.get(
            asset.kind
        )
        if recommended:
            pages_ratio = signals.pages_per_month / recommended
            parts.append(
                (
                    _ramp(pages_ratio, thresholds.print_start_ratio, thresholds.print_full_ratio),
                    f"in {num_vi(signals.pages_per_month, 0)} trang/tháng = "
                    f"{num_vi(pages_ratio * 100, 0)} % công suất khuyến nghị",
                    f"prints {num_en(signals.pages_per_month, 0)} pages/month = "
                    f"{num_en(pages_ratio * 100, 0)} % of the recommended volume",
                )
            )
    if parts:
        add(
            "saturation",
            max(part[0] for part in parts),
            weights.saturation,
            "Quá tải đo được: " + ", ".join(part[1] for part in parts),
            "Measured saturation: " + ", ".join(part[2] for part in parts),
        )
    else:
        add("saturation", 0.0, weights.saturation, "Chưa có số liệu đo", "No measurements")

    workload = signals.workload_dossiers_per_day
    if workload is None:
        add(
            "workload",
            0.0,
            weights.workload,
            "Chưa có số liệu khối lượng hồ sơ",
            "No workload data",
        )
    else:
        add(
            "workload",
            min(1.0, workload / config.workload_full_dossiers_per_day),
            weights.workload,
            f"Khối lượng {num_vi(workload, 0)} hồ sơ/ngày",
            f"Workload {num_en(workload, 0)} dossiers/day",
        )

    placement = placement_of(asset, config, signals.placement)
    where_vi, where_en = _PLACEMENT_LABELS[placement]
    criticality = config.criticality.of(asset.kind, placement)
    add(
        "criticality",
        criticality,
        weights.criticality,
        f"{kind_vi} {where_vi}: mức quan trọng {num_vi(criticality, 1)}",
        f"{kind_en} {where_en}: criticality {num_en(criticality, 1)}",
    )

    broken = asset.status is AssetStatus.BROKEN
    add(
        "out_of_service",
        1.0 if broken else 0.0,
        weights.out_of_service,
        "Đang hỏng, không sử dụng được" if broken else "Đang hoạt động",
        "Broken, out of service" if broken else "Working",
    )

    exact = sum(term.weight * term.value for term in terms) / total_weight * 100
    points = min(10_000, max(0, round(exact * 100)))
    return PriorityScore(
        asset_tag=asset.asset_tag,
        commune_code=asset.commune_code,
        kind=asset.kind,
        status=asset.status,
        score=points / 100,
        points=points,
        terms=tuple(terms),
        age_years=round(age, 2),
        life_years=life,
        past_life=past_life,
        placement=placement,
        remaining_value=remaining,
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


_TERM_HEADERS: dict[str, tuple[str, str]] = {
    "age": ("Tuổi so với thời gian sử dụng", "Age vs life"),
    "remaining_value": ("Giá trị còn lại", "Remaining value"),
    "failures": ("Hỏng hóc 12 tháng", "Failures (12 months)"),
    "saturation": ("Quá tải đo được", "Measured saturation"),
    "workload": ("Khối lượng công việc", "Workload"),
    "criticality": ("Mức quan trọng", "Criticality"),
    "out_of_service": ("Đang hỏng", "Out of service"),
}


def priority_sheet(scores: Iterable[PriorityScore], *, lang: Lang = "vi") -> Sheet:
    """The ranking report: one line per asset, highest score first, with each term's points."""
    ordered = sorted(scores, key=lambda score: (-score.points, score.asset_tag))
    columns = [
        Column("rank", "Thứ hạng", "Rank", ColumnType.INT),
        Column("asset_tag", "Mã tài sản", "Asset tag", width=18),
        Column("commune_code", "Mã xã", "Commune code"),
        Column("kind", "Loại", "Kind", width=20),
        Column("score", "Điểm ưu tiên (0–100)", "Priority (0–100)", ColumnType.DECIMAL),
        Column("age_years", "Tuổi (năm)", "Age (years)", ColumnType.DECIMAL),
        Column("life_years", "Thời gian sử dụng (năm)", "Life (years)", ColumnType.INT),
        Column("past_life", "Quá hạn sử dụng", "Past its life", ColumnType.BOOL),
    ]
    columns += [
        Column(f"term_{term}", f"Điểm: {vi}", f"Points: {en}", ColumnType.DECIMAL)
        for term, (vi, en) in _TERM_HEADERS.items()
    ]
    columns.append(Column("reasons", "Lý do chính", "Main reasons", width=80))
    rows: list[tuple[Cell, ...]] = []
    for rank, score in enumerate(ordered, start=1):
        by_term = {term.term: term.contribution for term in score.terms}
        kind_vi, kind_en = KIND_LABELS[score.kind]
        rows.append(
            (
                rank,
                score.asset_tag,
                score.commune_code,
                kind_vi if lang == "vi" else kind_en,
                score.score,
                score.age_years,
                score.life_years,
                score.past_life,
                *(by_term.get(term) for term in _TERM_HEADERS),
                "; ".join(score.reasons(lang)),
            )
        )
    return Sheet("Ưu tiên thay thế", "Upgrade priority", tuple(columns), tuple(rows))

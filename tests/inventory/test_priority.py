"""Upgrade priority: every term explained, weights as configuration, sensible orderings."""

from __future__ import annotations

from datetime import date

import pytest
from pydantic import ValidationError

from inventory.lives import LifeTables
from inventory.models import Asset, AssetKind, AssetStatus
from inventory.priority import (
    AssetSignals,
    PriorityScore,
    PriorityTerm,
    score_asset,
    score_assets,
)
from inventory.priority_config import Placement, PriorityConfig, PriorityWeights

AS_OF = date(2026, 3, 2)
TERMS = [
    "age",
    "remaining_value",
    "failures",
    "saturation",
    "workload",
    "criticality",
    "out_of_service",
    "unsupported_os",
]


def asset(tag: str = "T-1", **extra: object) -> Asset:
    fields: dict[str, object] = {
        "asset_tag": tag,
        "kind": "pc",
        "commune_code": "00070",
        "put_into_use": date(2023, 8, 15),
        "original_cost": 15_000_000,
        "room": "Quầy 1",
    }
    fields.update(extra)
    return Asset.model_validate(fields)


def test_every_term_is_explained_and_adds_up(tables: LifeTables) -> None:
    signals = AssetSignals(
        failures_12m=3,
        p95_memory_percent=96,
        p95_cpu_percent=60,
        disk_used_percent=70,
        smart_warnings=0,
        workload_dossiers_per_day=75,
    )
    score = score_asset(asset(), tables, as_of=AS_OF, signals=signals)
    assert [term.term for term in score.terms] == TERMS
    assert sum(term.contribution for term in score.terms) == pytest.approx(score.score, abs=0.05)
    assert score.points == round(score.score * 100)
    by_term = {term.term: term for term in score.terms}
    # Age: 15/08/2023 → 02/03/2026 is 930 days = 2.55 years of a 7-year life (141/2025).
    assert score.life_years == 7
    assert score.age_years == pytest.approx(930 / 365.25, abs=0.01)
    assert by_term["age"].value == pytest.approx((930 / 365.25 / 7) / 1.5, abs=1e-3)
    assert "2,5 năm / thời gian sử dụng 7 năm" in by_term["age"].explanation_vi
    # Remaining value at 31/12/2025: 6,000,000 of 15,000,000 (see test_wear) → 60 % worn.
    assert score.remaining_value == 6_000_000
    assert by_term["remaining_value"].value == pytest.approx(0.6)
    assert "6.000.000 đ" in by_term["remaining_value"].explanation_vi
    # Failures: 3 of the 6 that make the term full.
    assert by_term["failures"].value == pytest.approx(0.5)
    # Saturation: memory (96 − 80) / (98 − 80) = 0.889 is the worst signal.
    assert by_term["saturation"].value == pytest.approx(16 / 18, abs=1e-3)
    assert "RAM p95 96 %" in by_term["saturation"].explanation_vi
    assert by_term["workload"].value == pytest.approx(0.5)
    assert by_term["criticality"].value == 1.0
    assert score.placement is Placement.COUNTER
    assert by_term["out_of_service"].value == 0.0
    for term in score.terms:
        assert term.explanation_vi
        assert term.explanation_en
        assert term.weight == getattr(PriorityWeights(), term.term)


def test_counter_pc_outranks_back_office_pc(tables: LifeTables) -> None:
    counter = score_asset(asset(room="Quầy 3"), tables, as_of=AS_OF)
    public = score_asset(asset(room="Khu tự phục vụ (Đề án 06)"), tables, as_of=AS_OF)
    back = score_asset(asset(room="Phòng chuyên môn"), tables, as_of=AS_OF)
    assert (counter.placement, public.placement, back.placement) == (
        Placement.COUNTER,
        Placement.PUBLIC,
        Placement.BACK_OFFICE,
    )
    assert counter.score > public.score > back.score
    given = score_asset(
        asset(room="Phòng chuyên môn"),
        tables,
        as_of=AS_OF,
        signals=AssetSignals(placement=Placement.COUNTER),
    )
    assert given.score == counter.score


def test_old_broken_failing_pc_ranks_first(tables: LifeTables) -> None:
    old = asset(
        "OLD",
        put_into_use=date(2016, 5, 1),
        status=AssetStatus.BROKEN,
        status_since=date(2026, 1, 10),
    )
    new = asset("NEW", put_into_use=date(2025, 9, 1), original_cost=17_000_000)
    scores = score_assets(
        [old, new],
        tables,
        as_of=AS_OF,
        signals={
            "OLD": AssetSignals(
                failures_12m=5,
                smart_warnings=2,
                # A 2016 PC still on the Windows it came with (issue 23's term).
                os_label="Windows 7",
                os_end_of_support=date(2020, 1, 14),
            )
        },
    )
    assert scores["OLD"].past_life
    assert not scores["NEW"].past_life
    assert scores["OLD"].score > 80 > 40 > scores["NEW"].score
    reasons = scores["OLD"].reasons("vi")
    assert any("quá thời gian sử dụng" in reason for reason in reasons)


def test_missing_measurements_count_as_zero(tables: LifeTables) -> None:
    score = score_asset(asset(), tables, as_of=AS_OF)
    saturation = next(term for term in score.terms if term.term == "saturation")
    assert saturation.value == 0
    assert saturation.explanation_vi == "Chưa có số liệu đo"


def test_print_volume_against_the_recommended_volume(tables: LifeTables) -> None:
    # 7,000 pages a month on a printer recommended for 5,000: ratio 1.4,
    # term = (1.4 − 0.8) / (1.5 − 0.8) = 0.857.
    printer = asset(kind=AssetKind.PRINTER, original_cost=4_800_000)
    score = score_asset(printer, tables, as_of=AS_OF, signals=AssetSignals(pages_per_month=7_000))
    saturation = next(term for term in score.terms if term.term == "saturation")
    assert saturation.value == pytest.approx(0.6 / 0.7, abs=1e-3)
    assert "140 % công suất khuyến nghị" in saturation.explanation_vi
    remaining = next(term for term in score.terms if term.term == "remaining_value")
    assert "Không phải tài sản cố định" in remaining.explanation_vi


def test_weights_are_configuration(tables: LifeTables) -> None:
    only_age = PriorityConfig(
        weights=PriorityWeights(
            age=1,
            remaining_value=0,
            failures=0,
            saturation=0,
            workload=0,
            criticality=0,
            out_of_service=0,
            unsupported_os=0,
        )
    )
    score = score_asset(asset(), tables, as_of=AS_OF, config=only_age)
    age = next(term for term in score.terms if term.term == "age")
    assert score.score == pytest.approx(age.value * 100, abs=0.01)


def test_an_operating_system_out_of_support_is_a_term(tables: LifeTables) -> None:
    # Windows 10 ended on 14/10/2025 (inventory/os_support.yaml): on 02/03/2026 the term is full.
    ended = AssetSignals(os_label="Windows 10 22H2", os_end_of_support=date(2025, 10, 14))
    supported = AssetSignals(os_label="Windows 11 24H2", os_end_of_support=date(2026, 10, 13))
    old_os = score_asset(asset(), tables, as_of=AS_OF, signals=ended)
    new_os = score_asset(asset(), tables, as_of=AS_OF, signals=supported)
    unknown = score_asset(asset(), tables, as_of=AS_OF)
    term = next(term for term in old_os.terms if term.term == "unsupported_os")
    assert term.value == 1.0
    assert term.contribution == pytest.approx(10 / 110 * 100, abs=0.01)
    assert term.explanation_vi == "Hệ điều hành hết hỗ trợ: Windows 10 22H2 (từ 14/10/2025)"
    assert old_os.score - new_os.score == pytest.approx(10 / 110 * 100, abs=0.02)
    assert new_os.score == unknown.score
    assert "còn được hỗ trợ đến 13/10/2026" in next(
        term.explanation_vi for term in new_os.terms if term.term == "unsupported_os"
    )
    # On its last day of support it still counts as supported.
    last_day = score_asset(asset(), tables, as_of=date(2025, 10, 14), signals=ended)
    assert next(t.value for t in last_day.terms if t.term == "unsupported_os") == 0.0


def test_the_terms_built_without_validation_equal_validated_ones(tables: LifeTables) -> None:
    # inventory.priority._term sets the model's instance dict directly (for speed): the result
    # must be the model pydantic itself builds, in every respect a reader can see.
    score = score_asset(
        asset(room="Bộ phận một cửa"),
        tables,
        as_of=AS_OF,
        signals=AssetSignals(failures_12m=2, p95_memory_percent=91.0),
    )
    for term in score.terms:
        validated = PriorityTerm.model_validate(term.model_dump())
        assert term == validated
        assert term.model_fields_set == validated.model_fields_set
        assert term.model_dump_json() == validated.model_dump_json()
        assert hash(term) == hash(validated)
        with pytest.raises(ValidationError):
            term.value = 0.0  # type: ignore[misc]  # still frozen
    assert score.placement is Placement.COUNTER
    assert PriorityScore.model_validate(score.model_dump()) == score

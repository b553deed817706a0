"""The asset record: kinds shared with the agent, the fixed-asset threshold, validation."""

from __future__ import annotations

from datetime import date

import pytest
from pydantic import ValidationError

from agent.wire import DeviceKind
from inventory.models import Asset, AssetKind, AssetStatus, Revaluation


def asset(**extra: object) -> Asset:
    fields: dict[str, object] = {
        "asset_tag": "00070-MT-01",
        "kind": "pc",
        "commune_code": "00070",
        "put_into_use": date(2024, 3, 1),
    }
    fields.update(extra)
    return Asset.model_validate(fields)


def test_kinds_are_the_agents_device_kinds_without_service_and_link() -> None:
    device_kinds = {kind.value for kind in DeviceKind} - {"service", "link"}
    assert {kind.value for kind in AssetKind} == device_kinds


@pytest.mark.parametrize(
    ("cost", "fixed"),
    [(10_000_000, True), (9_999_999, False), (88_000_000, True), (None, False), (0, False)],
)
def test_fixed_asset_threshold_is_ten_million(cost: int | None, fixed: bool) -> None:
    assert asset(original_cost=cost).is_fixed_asset is fixed


def test_revalued_cost_decides_when_the_original_is_unknown() -> None:
    inherited = asset(original_cost=None, revaluation=Revaluation(year=2026, cost=12_000_000))
    assert inherited.cost_basis == 12_000_000
    assert inherited.is_fixed_asset


@pytest.mark.parametrize("code", ["70", "0070", "000700", "0007A", ""])
def test_commune_code_is_five_digits(code: str) -> None:
    with pytest.raises(ValidationError, match="commune_code"):
        asset(commune_code=code)


def test_cost_is_whole_vnd_and_not_negative() -> None:
    with pytest.raises(ValidationError):
        asset(original_cost=-1)
    with pytest.raises(ValidationError):
        asset(original_cost=15_000_000.5)


def test_record_is_frozen() -> None:
    record = asset()
    with pytest.raises(ValidationError):
        record.status = AssetStatus.BROKEN  # type: ignore[misc]


def test_status_cannot_begin_before_use() -> None:
    with pytest.raises(ValidationError, match="status_since"):
        asset(status=AssetStatus.BROKEN, status_since=date(2020, 1, 1))


def test_revaluation_cannot_precede_use_nor_exceed_its_cost() -> None:
    with pytest.raises(ValidationError, match="revaluation year"):
        asset(revaluation=Revaluation(year=2023, cost=12_000_000))
    with pytest.raises(ValidationError, match="remaining_value"):
        Revaluation(year=2026, cost=1_000, remaining_value=2_000)


def test_empty_serial_means_none_and_text_is_trimmed() -> None:
    record = asset(serial="", brand="  Dell ", asset_tag=" 00070-MT-01 ")
    assert record.serial is None
    assert record.brand == "Dell"
    assert record.asset_tag == "00070-MT-01"


def test_in_service_means_in_use_or_broken() -> None:
    assert asset(status="in_use").in_service
    assert asset(status="broken").in_service
    assert not asset(status="retired").in_service
    assert not asset(status="transferred").in_service

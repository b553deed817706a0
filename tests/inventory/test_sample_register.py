"""The synthetic province register: deterministic, realistic in shape, valid."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from inventory.models import AssetKind, AssetStatus
from inventory.sample_register import generate_register, load_units


def test_same_seed_same_register(units_csv: Path) -> None:
    first = generate_register(units_csv, "12", seed=7, max_communes=8)
    second = generate_register(units_csv, "12", seed=7, max_communes=8)
    other = generate_register(units_csv, "12", seed=8, max_communes=8)
    assert first == second
    assert first != other


def test_fleet_has_the_shape_of_domain_section_5(
    units_csv: Path, valid_codes: frozenset[str]
) -> None:
    assets = generate_register(units_csv, "38", seed=1)
    communes = {unit.commune_code for unit in load_units(units_csv) if unit.province_code == "38"}
    per_commune = Counter(asset.commune_code for asset in assets)
    assert set(per_commune) == communes
    # About 25–40 devices per rural centre, more in wards (DOMAIN.md §5).
    assert 25 <= sum(per_commune.values()) / len(per_commune) <= 50
    assert {asset.commune_code for asset in assets} <= valid_codes
    tags = [asset.asset_tag for asset in assets]
    serials = [asset.serial for asset in assets]
    assert len(set(tags)) == len(tags)
    assert len(set(serials)) == len(serials)
    kinds = Counter(asset.kind for asset in assets)
    assert kinds[AssetKind.PC] > kinds[AssetKind.SCANNER] > kinds[AssetKind.MFP]
    assert kinds[AssetKind.ROUTER] >= len(communes)
    statuses = Counter(asset.status for asset in assets)
    assert statuses[AssetStatus.IN_USE] > 0.85 * len(assets)
    assert statuses[AssetStatus.BROKEN] > 0
    inherited = [asset for asset in assets if asset.previous_owner]
    assert inherited
    assert any(asset.revaluation is not None for asset in inherited)
    assert any(asset.cost_basis is None for asset in inherited)
    assert any(not asset.is_fixed_asset for asset in assets)
    assert any(asset.is_fixed_asset for asset in assets)

"""Synthetic rollups of a sample register: deterministic, and worse for older devices."""

from __future__ import annotations

from pathlib import Path
from statistics import mean

from inventory.models import AssetKind
from inventory.sample_register import generate_register
from inventory.sample_signals import generate_signals


def test_same_seed_same_signals(units_csv: Path) -> None:
    first = generate_register(units_csv, "12", seed=7, max_communes=8)
    second = generate_register(units_csv, "12", seed=7, max_communes=8)
    assert generate_signals(first, seed=7) == generate_signals(second, seed=7)
    assert generate_signals(first, seed=7) != generate_signals(first, seed=8)


def test_every_asset_gets_signals_and_old_pcs_fail_more(units_csv: Path) -> None:
    assets = generate_register(units_csv, "38", seed=1)
    signals = generate_signals(assets, seed=1)
    assert set(signals) == {asset.asset_tag for asset in assets}
    pcs = [asset for asset in assets if asset.kind is AssetKind.PC]
    old = [signals[a.asset_tag].failures_12m for a in pcs if (a.put_into_use.year <= 2018)]
    new = [signals[a.asset_tag].failures_12m for a in pcs if a.put_into_use.year >= 2024]
    assert old
    assert new
    assert mean(old) > mean(new)
    printers = [signals[a.asset_tag] for a in assets if a.kind is AssetKind.PRINTER]
    assert all(s.pages_per_month is not None for s in printers)

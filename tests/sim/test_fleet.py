"""The simulated province: deterministic per seed, true to the list of units (scenarios are
tests/sim/test_scenario.py)."""

from __future__ import annotations

import csv
from pathlib import Path

from agent.wire import DeviceKind
from collector.communes import BUNDLED_UNITS
from inventory.models import AssetStatus
from inventory.register_io import read_register_csv
from sim import generate_fleet


def test_same_seed_same_fleet_other_seed_other_fleet() -> None:
    first = generate_fleet(BUNDLED_UNITS, "37", seed=7, max_communes=12)
    again = generate_fleet(BUNDLED_UNITS, "37", seed=7, max_communes=12)
    other = generate_fleet(BUNDLED_UNITS, "37", seed=8, max_communes=12)
    assert first.communes == again.communes
    assert first.register == again.register
    assert [d.serial for d in first.devices] != [d.serial for d in other.devices]
    # What is installed on the counter PCs (Windows, tokens, certificates) follows the seed too.
    assert [d.pc for d in first.devices] == [d.pc for d in again.devices]
    assert any(d.pc is not None and d.pc.token is not None for d in first.devices)
    assert [d.pc for d in first.devices] != [d.pc for d in other.devices]


def test_province_matches_the_csv_of_units() -> None:
    with BUNDLED_UNITS.open(encoding="utf-8") as handle:
        rows = [row for row in csv.DictReader(handle) if row["province_code"] == "37"]
    fleet = generate_fleet(BUNDLED_UNITS, "37", seed=0)
    assert fleet.province_name == "Ninh Bình"
    assert [(c.code, c.name, c.commune_type) for c in fleet.communes] == [
        (r["commune_code"], r["commune_name"], r["commune_type"]) for r in rows
    ]
    # A province-sized fleet (DOMAIN.md §5: ~30 devices a centre), every device in its commune.
    assert 2_500 < len(fleet.devices) < 6_000
    assert all(d.device_id.startswith(d.commune_code + "-") for d in fleet.devices)
    kinds = {d.kind for d in fleet.devices}
    assert {DeviceKind.PC, DeviceKind.PRINTER, DeviceKind.ROUTER, DeviceKind.SWITCH} <= kinds
    for commune in fleet.communes:
        roles = [a.role for a in commune.agents]
        assert roles.count("site") == 1, commune.code
        assert roles.count("pc") >= 1, commune.code


def test_devices_are_the_in_use_lines_of_the_register(tmp_path: Path) -> None:
    fleet = generate_fleet(BUNDLED_UNITS, "37", seed=3, max_communes=5)
    by_tag = {asset.asset_tag: asset for asset in fleet.register}
    for device in fleet.devices:
        asset = by_tag[device.device_id]
        assert asset.status is AssetStatus.IN_USE
        assert (asset.serial, asset.brand, asset.model) == (
            device.serial,
            device.brand,
            device.model,
        )
    # The written register is the importer's format: it reads back line for line.
    path = fleet.write_register(tmp_path / "register.csv")
    imported = read_register_csv(path, valid_communes={c.code for c in fleet.communes})
    assert [a.asset_tag for a in imported] == [a.asset_tag for a in fleet.register]
    # Old reused PCs have 4 GB: the swapping population the behaviour model needs.
    assert any(d.memory_gb == 4 for d in fleet.devices if d.kind is DeviceKind.PC)

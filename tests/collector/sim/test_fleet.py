"""The simulated province: deterministic per seed, true to the list of units; scenarios checked."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path

import pytest

from agent.wire import DeviceKind
from collector.cli import BUNDLED_UNITS
from collector.sim import FaultType, ScenarioError, generate_fleet, load_scenario, parse_scenario
from inventory.models import AssetStatus
from inventory.register_io import read_register_csv
from tests.services import shared_dir

START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


def test_same_seed_same_fleet_other_seed_other_fleet() -> None:
    first = generate_fleet(BUNDLED_UNITS, "37", seed=7, max_communes=12)
    again = generate_fleet(BUNDLED_UNITS, "37", seed=7, max_communes=12)
    other = generate_fleet(BUNDLED_UNITS, "37", seed=8, max_communes=12)
    assert first.communes == again.communes
    assert first.register == again.register
    assert [d.serial for d in first.devices] != [d.serial for d in other.devices]


def test_province_matches_the_csv_of_units() -> None:
    with (shared_dir() / "data" / "vn_units_2025.csv").open(encoding="utf-8") as handle:
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


def test_default_scenario_resolves_to_one_incident_per_fault() -> None:
    fleet = generate_fleet(BUNDLED_UNITS, "37", seed=0, max_communes=3)
    resolved = load_scenario().resolve(fleet, START)
    assert {f.type for f in resolved.faults} == set(FaultType)
    assert len(resolved.ground_truth) == len(resolved.faults)
    truth = {g.fault_id: g for g in resolved.ground_truth}
    assert truth["fibre-cut"].problem_class == "site_outage"
    assert truth["fibre-cut"].commune_code == fleet.communes[1].code
    assert truth["release-day-slowness"].problem_class == "software_outage"
    assert truth["release-day-slowness"].commune_code is None
    assert truth["paper-jam"].device_id is not None
    assert truth["paper-jam"].device_id.startswith(fleet.communes[0].code)
    assert (truth["paper-jam"].start - START).total_seconds() == 300


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("faults: [{type: link_down, start: 5m, duration: 0m, target: {commune: 0}}]", "duration"),
        ("faults: [{type: meteor, start: 5m, duration: 1m}]", "field 'type'"),
        ("faults: [{type: link_down, start: 5m, duration: 5m}]", "target.scope"),
        (
            "faults: [{type: disk_full, start: 1m, duration: 5m, "
            "target: {scope: device, commune: 0, kind: printer}}]",
            "target.kind",
        ),
        ("faults: [{type: link_down, start: 1m, duration: 5m, target: {commune: 99}}]", "99"),
        ("name: x\nfault: []", "unknown field(s) fault"),
    ],
)
def test_scenario_errors_name_the_fault_and_field(text: str, message: str) -> None:
    fleet = generate_fleet(BUNDLED_UNITS, "37", seed=0, max_communes=2)
    with pytest.raises(ScenarioError, match=r"bad\.yaml") as info:
        parse_scenario(text, "bad.yaml").resolve(fleet, START)
    assert message in str(info.value)

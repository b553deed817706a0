"""The simulated province: deterministic per seed, true to the list of units; scenarios checked."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path

import pytest

from agent.vntime import VN_TZ
from agent.wire import DeviceKind
from alerts.calendar import parse_calendar
from collector.communes import BUNDLED_UNITS
from inventory.models import AssetStatus
from inventory.register_io import read_register_csv
from sim import (
    ExpectedIncident,
    FaultType,
    ScenarioError,
    generate_fleet,
    load_scenario,
    parse_scenario,
)
from sim.timeline import calendar_text

START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
FRIDAY = datetime(2026, 3, 6, 15, 30, tzinfo=VN_TZ)  # the demo's default start


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


def test_default_scenario_plays_a_friday_afternoon_a_night_and_a_saturday() -> None:
    fleet = generate_fleet(BUNDLED_UNITS, "37", seed=0, max_communes=3)
    scenario = load_scenario()
    saturday = scenario.resolve(fleet, FRIDAY).saturday_communes
    assert saturday == (fleet.communes[2].code,)
    calendar = parse_calendar(calendar_text(saturday), "demo.yaml")
    resolved = scenario.resolve(fleet, FRIDAY, calendar)
    assert {f.type for f in resolved.faults} == set(FaultType)
    truth: dict[str, list[ExpectedIncident]] = {}
    for incident in resolved.ground_truth:
        truth.setdefault(incident.fault_id, []).append(incident)
    assert truth["fibre-cut"][0].problem_class == "site_outage"
    assert truth["fibre-cut"][0].commune_code == fleet.communes[1].code
    assert [(t.problem_class, t.system) for t in truth["release-day-slowness"]] == [
        ("software_outage", "dvcqg")
    ]
    assert truth["release-day-slowness"][0].commune_code is None
    assert truth["paper-jam"][0].device_id is not None
    assert truth["paper-jam"][0].device_id.startswith(fleet.communes[0].code)
    assert (truth["paper-jam"][0].start - FRIDAY).total_seconds() == 180
    # The undeclared maintenance page in opening hours is the vendor's ticket; the declared one
    # and the one after hours are none; the collector's uplink is the province's network.
    assert [(t.problem_class, t.system) for t in truth["motcua-maintenance-page"]] == [
        ("software_outage", "motcua")
    ]
    assert "portal-planned-maintenance" not in truth
    assert "evening-maintenance" not in truth
    assert [t.problem_class for t in truth["collector-uplink"]] == ["upstream_outage"]
    (window,) = resolved.windows
    assert window.scope.systems == ("dvcqg",)
    declared = next(f for f in resolved.faults if f.id == "portal-planned-maintenance")
    assert window.starts_at < declared.start < declared.end < window.ends_at
    # Saturday: the PC nobody switched on is a fault from 07:00 plus the grace, not before.
    (late,) = truth["saturday-pc-not-started"]
    assert late.start == datetime(2026, 3, 7, 7, 30, tzinfo=VN_TZ)
    assert late.commune_code == saturday[0]


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
        (
            "faults: [{type: maintenance_page, start: 1m, duration: 5m}]",
            "needs the central system",
        ),
        (
            "faults: [{type: maintenance_page, start: 1m, duration: 5m, "
            "target: {commune: 0, system: motcua}}]",
            "use scope 'province'",
        ),
        (
            "faults: [{type: collector_uplink_down, start: 1m, duration: 5m, "
            "target: {commune: 0}}]",
            "strikes the whole province",
        ),
        (
            "faults: [{type: disk_full, start: 1m, duration: 5m, "
            "target: {scope: device, commune: 0, kind: pc, system: motcua}}]",
            "target.system",
        ),
        (
            "faults: [{type: pc_not_started, start: 1m, duration: 5m, "
            "target: {scope: device, commune: 0, kind: printer}}]",
            "target.kind",
        ),
        ("saturday_morning: [7]\nfaults: []", "field 'saturday_morning'"),
        ("saturday_morning: yes\nfaults: []", "field 'saturday_morning'"),
    ],
)
def test_scenario_errors_name_the_fault_and_field(text: str, message: str) -> None:
    fleet = generate_fleet(BUNDLED_UNITS, "37", seed=0, max_communes=2)
    with pytest.raises(ScenarioError, match=r"bad\.yaml") as info:
        parse_scenario(text, "bad.yaml").resolve(fleet, START)
    assert message in str(info.value)

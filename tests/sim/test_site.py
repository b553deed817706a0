"""The devices a site agent watches (sim/site.py): a router's WAN port going down with the line
and up again (one event each way), a printer printing by the load and its cartridge changed
before it runs dry, a jam or an open door stopping it, and a device switched off."""

from __future__ import annotations

import dataclasses
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from agent.wire import DeviceKind, DeviceReport
from collector.communes import BUNDLED_UNITS
from sim import Behaviour, FaultType, FaultView, generate_fleet
from sim.fleet import Fleet, SimCommune, SimDevice
from sim.site import LOW_SUPPLY_PERCENT, toner_replace_level
from sim.state import TONER_FLOOR

T0 = datetime(2026, 3, 6, 2, 0, tzinfo=UTC)  # Friday 09:00 in Hà Nội: the morning peak
STEP = 60.0


@pytest.fixture(scope="module")
def fleet() -> Fleet:
    return generate_fleet(BUNDLED_UNITS, "37", seed=0, max_communes=4)


def _first(fleet: Fleet, *kinds: DeviceKind) -> tuple[SimDevice, SimCommune]:
    for commune in fleet.communes:
        for agent in commune.agents:
            if agent.role != "site":
                continue
            for device in agent.devices:
                if device.kind in kinds:
                    return device, commune
    raise AssertionError(f"no {kinds} in the fleet")


def _report(
    behaviour: Behaviour,
    device: SimDevice,
    commune: SimCommune,
    at: datetime,
    *,
    link_down: bool = False,
    faults: FaultView | None = None,
) -> dict[str, Any]:
    report = behaviour.site.report(
        device, commune, at, STEP, 1.0, link_down, faults or FaultView(), random.Random(1)
    )
    DeviceReport.model_validate(report)  # what the collector accepts from an agent
    return report


def _values(report: dict[str, Any]) -> dict[str, float]:
    return {s["name"]: s["value"] for s in report["samples"]}


def test_a_routers_wan_follows_the_line_with_one_event_each_way(fleet: Fleet) -> None:
    behaviour = Behaviour(fleet, 0, T0)
    router, commune = _first(fleet, DeviceKind.ROUTER)
    up = _report(behaviour, router, commune, T0)
    assert _values(up)["if_oper_up"] == 1.0
    assert up["events"] == []
    cut = _report(behaviour, router, commune, T0 + timedelta(minutes=1), link_down=True)
    assert (_values(cut)["if_oper_up"], _values(cut)["if_in_bits_per_second"]) == (0.0, 0)
    assert [e["type"] for e in cut["events"]] == ["interface_down"]
    still = _report(behaviour, router, commune, T0 + timedelta(minutes=2), link_down=True)
    assert still["events"] == []
    back = _report(behaviour, router, commune, T0 + timedelta(minutes=3))
    assert [e["type"] for e in back["events"]] == ["interface_up"]
    assert _values(back)["if_in_octets_total"] >= _values(up)["if_in_octets_total"]


def test_a_switch_keeps_its_uplink_when_the_line_is_cut(fleet: Fleet) -> None:
    behaviour = Behaviour(fleet, 0, T0)
    switch, commune = _first(fleet, DeviceKind.SWITCH)
    cut = _report(behaviour, switch, commune, T0, link_down=True)
    assert _values(cut)["if_oper_up"] == 1.0
    assert cut["events"] == []


def test_a_printer_prints_by_the_load_until_a_jam_stops_it(fleet: Fleet) -> None:
    behaviour = Behaviour(fleet, 0, T0)
    printer, commune = _first(fleet, DeviceKind.PRINTER, DeviceKind.MFP)
    state = behaviour.ledger.states[printer.device_id]
    state.pages, state.toner = 1000.0, 80.0
    at = T0
    for _ in range(60):
        at += timedelta(minutes=1)
        report = _report(behaviour, printer, commune, at)
    assert state.pages > 1000.0
    assert state.toner < 80.0
    assert _values(report)["printer_status"] == 2.0
    assert report["events"] == []
    pages, toner = state.pages, state.toner
    jammed = FaultView(devices={printer.device_id: frozenset({FaultType.PRINTER_JAM})})
    stuck = _report(behaviour, printer, commune, at + timedelta(minutes=1), faults=jammed)
    assert (state.pages, state.toner) == (pages, toner)  # nothing printed while jammed
    assert _values(stuck)["printer_status"] == 3.0
    assert [e["attrs"]["condition"] for e in stuck["events"]] == ["jammed"]


def test_the_cartridge_is_changed_before_it_runs_dry(fleet: Fleet) -> None:
    behaviour = Behaviour(fleet, 0, T0)
    printer, commune = _first(fleet, DeviceKind.PRINTER, DeviceKind.MFP)
    state = behaviour.ledger.states[printer.device_id]
    state.toner = state.toner_replace_at + 1e-9
    report = _report(behaviour, printer, commune, T0)
    assert state.toner == 100.0
    assert _values(report)["printer_supply_level_percent"] == 100.0
    empty = FaultView(devices={printer.device_id: frozenset({FaultType.TONER_EMPTY})})
    dry = _report(behaviour, printer, commune, T0 + timedelta(minutes=1), faults=empty)
    assert _values(dry)["printer_supply_level_percent"] == 0.0
    assert {e["type"] for e in dry["events"]} == {"printer_error", "printer_supply_low"}


def test_a_device_switched_off_does_not_answer_and_boots_again(fleet: Fleet) -> None:
    behaviour = Behaviour(fleet, 0, T0)
    printer, commune = _first(fleet, DeviceKind.PRINTER, DeviceKind.MFP)
    off = FaultView(devices={printer.device_id: frozenset({FaultType.DEVICE_OFF})})
    report = _report(behaviour, printer, commune, T0, faults=off)
    assert _values(report) == {"snmp_up": 0.0}
    assert [e["type"] for e in report["events"]] == ["snmp_target_unreachable"]
    on = _report(behaviour, printer, commune, T0 + timedelta(minutes=5))
    assert _values(on)["uptime_seconds"] == 0  # booted when next seen


def test_busier_communes_change_cartridges_earlier(fleet: Fleet) -> None:
    commune = fleet.communes[0]
    quiet = dataclasses.replace(commune, dossiers_per_day=1)
    busy = dataclasses.replace(commune, dossiers_per_day=400)
    assert toner_replace_level(quiet) == TONER_FLOOR
    assert toner_replace_level(busy) == pytest.approx(LOW_SUPPLY_PERCENT + 4.0 * 400 * 0.0375)
    assert toner_replace_level(busy) > toner_replace_level(quiet)

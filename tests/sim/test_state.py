"""The simulator's memory of each device (sim/state.py): facts sent with the first report then
hourly, and uptime counted from the first sight of a device."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sim.state import TONER_FLOOR, DeviceState, DeviceStatic, Ledger

T0 = datetime(2026, 3, 6, 7, 5, tzinfo=UTC)


def test_facts_go_with_the_first_report_then_on_the_hour() -> None:
    ledger = Ledger()
    ledger.statics["PC-1"] = DeviceStatic(facts={"os": "Windows 11"}, address="", busy=0.5)
    assert ledger.facts("PC-1", T0) == {"os": "Windows 11"}
    assert ledger.facts("PC-1", T0 + timedelta(minutes=1)) == {}
    assert ledger.facts("PC-1", T0 + timedelta(minutes=54, seconds=59)) == {}
    assert ledger.facts("PC-1", T0 + timedelta(minutes=55)) == {"os": "Windows 11"}  # 08:00
    assert ledger.facts("PC-1", T0 + timedelta(minutes=55, seconds=30)) == {"os": "Windows 11"}
    assert ledger.facts("PC-1", T0 + timedelta(minutes=56)) == {}
    # Each device keeps its own account of what was sent.
    assert ledger.facts_due("PR-1", T0 + timedelta(minutes=1))
    assert not ledger.facts_due("PR-1", T0 + timedelta(minutes=2))


def test_uptime_counts_from_the_first_sight_and_a_later_boot() -> None:
    state = DeviceState()
    assert Ledger.uptime(state, T0) == 0
    assert state.booted_at == T0
    assert Ledger.uptime(state, T0 + timedelta(minutes=3, seconds=20)) == 200
    # A boot time after the moment asked about (a run rewound): the device boots then.
    assert Ledger.uptime(state, T0 - timedelta(hours=1)) == 0
    assert state.booted_at == T0 - timedelta(hours=1)


def test_a_new_device_starts_nearly_empty_with_a_full_cartridge() -> None:
    state = DeviceState()
    assert (state.disk_used, state.toner, state.toner_replace_at) == (0.5, 100.0, TONER_FLOOR)
    assert state.on is None
    assert not state.wan_down
    other = DeviceState()
    other.toner = 40.0
    assert state.toner == 100.0  # no state shared between devices

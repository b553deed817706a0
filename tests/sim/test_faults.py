"""Faults pinned to times (sim/faults.py): when each holds, a flapping link down every other
period, and the view of one instant: links, central systems (the strongest state, the commune's
own before the province's), the collector's uplink and each device's faults."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sim.faults import (
    DEVICE_FAULT_KINDS,
    PROVINCE_FAULTS,
    SIGNING_NEEDS,
    SOFTWARE_FAULTS,
    SYSTEM_REQUIRED,
    Fault,
    FaultType,
    FaultView,
)

T0 = datetime(2026, 3, 6, 7, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def _fault(
    kind: FaultType,
    *,
    commune: str | None = "14134",
    device: str | None = None,
    system: str | None = None,
    start: datetime = T0,
    end: datetime = T0 + HOUR,
    period: timedelta = timedelta(minutes=10),
) -> Fault:
    return Fault(f"f-{kind}", kind, start, end, commune, device, period, system)


def test_a_fault_holds_from_its_start_up_to_its_end() -> None:
    fault = _fault(FaultType.LINK_DOWN)
    assert not fault.active(T0 - timedelta(seconds=1))
    assert fault.active(T0)
    assert fault.active(T0 + HOUR - timedelta(seconds=1))
    assert not fault.active(T0 + HOUR)


def test_a_flapping_link_is_down_every_other_period() -> None:
    fault = _fault(FaultType.LINK_FLAPPING)
    minutes = [0, 5, 10, 15, 20, 29, 30, 59]
    held = [fault.active(T0 + timedelta(minutes=m)) for m in minutes]
    assert held == [True, True, False, False, True, True, False, False]
    view = FaultView.at([fault], T0 + timedelta(minutes=12))
    assert view.link_down == frozenset()
    assert FaultView.at([fault], T0 + timedelta(minutes=22)).link_down == {"14134"}


def test_the_strongest_software_state_wins_whatever_the_order() -> None:
    faults = [
        _fault(FaultType.SOFTWARE_SLOW, system="motcua"),
        _fault(FaultType.SOFTWARE_OUTAGE, system="motcua"),
        _fault(FaultType.MAINTENANCE_PAGE, system="motcua"),
    ]
    for ordered in (faults, faults[::-1]):
        assert FaultView.at(ordered, T0).software == {("14134", "motcua"): "outage"}
    slow_then_page = FaultView.at(faults[::2], T0)
    assert slow_then_page.software_state("14134", "motcua") == "maintenance"


def test_a_communes_own_fault_comes_before_the_provinces() -> None:
    view = FaultView.at(
        [
            _fault(FaultType.SOFTWARE_SLOW, commune=None, system=None),
            _fault(FaultType.MAINTENANCE_PAGE, commune=None, system="dvcqg"),
            _fault(FaultType.SOFTWARE_OUTAGE, commune="14134", system=None),
            _fault(FaultType.SOFTWARE_SLOW, commune="14137", system="motcua"),
        ],
        T0,
    )
    assert view.software_state("14134", "dvcqg") == "outage"  # its own, every system
    assert view.software_state("14137", "motcua") == "slow"
    assert view.software_state("14137", "dvcqg") == "maintenance"  # the province's, that system
    assert view.software_state("14140", "motcua") == "slow"  # the province's, every system
    assert FaultView().software_state("14134", "motcua") is None


def test_device_faults_and_the_uplink_are_indexed_at_the_instant() -> None:
    faults = [
        _fault(FaultType.PRINTER_JAM, device="PR-1"),
        _fault(FaultType.TONER_EMPTY, device="PR-1"),
        _fault(FaultType.DISK_FULL, device="PC-1", start=T0 + HOUR, end=T0 + 2 * HOUR),
        _fault(FaultType.COLLECTOR_UPLINK_DOWN, commune=None),
        _fault(FaultType.LINK_DOWN, commune="14137"),
    ]
    now = FaultView.at(faults, T0 + timedelta(minutes=30))
    assert now.device_faults("PR-1") == {FaultType.PRINTER_JAM, FaultType.TONER_EMPTY}
    assert now.device_faults("PC-1") == frozenset()
    assert now.uplink_down
    assert now.link_down == {"14137"}
    later = FaultView.at(faults, T0 + HOUR)
    assert later.device_faults("PC-1") == {FaultType.DISK_FULL}
    assert later.device_faults("PR-1") == frozenset()
    assert not later.uplink_down


@pytest.mark.parametrize("kind", list(FaultType))
def test_every_fault_type_has_one_place(kind: FaultType) -> None:
    # A fault type strikes a device, a central system, a commune's link or the province.
    homes = [
        kind in DEVICE_FAULT_KINDS,
        kind in SOFTWARE_FAULTS,
        kind in PROVINCE_FAULTS,
        kind in (FaultType.LINK_DOWN, FaultType.LINK_FLAPPING),
    ]
    assert homes.count(True) == 1
    assert SYSTEM_REQUIRED <= SOFTWARE_FAULTS
    assert set(SIGNING_NEEDS) <= set(DEVICE_FAULT_KINDS)

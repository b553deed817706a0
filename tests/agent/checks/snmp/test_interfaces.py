"""IF-MIB decoding: speed rules, counter wraps and resets, rates on the injected clock, and
interface up/down transitions."""

from __future__ import annotations

import pytest

from agent.checks.snmp.emit import Emitter
from agent.checks.snmp.interfaces import (
    IF_ADMIN_STATUS,
    IF_DESCR,
    IF_IN_OCTETS,
    IF_OPER_STATUS,
    IF_OUT_OCTETS,
    IF_SPEED,
    IFX_ALIAS,
    IFX_HC_IN_OCTETS,
    IFX_HC_OUT_OCTETS,
    IFX_HIGH_SPEED,
    IFX_NAME,
    InterfaceTracker,
    counter_delta,
    interface_speed,
)
from agent.checks.snmp.values import Oid
from agent.checks.snmp.walk import Column


@pytest.mark.parametrize(
    ("previous", "current", "bits", "delta"),
    [
        (100, 350, 32, 250),
        (2**32 - 100, 50, 32, 150),  # Counter32 wrapped (RFC 2863 §3.1.6)
        (2**64 - 100, 50, 64, None),  # a Counter64 going down was reset
        (5_000, 5_000, 64, 0),
    ],
)
def test_counter_delta(previous: int, current: int, bits: int, delta: int | None) -> None:
    assert counter_delta(previous, current, bits) == delta


@pytest.mark.parametrize(
    ("speed", "high_speed", "result"),
    [
        (100_000_000, None, 100_000_000),
        (None, 1_000, 1_000_000_000),
        (4_294_967_295, 10_000, 10_000_000_000),  # ifSpeed saturated above 4.29 Gbit/s
        (64_000, 0, 64_000),  # below 1 Mbit/s ifHighSpeed rounds to 0
        (None, 0, 0),
        (None, None, None),
    ],
)
def test_interface_speed(speed: int | None, high_speed: int | None, result: int | None) -> None:
    assert interface_speed(speed, high_speed) == result


def interfaces(
    *, oper: int = 1, admin: int = 1, octets: tuple[int, int] = (0, 0), wide: bool = True
) -> dict[Oid, Column]:
    row = (3,)
    columns: dict[Oid, Column] = {
        IF_DESCR: {row: b"ether3"},
        IFX_NAME: {row: b"ether3"},
        IFX_ALIAS: {row: b"WAN VNPT"},
        IF_OPER_STATUS: {row: oper},
        IF_ADMIN_STATUS: {row: admin},
    }
    if wide:
        columns[IFX_HC_IN_OCTETS] = {row: octets[0]}
        columns[IFX_HC_OUT_OCTETS] = {row: octets[1]}
        columns[IFX_HIGH_SPEED] = {row: 100}
    else:
        columns[IF_IN_OCTETS] = {row: octets[0]}
        columns[IF_OUT_OCTETS] = {row: octets[1]}
        columns[IF_SPEED] = {row: 100_000_000}
    return columns


def poll(
    tracker: InterfaceTracker, columns: dict[Oid, Column], now: float, rebooted: bool = False
) -> Emitter:
    emit = Emitter()
    tracker.decode(columns, emit, now=now, rebooted=rebooted)
    return emit


def rate(emit: Emitter, name: str = "if_in_bits_per_second") -> float | None:
    found = [s.value for s in emit.samples if s.name == name]
    return found[0] if found else None


def test_rates_come_from_the_second_poll_and_the_clock() -> None:
    tracker = InterfaceTracker()
    first = poll(tracker, interfaces(octets=(1_000, 5_000)), now=100.0)
    assert rate(first) is None
    second = poll(tracker, interfaces(octets=(751_000, 5_000 + 7_500_000)), now=160.0)
    assert rate(second) == 750_000 * 8 / 60
    assert rate(second, "if_out_bits_per_second") == 1_000_000


def test_a_32_bit_counter_wrap_gives_the_true_rate() -> None:
    tracker = InterfaceTracker()
    poll(tracker, interfaces(octets=(2**32 - 1_000, 0), wide=False), now=0.0)
    emit = poll(tracker, interfaces(octets=(2_000, 0), wide=False), now=10.0)
    assert rate(emit) == 3_000 * 8 / 10


def test_a_32_bit_drop_too_big_for_the_link_is_a_reset_not_a_wrap() -> None:
    tracker = InterfaceTracker()
    poll(tracker, interfaces(octets=(4_000_000_000, 0), wide=False), now=0.0)
    # A wrap would mean ~300 Mbit/s in 1 s on a 100 Mbit/s port: it was reset.
    emit = poll(tracker, interfaces(octets=(5, 0), wide=False), now=1.0)
    assert rate(emit) is None


def test_a_64_bit_counter_going_down_gives_no_rate() -> None:
    tracker = InterfaceTracker()
    poll(tracker, interfaces(octets=(10**12, 0)), now=0.0)
    assert rate(poll(tracker, interfaces(octets=(10, 0)), now=60.0)) is None
    # The next poll has a fresh baseline.
    assert rate(poll(tracker, interfaces(octets=(610, 0)), now=120.0)) == 80


def test_after_a_reboot_there_is_no_rate_even_if_counters_grew() -> None:
    tracker = InterfaceTracker()
    poll(tracker, interfaces(octets=(1_000, 0)), now=0.0)
    emit = poll(tracker, interfaces(octets=(9_000, 0)), now=60.0, rebooted=True)
    assert rate(emit) is None


def test_an_enabled_interface_going_down_raises_one_event_and_back_up_another() -> None:
    tracker = InterfaceTracker()
    assert not poll(tracker, interfaces(oper=1), now=0).events
    down = poll(tracker, interfaces(oper=2), now=60).events
    assert [(e.type, e.attrs["interface"], e.attrs["alias"]) for e in down] == [
        ("interface_down", "ether3", "WAN VNPT")
    ]
    assert down[0].attrs["oper_status"] == "2"
    assert not poll(tracker, interfaces(oper=2), now=120).events
    up = poll(tracker, interfaces(oper=1), now=180).events
    assert [e.type for e in up] == ["interface_up"]


def test_an_administrator_shutting_a_port_is_not_an_alert() -> None:
    tracker = InterfaceTracker()
    poll(tracker, interfaces(oper=1), now=0)
    assert not poll(tracker, interfaces(oper=2, admin=2), now=60).events


def test_a_port_that_is_down_reports_status_but_no_counters() -> None:
    emit = poll(InterfaceTracker(), interfaces(oper=2, octets=(5, 5)), now=0)
    names = {s.name for s in emit.samples}
    assert {
        "if_info",
        "if_oper_up",
        "if_oper_status",
        "if_admin_up",
        "if_speed_bits_per_second",
    } <= names
    assert "if_in_octets_total" not in names


def test_a_counter32_above_2_to_the_32_is_invalid() -> None:
    emit = poll(InterfaceTracker(), interfaces(octets=(2**40, 0), wide=False), now=0)
    assert len(emit.problems) == 1
    assert not [s for s in emit.samples if s.name == "if_in_octets_total"]

"""Vendor level quirks: a misleading supply level becomes a state with a reason, never 0 %,
and never a critical ticket without the printer's own evidence."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.checks.snmp.emit import Emitter
from agent.checks.snmp.errors import SnmpConfigError
from agent.checks.snmp.printer import HR_PRINTER_ERROR_STATE, decode_printer
from agent.checks.snmp.profiles import ProfileSet, VendorProfile, load_profiles
from agent.checks.snmp.supplies import (
    COLORANT_VALUE,
    SUPPLY_CLASS,
    SUPPLY_COLORANT,
    SUPPLY_DESCRIPTION,
    SUPPLY_LEVEL,
    SUPPLY_MAX,
    SUPPLY_TYPE,
)
from agent.checks.snmp.values import Oid, Value
from agent.checks.snmp.walk import Column
from agent.wire import Sample

PROFILES = load_profiles()
TONER, OPC = 3, 9
BLACK = 1


def vendor(name: str) -> VendorProfile:
    return next(v for v in PROFILES.vendors if v.vendor == name)


def printer(
    *rows: tuple[int, int, int, int, bytes], error_state: bytes | None = None
) -> dict[Oid, Column]:
    """Supply columns from (index, level, max, type, description) rows, all black toner."""
    columns: dict[Oid, dict[Oid, Value]] = {
        c: {}
        for c in (SUPPLY_LEVEL, SUPPLY_MAX, SUPPLY_TYPE, SUPPLY_DESCRIPTION, SUPPLY_CLASS,
                  SUPPLY_COLORANT)
    }  # fmt: skip
    for index, level, capacity, kind, description in rows:
        row = (1, index)
        columns[SUPPLY_LEVEL][row] = level
        columns[SUPPLY_MAX][row] = capacity
        columns[SUPPLY_TYPE][row] = kind
        columns[SUPPLY_DESCRIPTION][row] = description
        columns[SUPPLY_CLASS][row] = 3  # supplyThatIsConsumed
        columns[SUPPLY_COLORANT][row] = BLACK if kind == TONER else 0
    columns[COLORANT_VALUE] = {(1, BLACK): b"black"}
    if error_state is not None:
        columns[HR_PRINTER_ERROR_STATE] = {(1,): error_state}
    return columns


def decode(columns: dict[Oid, Column], vendor_name: str | None) -> Emitter:
    emit = Emitter()
    profile = vendor(vendor_name) if vendor_name else None
    decode_printer(columns, emit, vendor=profile, defaults=PROFILES.defaults, low_percent=10)
    return emit


def state_of(emit: Emitter, supply: str) -> Sample:
    (state,) = [
        s for s in emit.samples if s.name == "printer_supply_state" and s.labels["supply"] == supply
    ]
    return state


def levels(emit: Emitter, supply: str) -> list[Sample]:
    return [
        s
        for s in emit.samples
        if s.name in ("printer_supply_level_percent", "printer_supply_level_raw")
        and s.labels["supply"] == supply
    ]


def supply_events(emit: Emitter) -> list[str]:
    return [e.attrs["supply"] for e in emit.events if e.type == "printer_supply_low"]


def test_brother_zero_beside_some_remaining_is_some_remaining_not_empty() -> None:
    columns = printer(
        (1, 0, -2, TONER, b"Black Toner Cartridge"),  # the misleading row
        (2, -3, -2, TONER, b"Black Toner"),  # the same toner: "some remaining"
        (3, 11501, 12000, OPC, b"Drum Unit"),
        error_state=b"\x00",
    )
    emit = decode(columns, "brother")
    state = state_of(emit, "1")
    assert (state.labels["state"], state.labels["reason"]) == (
        "some_remaining",
        "zero_beside_some_remaining",
    )
    assert levels(emit, "1") == [], "a quirk never becomes a number, least of all 0 %"
    assert supply_events(emit) == []


def test_zero_of_an_unknown_maximum_is_unknown_for_any_vendor() -> None:
    emit = decode(printer((1, 0, -2, TONER, b"Black Toner"), error_state=b"\x00"), None)
    state = state_of(emit, "1")
    assert (state.labels["state"], state.labels["reason"]) == (
        "unknown",
        "zero_of_unknown_capacity",
    )
    assert levels(emit, "1") == []
    assert supply_events(emit) == []


@pytest.mark.parametrize("vendor_name", ["brother", None])
def test_the_printers_own_no_toner_bit_makes_the_zero_true(vendor_name: str | None) -> None:
    # hrPrinterDetectedErrorState bit 3 = noToner (RFC 2790): 0x10.
    columns = printer(
        (1, 0, -2, TONER, b"Black Toner Cartridge"),
        (2, -3, -2, TONER, b"Black Toner"),
        error_state=b"\x10",
    )
    emit = decode(columns, vendor_name)
    state = state_of(emit, "1")
    assert (state.labels["state"], state.labels["reason"]) == ("empty", "no_capacity")
    (event,) = [e for e in emit.events if e.type == "printer_supply_low"]
    assert event.severity.value == "critical"
    assert event.attrs["reason"] == "no_capacity"


def test_a_zero_of_a_known_maximum_is_still_empty() -> None:
    emit = decode(printer((1, 0, 100, TONER, b"Black Toner"), error_state=b"\x00"), "brother")
    state = state_of(emit, "1")
    assert (state.labels["state"], state.labels["reason"]) == ("empty", "measured")
    assert supply_events(emit) == ["1"]


def test_a_quirk_needs_a_sibling_of_the_same_colour_and_type() -> None:
    # The "some remaining" row is a drum, not the same toner: only the default quirk applies.
    columns = printer((1, 0, -2, TONER, b"Black Toner"), (2, -3, -2, OPC, b"Drum"))
    state = state_of(decode(columns, "brother"), "1")
    assert state.labels["reason"] == "zero_of_unknown_capacity"


def test_ricoh_near_end_is_low_with_its_reason() -> None:
    emit = decode(printer((1, -100, 100, TONER, b"Black Toner")), "ricoh")
    state = state_of(emit, "1")
    assert (state.labels["state"], state.labels["reason"]) == ("low", "vendor_near_end")
    assert levels(emit, "1") == []
    (event,) = [e for e in emit.events if e.type == "printer_supply_low"]
    assert event.attrs["percent"] == ""


@pytest.mark.parametrize(
    ("quirk", "problem"),
    [
        ("{level: 0, unless_errors: [toner_gone], state: unknown, reason: x}", "RFC 2790"),
        ("{level: 0, state: drained, reason: x}", "state"),
        ("{level: 0, state: unknown, reason: 'Not A Name'}", "reason"),
        ("{level: 0, max_capacity: sometimes, state: unknown, reason: x}", "max_capacity"),
    ],
)
def test_a_bad_quirk_is_refused_with_the_field_named(
    tmp_path: Path, quirk: str, problem: str
) -> None:
    path = tmp_path / "profiles.yaml"
    path.write_text(
        "vendors: [{vendor: x, enterprise: 1.3.6.1.4.1.5, kind: printer, "
        f"level_quirks: [{quirk}]}}]",
        encoding="utf-8",
    )
    with pytest.raises(SnmpConfigError, match=problem):
        load_profiles(path)


def test_every_quirk_reason_is_a_label_value() -> None:
    profiles: ProfileSet = PROFILES
    quirks = [*profiles.defaults.level_quirks]
    for profile in profiles.vendors:
        quirks += profile.level_quirks
    assert quirks
    assert all(q.reason.isidentifier() and q.state != "empty" for q in quirks)

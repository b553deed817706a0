"""Printer-MIB and HOST-RESOURCES decoding: error bits, levels, supplies, alerts."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent.checks.snmp.emit import Emitter
from agent.checks.snmp.error_state import ERROR_CONDITIONS, decode_error_state
from agent.checks.snmp.printer import (
    ALERT_CODE,
    ALERT_DESCRIPTION,
    ALERT_GROUP,
    ALERT_SEVERITY,
    HR_PRINTER_ERROR_STATE,
    decode_printer,
)
from agent.checks.snmp.profiles import VendorLevel, load_profiles
from agent.checks.snmp.supplies import (
    COLORANT_VALUE,
    SUPPLY_CLASS,
    SUPPLY_COLORANT,
    SUPPLY_DESCRIPTION,
    SUPPLY_LEVEL,
    SUPPLY_MAX,
    SUPPLY_TYPE,
    clean_description,
    decode_level,
)
from agent.checks.snmp.values import Oid
from agent.checks.snmp.walk import Column

NAMES = [name for name, _cls, _sev in ERROR_CONDITIONS]


@pytest.mark.parametrize(
    ("raw", "conditions"),
    [
        (b"", []),  # Epson WF-C5790: zero-length string, no bit set
        (b"\x00", []),
        (b"\x80\x00", ["low_paper"]),  # Samsung M4080FX
        (b"\x01\x00", ["service_requested"]),  # Konica C250i: bit 7
        (b"\x04", ["jammed"]),
        (b"\x08", ["door_open"]),
        (b"\x00\x80", ["input_tray_missing"]),
        (b"\x00\x02", ["overdue_prevent_maint"]),
        (b"\x00\x01", []),  # bit 15 is not defined by RFC 2790
        (b"\xff\xff", NAMES),
        (b"\x30", ["low_toner", "no_toner"]),
    ],
)
def test_error_state_bits_follow_rfc_2790_order(raw: bytes, conditions: list[str]) -> None:
    assert decode_error_state(raw) == conditions


@given(st.binary(max_size=8))
def test_any_error_state_octets_decode_to_known_conditions(raw: bytes) -> None:
    decoded = decode_error_state(raw)
    assert set(decoded) <= set(NAMES)
    assert decode_error_state(raw[:2]) == decoded


@pytest.mark.parametrize(
    ("level", "capacity", "state", "reason", "percent"),
    [
        (-1, 100, "other", "rfc3805_other", None),  # RFC 3805: no restriction
        (-2, 100, "unknown", "rfc3805_unknown", None),
        (-3, -2, "some_remaining", "rfc3805_some_remaining", None),  # Brother toner
        (-3, 250, "some_remaining", "rfc3805_some_remaining", None),
        (11501, 12000, "ok", "measured", 11501 * 100 / 12000),
        (5, 100, "low", "measured", 5.0),
        (10, 100, "low", "measured", 10.0),
        (0, 550, "empty", "measured", 0.0),
        (70, -2, "ok", "no_capacity", None),  # no capacity: a level but no percent
        (70, 0, "ok", "no_capacity", None),
        (150, 100, "ok", "measured", 100.0),  # a level over capacity is clamped
        (-100, 100, "low", "vendor_near_end", None),  # Ricoh's "near end"
        (-7, 100, "unknown", "out_of_range", None),
        (None, 100, "unknown", "not_reported", None),
    ],
)
def test_levels_keep_special_values_as_states(
    level: int | None, capacity: int, state: str, reason: str, percent: float | None
) -> None:
    ricoh = {-100: VendorLevel(state="low", reason="vendor_near_end")}
    decoded = decode_level(level, capacity, low_percent=10, vendor_levels=ricoh)
    assert (decoded.state, decoded.reason) == (state, reason)
    assert decoded.percent == percent
    assert decoded.raw == (level if level is not None and level >= 0 else None)


def test_xerox_part_numbers_are_cut_from_descriptions() -> None:
    cuts = load_profiles().defaults.supply_description_cuts
    assert clean_description("Black Toner, PN 006R01509;SN48178080E0000481", cuts) == "Black Toner"
    assert (
        clean_description("Black Toner Cartridge S/N:CRUM-", cuts)
        == "Black Toner Cartridge S/N:CRUM-"
    )


def supplies(*rows: tuple[int, int, int, int, bytes, int, int]) -> dict[Oid, Column]:
    columns: dict[Oid, Column] = {
        name: {}
        for name in (
            SUPPLY_LEVEL,
            SUPPLY_MAX,
            SUPPLY_TYPE,
            SUPPLY_DESCRIPTION,
            SUPPLY_CLASS,
            SUPPLY_COLORANT,
        )
    }
    for index, level, capacity, kind, description, supply_class, colorant in rows:
        row = (1, index)
        columns[SUPPLY_LEVEL][row] = level
        columns[SUPPLY_MAX][row] = capacity
        columns[SUPPLY_TYPE][row] = kind
        columns[SUPPLY_DESCRIPTION][row] = description
        columns[SUPPLY_CLASS][row] = supply_class
        columns[SUPPLY_COLORANT][row] = colorant
    columns[COLORANT_VALUE] = {(1, 1): b"black", (1, 2): b"cyan"}
    return columns


def decode(columns: dict[Oid, Column]) -> Emitter:
    emit = Emitter()
    profiles = load_profiles()
    decode_printer(columns, emit, vendor=None, defaults=profiles.defaults, low_percent=10)
    return emit


def test_low_and_empty_supplies_raise_events_with_their_colour() -> None:
    emit = decode(
        supplies(
            (1, 5, 100, 3, b"Black Toner\x00", 3, 1),  # low consumable
            (2, 0, 100, 3, b"Cyan Toner", 3, 2),  # empty
            (3, 4, 100, 4, b"Waste Toner Box", 4, 0),  # receptacle almost full, no colorant
            (4, -3, -2, 9, b"Drum", 3, 0),  # some remaining: no event
        )
    )
    events = {e.attrs["supply"]: e for e in emit.events if e.type == "printer_supply_low"}
    assert set(events) == {"1", "2", "3"}
    assert events["1"].attrs["colour"] == "black"
    assert events["1"].severity.value == "warning"
    assert events["2"].severity.value == "critical"
    assert events["2"].attrs["state"] == "empty"
    assert "almost full" in events["3"].message
    assert events["3"].attrs["colour"] == "none"
    states = {
        s.labels["supply"]: s.labels["state"]
        for s in emit.samples
        if s.name == "printer_supply_state"
    }
    assert states == {"1": "low", "2": "empty", "3": "low", "4": "some_remaining"}


def test_colour_comes_from_the_description_without_a_colorant_table() -> None:
    columns = supplies((1, 50, 100, 3, b"Magenta Toner", 3, 7))
    columns[COLORANT_VALUE] = {}
    (state,) = [s for s in decode(columns).samples if s.name == "printer_supply_state"]
    assert state.labels["colour"] == "magenta"


def test_active_alerts_become_events_and_binary_changes_do_not() -> None:
    columns: dict[Oid, Column] = {
        ALERT_SEVERITY: {(1, 1): 3, (1, 2): 4, (1, 3): 5, (1, 4): 4},
        ALERT_GROUP: {(1, 1): 6, (1, 2): 11, (1, 3): 6, (1, 4): 1},
        ALERT_CODE: {(1, 1): 3, (1, 2): 1104, (1, 3): 4, (1, 4): 1801},
        ALERT_DESCRIPTION: {(1, 1): b"Front cover open", (1, 2): b"", (1, 3): b"Cover closed"},
    }
    emit = decode(columns)
    report_alerts = [e for e in emit.events if e.type == "printer_alert"]
    assert [(e.attrs["code"], e.attrs["problem_class"]) for e in report_alerts] == [
        ("coverOpen", "printer_fault"),
        ("markerTonerAlmostEmpty", "printer_supply_low"),
    ]
    assert report_alerts[1].attrs["description"] == "markerTonerAlmostEmpty"
    active = [s.value for s in emit.samples if s.name == "printer_alerts_active"]
    assert active == [2]


def test_an_error_state_of_the_wrong_type_is_skipped_not_fatal() -> None:
    emit = decode({HR_PRINTER_ERROR_STATE: {(1,): 5}})
    assert not [s for s in emit.samples if s.name == "printer_error"]
    assert len(emit.problems) == 1
    assert "1.3.6.1.2.1.25.3.5.1.2.1" in emit.problems[0]


def test_supply_level_of_the_wrong_type_is_counted_invalid() -> None:
    columns = supplies((1, 5, 100, 3, b"Black", 3, 1))
    columns[SUPPLY_LEVEL][(1, 1)] = b"full"
    emit = decode(columns)
    assert len(emit.problems) == 1
    assert value_of_emit(emit, "printer_supply_capacity_raw") == 100


def value_of_emit(emit: Emitter, name: str) -> float | None:
    found = [s.value for s in emit.samples if s.name == name]
    return found[0] if found else None

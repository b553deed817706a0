"""Printer-MIB decoding through decode_printer: supplies, colours, alerts, error state.

The error bits themselves are in test_error_state.py, levels and descriptions in
test_supplies.py."""

from __future__ import annotations

from agent.checks.snmp.emit import Emitter
from agent.checks.snmp.printer import (
    ALERT_CODE,
    ALERT_DESCRIPTION,
    ALERT_GROUP,
    ALERT_SEVERITY,
    HR_PRINTER_ERROR_STATE,
    decode_printer,
)
from agent.checks.snmp.profiles import load_profiles
from agent.checks.snmp.supplies import (
    COLORANT_VALUE,
    SUPPLY_CLASS,
    SUPPLY_COLORANT,
    SUPPLY_DESCRIPTION,
    SUPPLY_LEVEL,
    SUPPLY_MAX,
    SUPPLY_TYPE,
)
from agent.checks.snmp.values import Oid
from agent.checks.snmp.walk import Column


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

"""agent.checks.snmp.supplies: levels as states with a reason, descriptions, colours, quirks,
supply samples and events, paper trays (RFC 3805)."""

from __future__ import annotations

import pytest

from agent.checks.snmp.emit import Emitter
from agent.checks.snmp.profiles import LevelQuirk, VendorLevel, load_profiles
from agent.checks.snmp.supplies import (
    COLORANT_VALUE,
    PRT_INPUT_LEVEL,
    PRT_INPUT_MAX,
    PRT_INPUT_NAME,
    SUPPLY_CLASS,
    SUPPLY_COLORANT,
    SUPPLY_DESCRIPTION,
    SUPPLY_LEVEL,
    SUPPLY_MAX,
    SUPPLY_TYPE,
    Supply,
    apply_quirks,
    clean_description,
    colour_from_words,
    decode_inputs,
    decode_level,
    emit_supplies,
    quirk_applies,
    read_supplies,
    short_index,
)
from agent.checks.snmp.values import Oid, Value
from agent.checks.snmp.walk import Column

DEFAULTS = load_profiles().defaults


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


def test_a_vendor_value_wins_over_the_rfc_meaning_of_the_same_number() -> None:
    brother = {-3: VendorLevel(state="low", reason="vendor_says_low")}
    level = decode_level(-3, 100, low_percent=10, vendor_levels=brother)
    assert (level.state, level.reason, level.raw, level.percent) == (
        "low",
        "vendor_says_low",
        None,
        None,
    )
    assert level.capacity == 100


def test_the_low_threshold_is_the_callers() -> None:
    assert decode_level(20, 100, low_percent=25, vendor_levels={}).state == "low"
    assert decode_level(20, 100, low_percent=10, vendor_levels={}).state == "ok"


@pytest.mark.parametrize(
    ("index", "multi", "shown"),
    [
        ((1, 3), False, "3"),  # one printer: the row number users see
        ((1, 3), True, "1.3"),  # several hrDevices: keep the device index
        ((7,), False, "7"),
        ((1, 2, 3), False, "1.2.3"),
    ],
)
def test_short_index_drops_the_device_index_of_a_single_printer(
    index: Oid, multi: bool, shown: str
) -> None:
    assert short_index(index, multi) == shown


def test_colour_words_match_case_insensitively_in_order() -> None:
    words = {"cyan": "cyan", "black": "black", "noir": "black"}
    assert colour_from_words("CYAN Toner", words) == "cyan"
    assert colour_from_words("Toner Noir", words) == "black"
    assert colour_from_words("Drum Unit", words) is None
    assert colour_from_words("Black Toner", DEFAULTS.colour_words) == "black"


def test_a_description_cut_at_position_zero_is_kept() -> None:
    # Cutting there would leave nothing: only a suffix is ever cut.
    assert clean_description("PN 123", ["PN "]) == "PN 123"
    assert clean_description("  Toner PN 1 SN 2 ", ["SN ", "PN "]) == "Toner"


def columns_of(*rows: tuple[Oid, Value, Value, Value, bytes, Value, Value]) -> dict[Oid, Column]:
    """Supply columns from (index, level, max, type, description, class, colorant) rows."""
    columns: dict[Oid, Column] = {
        oid: {}
        for oid in (SUPPLY_LEVEL, SUPPLY_MAX, SUPPLY_TYPE, SUPPLY_DESCRIPTION, SUPPLY_CLASS,
                    SUPPLY_COLORANT)
    }  # fmt: skip
    for index, level, capacity, kind, description, supply_class, colorant in rows:
        columns[SUPPLY_LEVEL][index] = level
        columns[SUPPLY_MAX][index] = capacity
        columns[SUPPLY_TYPE][index] = kind
        columns[SUPPLY_DESCRIPTION][index] = description
        columns[SUPPLY_CLASS][index] = supply_class
        columns[SUPPLY_COLORANT][index] = colorant
    columns[COLORANT_VALUE] = {(1, 1): b"Black", (1, 2): b"cyan"}
    return columns


def test_rows_are_read_with_type_names_colours_and_receptacles() -> None:
    emit = Emitter()
    supplies = read_supplies(
        columns_of(
            ((1, 1), 50, 100, 3, b"Black Toner", 3, 1),
            ((1, 2), 80, 100, 36, b"Matte Ink", 3, 5),  # colorant 5 has no value row
            ((1, 3), 10, 100, 4, b"", 4, 0),  # receptacle, no colorant, no description
            ((1, 4), 10, 100, 99, b"Odd", 3, 2),  # a type past the IANA list
        ),
        emit,
        vendor=None,
        defaults=DEFAULTS,
        low_percent=10,
    )
    assert [s.labels for s in supplies] == [
        {"supply": "1", "description": "Black Toner", "type": "toner", "colour": "black"},
        {"supply": "2", "description": "Matte Ink", "type": "matteInk", "colour": "unknown"},
        {"supply": "3", "description": "supply 3", "type": "wasteToner", "colour": "none"},
        {"supply": "4", "description": "Odd", "type": "99", "colour": "cyan"},
    ]
    assert [s.receptacle for s in supplies] == [False, False, True, False]
    assert [s.level.state for s in supplies] == ["ok", "ok", "low", "low"]
    assert not emit.problems


def test_rows_of_two_printers_keep_their_device_index_and_bad_cells_are_problems() -> None:
    emit = Emitter()
    supplies = read_supplies(
        columns_of(
            ((1, 1), b"full", 100, 3, b"Black Toner", 3, 1),
            ((2, 1), 30, b"?", 3, b"Black Toner", 3, 1),
        ),
        emit,
        vendor=None,
        defaults=DEFAULTS,
        low_percent=10,
    )
    assert [s.labels["supply"] for s in supplies] == ["1.1", "2.1"]
    assert (supplies[0].reported_level, supplies[0].level.reason) == (None, "not_reported")
    assert (supplies[1].reported_capacity, supplies[1].level.reason) == (None, "no_capacity")
    assert len(emit.problems) == 2
    assert emit.problems[0].startswith("1.3.6.1.2.1.43.11.1.1.9.1.1 should be an INTEGER")


def supply(
    level: int | None,
    capacity: int | None,
    *,
    colour: str = "black",
    type_: str = "toner",
    index: Oid = (1, 1),
) -> Supply:
    decoded = decode_level(level, capacity, low_percent=10, vendor_levels={})
    labels = {"supply": "1", "description": "d", "type": type_, "colour": colour}
    return Supply(index, labels, level, capacity, False, decoded)


def test_a_quirk_matches_only_its_level_capacity_type_and_errors() -> None:
    quirk = LevelQuirk(
        level=0,
        max_capacity="unknown",
        types=["toner"],
        state="some_remaining",
        reason="zero_of_unknown_max",
        unless_errors=["no_toner"],
    )
    zero = supply(0, -2)
    assert quirk_applies(quirk, zero, [zero], frozenset())
    assert not quirk_applies(quirk, supply(1, -2), [], frozenset())
    assert not quirk_applies(quirk, supply(0, 100), [], frozenset())
    assert not quirk_applies(quirk, supply(0, -2, type_="opc"), [], frozenset())
    assert not quirk_applies(quirk, zero, [zero], frozenset({"no_toner"}))
    assert quirk_applies(quirk, zero, [zero], frozenset({"jammed"}))


def test_a_sibling_quirk_needs_another_row_of_the_same_colour_and_type() -> None:
    quirk = LevelQuirk(
        level=0, sibling_state="some_remaining", state="some_remaining", reason="brother_zero"
    )
    zero = supply(0, 100)
    sibling = supply(-3, -2, index=(1, 2))
    assert sibling.level.state == "some_remaining"
    assert quirk_applies(quirk, zero, [zero, sibling], frozenset())
    assert not quirk_applies(quirk, zero, [zero], frozenset())  # itself is no sibling
    cyan = supply(-3, -2, colour="cyan", index=(1, 2))
    assert not quirk_applies(quirk, zero, [zero, cyan], frozenset())
    # Rows without a colour never vouch for each other.
    colourless = supply(0, 100, colour="none")
    other = supply(-3, -2, colour="none", index=(1, 2))
    assert not quirk_applies(quirk, colourless, [colourless, other], frozenset())


def test_apply_quirks_rereads_the_level_with_the_first_matching_quirk() -> None:
    first = LevelQuirk(level=0, state="unknown", reason="first_quirk")
    second = LevelQuirk(level=0, state="some_remaining", reason="second_quirk")
    zero, fine = supply(0, 100), supply(50, 100, index=(1, 2))
    result = apply_quirks([zero, fine], [first, second], {})
    assert (result[0].level.state, result[0].level.reason) == ("unknown", "first_quirk")
    assert (result[0].level.raw, result[0].level.percent) == (None, None)
    assert result[0].level.capacity == 100
    assert result[1] is fine
    # The printer's own error bits (by hrDeviceIndex) switch a guarded quirk off.
    guarded = LevelQuirk(level=0, state="unknown", reason="guarded", unless_errors=["no_toner"])
    kept = apply_quirks([zero], [guarded], {1: frozenset({"no_toner"})})
    assert kept[0].level.state == "empty"


def test_emitted_supplies_carry_numbers_only_where_they_are_numbers() -> None:
    emit = Emitter()
    emit_supplies([supply(25, 200), supply(-3, -2, index=(1, 2))], emit)
    names = [(s.name, s.value) for s in emit.samples]
    assert names == [
        ("printer_supply_level_raw", 25),
        ("printer_supply_capacity_raw", 200),
        ("printer_supply_level_percent", 12.5),
        ("printer_supply_state", 1),
        ("printer_supply_state", 1),
    ]
    assert emit.samples[3].labels["state"] == "ok"
    assert emit.samples[4].labels["reason"] == "rfc3805_some_remaining"
    assert not emit.events


def test_a_full_waste_box_is_critical_and_says_full() -> None:
    emit = Emitter()
    box = supply(0, 100)
    box = Supply(box.index, box.labels, 0, 100, True, box.level)
    emit_supplies([box], emit)
    (event,) = emit.events
    assert event.severity.value == "critical"
    assert event.message == "d is full (0 %)"
    assert event.attrs["percent"] == "0"
    assert event.attrs["problem_class"] == "printer_supply_low"


def test_paper_trays_become_samples_with_their_names() -> None:
    columns: dict[Oid, Column] = {
        PRT_INPUT_LEVEL: {(1, 1): 250, (1, 2): -3, (1, 3): b"x"},
        PRT_INPUT_MAX: {(1, 1): 500, (1, 2): 250},
        PRT_INPUT_NAME: {(1, 1): b"Tray 1", (1, 2): b""},
    }
    emit = Emitter()
    decode_inputs(columns, emit, vendor=None, low_percent=10)
    states = {s.labels["input"]: s.labels for s in emit.samples if s.name == "printer_input_state"}
    assert states["1"] == {
        "input": "1",
        "description": "Tray 1",
        "state": "ok",
        "reason": "measured",
    }
    assert states["2"]["description"] == "input 2"
    assert states["2"]["state"] == "some_remaining"
    percents = [s.value for s in emit.samples if s.name == "printer_input_level_percent"]
    assert percents == [50.0]
    assert set(states) == {"1", "2"}  # row 3 has only a bad level
    assert len(emit.problems) == 1

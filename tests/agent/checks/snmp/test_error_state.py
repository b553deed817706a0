"""agent.checks.snmp.error_state: hrPrinterDetectedErrorState bits (RFC 2790), names, classes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent.checks.snmp.error_state import CONDITION_NAMES, ERROR_CONDITIONS, decode_error_state
from agent.wire import Severity

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


def test_condition_names_are_unique_and_match_the_table() -> None:
    assert len(NAMES) == 15  # RFC 2790 defines bits 0..14
    assert frozenset(NAMES) == CONDITION_NAMES
    assert len(set(NAMES)) == len(NAMES)


def test_every_condition_has_a_ticket_class_and_empty_ones_are_critical() -> None:
    classes = {name: (cls, sev) for name, cls, sev in ERROR_CONDITIONS}
    assert {cls for cls, _sev in classes.values()} == {"printer_supply_low", "printer_fault"}
    assert classes["no_toner"] == ("printer_supply_low", Severity.CRITICAL)
    assert classes["low_toner"] == ("printer_supply_low", Severity.WARNING)
    assert classes["jammed"] == ("printer_fault", Severity.CRITICAL)


def test_bits_beyond_the_second_octet_set_nothing() -> None:
    assert decode_error_state(b"\x00\x00\xff\xff") == []
    assert decode_error_state(b"\x40\x00\xff") == ["no_paper"]

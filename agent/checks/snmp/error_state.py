"""hrPrinterDetectedErrorState (RFC 2790): the printer's error bits, their names and classes."""

from __future__ import annotations

from agent.wire import Severity

# RFC 2790 hrPrinterDetectedErrorState: bit 0 is the most significant bit of the first octet.
# (name, problem class, severity)
ERROR_CONDITIONS: tuple[tuple[str, str, Severity], ...] = (
    ("low_paper", "printer_supply_low", Severity.WARNING),
    ("no_paper", "printer_supply_low", Severity.CRITICAL),
    ("low_toner", "printer_supply_low", Severity.WARNING),
    ("no_toner", "printer_supply_low", Severity.CRITICAL),
    ("door_open", "printer_fault", Severity.CRITICAL),
    ("jammed", "printer_fault", Severity.CRITICAL),
    ("offline", "printer_fault", Severity.CRITICAL),
    ("service_requested", "printer_fault", Severity.WARNING),
    ("input_tray_missing", "printer_fault", Severity.WARNING),
    ("output_tray_missing", "printer_fault", Severity.WARNING),
    ("marker_supply_missing", "printer_fault", Severity.CRITICAL),
    ("output_near_full", "printer_fault", Severity.WARNING),
    ("output_full", "printer_fault", Severity.CRITICAL),
    ("input_tray_empty", "printer_supply_low", Severity.WARNING),
    ("overdue_prevent_maint", "printer_fault", Severity.WARNING),
)

CONDITION_NAMES: frozenset[str] = frozenset(name for name, _cls, _sev in ERROR_CONDITIONS)
"""Every condition name, for validating data that refers to them (profiles.yaml)."""


def decode_error_state(raw: bytes) -> list[str]:
    """Names of the conditions set in an hrPrinterDetectedErrorState value (RFC 2790).

    Bit 0 is the most significant bit of the first octet; an empty string sets no bit, and bits
    beyond the octets sent are clear (agents may send one octet).
    """
    return [
        name
        for bit, (name, _cls, _sev) in enumerate(ERROR_CONDITIONS)
        if bit // 8 < len(raw) and raw[bit // 8] & (0x80 >> (bit % 8))
    ]

"""The SMBIOS parser: vendor, model, serial and placeholders."""

from __future__ import annotations

from agent.checks.host import parse_smbios_system_info


def _smbios_type1(vendor: bytes, product: bytes, serial: bytes) -> bytes:
    formatted = bytes([1, 0x1B, 0x01, 0x00, 1, 2, 3, 4]) + bytes(16) + bytes([6, 0, 0])
    strings = vendor + b"\0" + product + b"\0" + b"Not defined\0" + serial + b"\0\0"
    return formatted + strings


def test_smbios_system_information_gives_vendor_model_and_serial():
    bios = bytes([0, 0x12, 0x00, 0x00, 1, 2, 0, 0]) + bytes(10) + b"LENOVO\0M1AKT\0\0"
    end = bytes([127, 4, 0xFF, 0xFF, 0, 0])
    raw = bytes(8) + bios + _smbios_type1(b"LENOVO", b"ThinkCentre M720q", b"PC0ABC12") + end
    assert parse_smbios_system_info(raw) == {
        "vendor": "LENOVO",
        "model": "ThinkCentre M720q",
        "serial": "PC0ABC12",
    }
    placeholder = bytes(8) + _smbios_type1(b"Dell", b"OptiPlex 3020", b"To Be Filled By O.E.M.")
    assert parse_smbios_system_info(placeholder) == {"vendor": "Dell", "model": "OptiPlex 3020"}
    assert parse_smbios_system_info(b"") == {}
    assert parse_smbios_system_info(bytes(8) + b"\x01\x02garbage") == {}

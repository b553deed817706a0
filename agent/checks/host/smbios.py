"""The PC's vendor, model and serial number from raw SMBIOS tables (no WMI, no admin tools)."""

from __future__ import annotations

# Placeholders firmware vendors leave in the serial number field.
SERIAL_PLACEHOLDERS = frozenset(
    {
        "",
        "0",
        "00000000",
        "default string",
        "none",
        "not applicable",
        "not specified",
        "o.e.m.",
        "system serial number",
        "to be filled by o.e.m.",
    }
)


def parse_smbios_system_info(data: bytes, *, header: int = 8) -> dict[str, str]:
    """Manufacturer, product and serial from raw SMBIOS tables (structure type 1).

    Windows keeps the raw tables in the registry with an 8-byte ``RawSMBIOSData`` header;
    ``/sys/firmware/dmi/tables/DMI`` on Linux has none (``header=0``). Reading them is the cheap
    way to a serial number: no WMI, no PowerShell, no wmic (removed from Windows 11 24H2).
    """
    offset = header
    while offset + 4 <= len(data):
        kind, length = data[offset], data[offset + 1]
        if length < 4:
            break
        strings_at = offset + length
        end = data.find(b"\x00\x00", strings_at)
        if end < 0:
            break
        if kind == 1 and length >= 8:
            strings = data[strings_at:end].split(b"\x00")
            found = {
                fact: _smbios_string(strings, data[offset + field_offset])
                for fact, field_offset in (("vendor", 0x04), ("model", 0x05), ("serial", 0x07))
            }
            if found["serial"].casefold() in SERIAL_PLACEHOLDERS:
                found["serial"] = ""
            return {key: value for key, value in found.items() if value}
        if kind == 127:  # end-of-table
            break
        offset = end + 2
    return {}


def _smbios_string(strings: list[bytes], index: int) -> str:
    # SMBIOS string fields are 1-based indexes into the strings after the structure; 0 = none.
    if index == 0 or index > len(strings):
        return ""
    return strings[index - 1].decode("ascii", errors="replace").strip()

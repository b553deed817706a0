"""Device names as clean labels: HP's text+hex dumps, pure hex strings, NUL padding, mixed
encodings; and the invariant that no hex dump survives."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent.checks.snmp.text import decode_octets, device_label, has_hex_dump


@pytest.mark.parametrize(
    ("raw", "label"),
    [
        # HP print servers: 16 characters of text, then the rest of the string as hex bytes.
        (
            b"Black Cartridge \n38 32 37 41 20 48 50 20 43 46 33 30 30 41 00 ",
            "Black Cartridge 827A HP CF300A",
        ),
        (
            b"Magenta Cartridg\n65 20 38 32 37 41 20 48 50 20 43 46 33 30 33 41 \n00 ",
            "Magenta Cartridge 827A HP CF303A",
        ),
        (b"Transfer Kit HP \r\n44 37 48 31 34 41 00 ", "Transfer Kit HP D7H14A"),
        # The same dump after a device turned the line break into a space.
        (b"Black Cartridge 38 32 37 41 20 48 50", "Black Cartridge 827A HP"),
        # Pure hex: separated (net-snmp's form of non-ASCII text) and packed.
        (b"E9 BB 91 E8 89 B2 E7 A2 B3 E7 B2 89", "黑色碳粉"),
        (b"42:6C:61:63:6B:20:54:6F:6E:65:72", "Black Toner"),
        (b"426C61636B20546F6E6572", "Black Toner"),
        # Trailing NULs and padding.
        (b"Cyan Toner\x00\x00\x00\x00", "Cyan Toner"),
        (b"Drum Unit\x00garbage after the terminator", "Drum Unit"),
        # Mixed encodings: UTF-8 with Windows-1252 bytes, UTF-16 with and without a BOM.
        (b"Toner \xe9\xbb\x91 noir \xe9paisse", "Toner 黑 noir épaisse"),
        ("Mực đen".encode("utf-16"), "Mực đen"),
        ("Yellow Toner".encode("utf-16-le"), "Yellow Toner"),
        ("Hộp mực đen".encode(), "Hộp mực đen"),
        # Hex bytes that spell nothing are dropped, never shown.
        (b"Fuser 01 02 03 04 05", "Fuser"),
        (b"01 02 03 04 05 06", ""),
        # Things that only look like hex stay as they are.
        (b"12345678", "12345678"),
        (b"F03E34F342C3", "F03E34F342C3"),
        (b"Toner CF226A", "Toner CF226A"),
        (b"Tray 2", "Tray 2"),
    ],
)
def test_device_labels_decode_what_printers_send(raw: bytes, label: str) -> None:
    assert device_label(raw) == label
    assert not has_hex_dump(device_label(raw))


def test_a_label_is_bounded_and_single_line() -> None:
    label = device_label(b"Very long name\r\n" * 50, limit=40)
    assert len(label) <= 40
    assert "\n" not in label


def test_decode_octets_never_raises_on_any_bytes() -> None:
    for value in (b"\xff\xfe", b"\xff", b"\x80abc", bytes(range(256))):
        assert isinstance(decode_octets(value), str)


readable = (
    st.text(
        alphabet=st.characters(
            categories=["L", "N", "Zs"], exclude_characters="\x85\xa0\u1680\u2028\u2029"
        ),
        min_size=1,
        max_size=30,
    )
    .map(lambda t: " ".join(t.split()))
    .filter(bool)
)
part_number = st.text(
    alphabet=st.sampled_from("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789- "), min_size=4, max_size=24
).filter(lambda t: t.strip())


@given(readable, part_number)
def test_text_with_a_hex_dump_of_its_part_number_becomes_the_part_name(
    text: str, part: str
) -> None:
    dump = " ".join(f"{byte:02X}" for byte in part.encode()) + " 00"
    label = device_label(f"{text}\n{dump}".encode())
    assert not has_hex_dump(label)
    assert label == " ".join(f"{text}{part}".split())[:200].strip()


@given(readable, st.binary(min_size=4, max_size=40), st.sampled_from([" ", "\n", "\r\n"]))
def test_no_hex_dump_of_any_bytes_survives(text: str, suffix: bytes, separator: str) -> None:
    dump = " ".join(f"{byte:02x}" for byte in suffix)
    label = device_label(f"{text}{separator}{dump}".encode())
    assert not has_hex_dump(label)


@given(st.binary(max_size=80))
def test_any_octets_give_a_clean_label(raw: bytes) -> None:
    label = device_label(raw)
    assert not has_hex_dump(label)
    assert "\n" not in label
    assert "\x00" not in label
    assert label == label.strip()

"""The XLSX guard against files built to exhaust memory: refused with the bound named, cheaply."""

from __future__ import annotations

import io
import os
import zipfile

import pytest

from inventory.errors import RegisterFileError, RegisterTooLarge
from inventory.register_limits import RegisterBounds
from inventory.xlsx_guard import check_workbook
from tests.inventory.register_attacks import (
    MIB,
    data_row,
    header_row,
    inline_cell,
    peak_memory,
    shared_strings_bomb,
    sheet_bomb,
    sheet_xml,
    understated,
    workbook,
    xfd_register,
)


def register(rows: int = 3, *, before: str = "", extra: str = "", tail: str = "") -> bytes:
    """A small valid register; ``extra`` cells end its last row, ``tail`` rows follow it."""
    lines = [header_row(), *(data_row(n) for n in range(2, rows + 1))]
    lines[-1] = lines[-1].replace("</row>", extra + "</row>")
    return workbook(sheet_xml([*lines, tail], before=before))


def refused(data: bytes, **bounds: int) -> RegisterTooLarge:
    with pytest.raises(RegisterTooLarge) as caught:
        check_workbook(data, RegisterBounds(**bounds))
    return caught.value


def test_a_good_register_passes_and_its_last_row_is_known() -> None:
    assert check_workbook(register(12), RegisterBounds()) == {"Sổ tài sản": 12}


def test_issue_20_xfd_register_is_refused_at_its_first_row_in_little_memory() -> None:
    data = xfd_register(20_000)
    assert len(data) < 512 * 1024
    with peak_memory() as peak, pytest.raises(RegisterTooLarge) as caught:
        check_workbook(data, RegisterBounds())
    error = caught.value
    assert (error.bound, error.limit, error.sheet, error.row, error.column) == (
        "max_columns",
        60,
        "Sổ tài sản",
        1,
        "XFD",
    )
    assert "sheet 'Sổ tài sản' row 1, column XFD" in str(error)
    assert peak.mib < 16


def test_a_shared_strings_bomb_is_refused_from_the_zip_directory() -> None:
    data = shared_strings_bomb(256 * MIB)
    assert len(data) < MIB
    with peak_memory() as peak, pytest.raises(RegisterTooLarge) as caught:
        check_workbook(data, RegisterBounds())
    assert (caught.value.bound, caught.value.limit) == ("max_bytes", 64 * MIB)
    assert "unpacked" in str(caught.value)
    assert peak.mib < 1


def test_a_bomb_within_the_size_bound_is_refused_by_its_compression_ratio() -> None:
    data = sheet_bomb(40 * MIB)
    with peak_memory() as peak, pytest.raises(RegisterTooLarge) as caught:
        check_workbook(data, RegisterBounds())
    assert (caught.value.bound, caught.value.limit) == ("max_compression_ratio", 100)
    assert "xl/worksheets/sheet1.xml" in str(caught.value)
    assert peak.mib < 1


def test_a_directory_that_understates_a_part_unpacks_no_more_than_it_says() -> None:
    # zipfile stops at the declared size and checks the CRC: the bomb is damaged, not unpacked.
    data = understated(shared_strings_bomb(32 * MIB), "xl/sharedStrings.xml", 4_000)
    with peak_memory() as peak, pytest.raises(RegisterFileError) as caught:
        check_workbook(data, RegisterBounds())
    assert not isinstance(caught.value, RegisterTooLarge)
    assert "damaged" in str(caught.value)
    assert peak.mib < 4


def test_one_row_of_a_million_empty_cells_is_refused_by_elements_held_at_once() -> None:
    # 10 MB unpacked at a modest ratio: the size and ratio bounds let it through, openpyxl would
    # build every cell of the row before handing it over.
    cells = "".join(f'<c r="A{k}" s="{k % 97}"/>' for k in range(1, 700_001))
    data = workbook(sheet_xml([header_row(), f'<row r="2">{cells}</row>']))
    error = refused(data)
    assert (error.bound, error.row) == ("max_xml_elements", 2)


def test_rows_beyond_the_row_bound_with_a_value_are_refused() -> None:
    data = register(3, tail=data_row(150))
    error = refused(data, max_rows=100)
    assert (error.bound, error.row) == ("max_rows", 150)
    assert check_workbook(data, RegisterBounds(max_rows=150)) == {"Sổ tài sản": 150}


def test_formatted_empty_rows_beyond_the_bound_are_not_refused() -> None:
    blank = '<row r="5000" s="3" customFormat="1"><c r="A5000" s="3"/></row>'
    data = register(3, tail=blank)
    assert check_workbook(data, RegisterBounds(max_rows=100)) == {"Sổ tài sản": 3}


def test_a_long_inline_cell_is_refused_at_its_cell() -> None:
    data = register(3, extra=inline_cell("E3", "x" * 3_000))
    error = refused(data)
    assert (error.bound, error.row, error.column) == ("max_cell_chars", 3, "E")


def test_too_many_or_too_long_shared_strings() -> None:
    strings = [b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">']
    strings += [f"<si><t>{k}</t></si>".encode() for k in range(11)] + [b"</sst>"]
    data = workbook(sheet_xml([header_row()]), strings=strings)
    assert refused(data, max_shared_strings=10).bound == "max_shared_strings"
    long = [strings[0], b"<si><t>" + b"x" * 2_001 + b"</t></si>", b"</sst>"]
    error = refused(workbook(sheet_xml([header_row()]), strings=long))
    assert error.bound == "max_cell_chars"
    assert "shared string 1" in str(error)


def test_cells_are_counted_formatted_or_not() -> None:
    cells = "".join(f'<c r="{col}3" s="1"/>' for col in "EFGHIJ")
    assert check_workbook(register(3, extra=cells), RegisterBounds(max_cells=18))
    assert refused(register(3, extra=cells), max_cells=17).bound == "max_cells"


def test_elements_outside_the_rows_are_bounded() -> None:
    junk = "<x/>" * 1_001
    error = refused(register(3, before=f"<extLst>{junk}</extLst>"), max_xml_elements=1_000)
    assert error.bound == "max_xml_elements"
    assert error.row is None


def test_other_parts_are_bounded_in_size_and_elements() -> None:
    noise = os.urandom(1024 * 1024).hex().encode()  # does not pack: the ratio bound allows it
    styles = b'<styleSheet xmlns="urn:x"><x>' + noise + b"</x></styleSheet>"
    error = refused(_with_part(register(3), "xl/styles.xml", styles), max_part_bytes=MIB)
    assert error.bound == "max_part_bytes"
    assert "xl/styles.xml" in str(error)
    formats = b'<styleSheet xmlns="urn:x">' + b'<xf numFmtId="0"/>' * 1_001 + b"</styleSheet>"
    error = refused(_with_part(register(3), "xl/styles.xml", formats), max_xml_elements=1_000)
    assert error.bound == "max_xml_elements"
    assert "xl/styles.xml" in str(error)
    # openpyxl never reads the calculation chain: it is only part of the total size.
    chain = b'<calcChain xmlns="urn:x">' + b'<c r="A1"/>' * 1_001 + b"</calcChain>"
    assert check_workbook(
        _with_part(register(3), "xl/calcChain.xml", chain), RegisterBounds(max_xml_elements=1_000)
    )


def test_a_sheet_is_scanned_whatever_its_part_is_called() -> None:
    # openpyxl follows the workbook's relationship, whatever the part's name or extension.
    lines = [header_row(inline_cell("XFD1", "x"))]
    data = workbook(sheet_xml(lines), sheet_part="xl/data/sheet.bin")
    error = refused(data)
    assert (error.bound, error.sheet, error.column) == ("max_columns", "Sổ tài sản", "XFD")


def _with_part(data: bytes, name: str, content: bytes) -> bytes:
    buffer = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as source,
        zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            target.writestr(info.filename, source.read(info))
        target.writestr(name, content)
    return buffer.getvalue()


def test_too_many_parts() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for k in range(1_001):
            archive.writestr(f"junk/{k}.bin", b"")
    error = refused(buffer.getvalue())
    assert (error.bound, error.limit) == ("max_parts", 1_000)


@pytest.mark.parametrize(
    ("sheet", "reason"),
    [
        (
            b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">]><worksheet/>',
            "DOCTYPE",
        ),
        (b"<worksheet", "ExpatError"),
    ],
)
def test_damaged_or_entity_laden_xml_is_damaged(sheet: bytes, reason: str) -> None:
    with pytest.raises(RegisterFileError, match=reason) as caught:
        check_workbook(workbook([sheet]), RegisterBounds())
    assert not isinstance(caught.value, RegisterTooLarge)


def test_rows_out_of_order_are_damaged() -> None:
    data = workbook(sheet_xml([data_row(5), header_row()]))
    with pytest.raises(RegisterFileError, match="row 1 comes after row 5"):
        check_workbook(data, RegisterBounds())

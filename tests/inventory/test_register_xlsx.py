"""XLSX registers read with openpyxl's read-only mode, sized by the guard, not by the file."""

from __future__ import annotations

from inventory.register_limits import RegisterBounds
from inventory.register_reader import read_register
from inventory.register_xlsx import xlsx_sheets
from tests.inventory.register_attacks import (
    data_row,
    header_row,
    peak_memory,
    sheet_xml,
    workbook,
)


def test_a_dimension_that_lies_hides_no_row() -> None:
    # A read-only worksheet trusts <dimension>: told A1:D2, it would stop after row 2.
    rows = [header_row(), *(data_row(n) for n in range(2, 51))]
    data = workbook(sheet_xml(rows, before='<dimension ref="A1:D2"/>'))
    [sheet] = xlsx_sheets(data, bounds=RegisterBounds())
    assert [number for number, _ in sheet.rows] == list(range(2, 51))
    assets = read_register(data, filename="r.xlsx", valid_communes={"13285"})
    assert len(assets) == 49


def test_formatted_empty_cells_far_right_do_not_widen_rows() -> None:
    # The issue-20 layout without values: harmless, so read, and every row stays 4 cells wide.
    far = '<c r="XFD{n}" s="1"/>'
    rows = [
        header_row(far.format(n=1)),
        *(data_row(n, far.format(n=n)) for n in range(2, 2_002)),
    ]
    data = workbook(sheet_xml(rows, before='<dimension ref="A1:XFD2001"/>'))
    with peak_memory() as peak:
        [sheet] = xlsx_sheets(data, bounds=RegisterBounds())
    assert len(sheet.rows) == 2_000
    assert {len(values) for _, values in sheet.rows} == {4}
    assert peak.mib < 32


def test_formatted_rows_down_to_the_last_row_of_excel_are_not_read() -> None:
    blank = '<row r="1048576" s="2" customFormat="1"><c r="A1048576" s="2"/></row>'
    rows = [header_row(), data_row(2), blank]
    data = workbook(sheet_xml(rows, before='<dimension ref="A1:D1048576"/>'))
    with peak_memory() as peak:
        [sheet] = xlsx_sheets(data, bounds=RegisterBounds())
    assert sheet.rows == ((2, ("T-2", "pc", "13285", "01/02/2024")),)
    assert peak.mib < 8

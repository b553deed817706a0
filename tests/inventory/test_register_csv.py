"""CSV registers read within the bounds: a record at a time, never a whole hostile cell or row."""

from __future__ import annotations

import pytest

from inventory.errors import RegisterFileError, RegisterTooLarge
from inventory.register_csv import csv_sheet
from inventory.register_limits import RegisterBounds
from tests.inventory.register_attacks import MIB, huge_cell_csv, peak_memory, wide_csv

HEADER = "Mã tài sản,Loại,Mã xã,Ngày đưa vào sử dụng"


def read(data: bytes, **bounds: int) -> None:
    csv_sheet(data, sheet_name="CSV", bounds=RegisterBounds(**bounds))


def test_a_100_mb_cell_is_refused_by_size_before_anything_is_decoded() -> None:
    data = huge_cell_csv(100 * MIB)
    with peak_memory() as peak, pytest.raises(RegisterTooLarge) as caught:
        read(data)
    assert (caught.value.bound, caught.value.limit) == ("max_bytes", 64 * MIB)
    assert "104,857," in str(caught.value)
    assert peak.mib < 1


def test_a_100_mb_cell_within_a_larger_size_bound_is_refused_at_its_cell() -> None:
    # Even a province allowing bigger files never holds the cell: lines are read with a limit.
    data = huge_cell_csv(100 * MIB)
    with peak_memory() as peak, pytest.raises(RegisterTooLarge) as caught:
        read(data, max_bytes=200 * MIB)
    error = caught.value
    assert (error.bound, error.limit, error.sheet, error.row, error.column) == (
        "max_cell_chars",
        2_000,
        "CSV",
        2,
        "A",
    )
    assert peak.mib < 16


def test_a_hundred_thousand_columns_are_refused_at_the_first_row() -> None:
    data = wide_csv(100_000)
    with peak_memory() as peak, pytest.raises(RegisterTooLarge) as caught:
        read(data)
    error = caught.value
    assert (error.bound, error.limit, error.row, error.column) == ("max_columns", 60, 1, "BI")
    assert "bound max_columns = 60" in str(error)
    assert peak.mib < 16


def test_empty_columns_beyond_the_bound_are_harmless() -> None:
    # Excel writes trailing separators up to the widest row: nothing in them, nothing refused.
    data = (HEADER + "," * 200 + "\nT-1,pc,00070,01/02/2024" + "," * 200 + "\n").encode()
    sheet = csv_sheet(data, sheet_name="CSV", bounds=RegisterBounds())
    assert sheet is not None
    assert sheet.rows == ((2, ("T-1", "pc", "00070", "01/02/2024")),)


def test_every_record_counts_towards_the_row_bound_blank_ones_too() -> None:
    data = (HEADER + "\n" + "T-1,pc,00070,2024\n" * 50 + "\n" * 50 + "T-2,pc,00070,2024\n").encode()
    with pytest.raises(RegisterTooLarge) as caught:
        read(data, max_rows=100)
    assert (caught.value.bound, caught.value.row) == ("max_rows", 101)
    sheet = csv_sheet(data, sheet_name="CSV", bounds=RegisterBounds(max_rows=102))
    assert sheet is not None
    assert len(sheet.rows) == 51


def test_a_quoted_cell_over_many_lines_is_refused_without_a_column() -> None:
    cell = '"' + "dòng\n" * 5_000 + '"'
    data = f"{HEADER},Ghi chú\nT-1,pc,00070,2024,{cell}\n".encode()
    with pytest.raises(RegisterTooLarge) as caught:
        read(data, max_cell_chars=100, max_columns=10)
    assert (caught.value.bound, caught.value.row, caught.value.column) == (
        "max_cell_chars",
        2,
        "",
    )


def test_a_quoted_multiline_cell_within_the_bound_is_kept() -> None:
    data = f'{HEADER},Ghi chú\nT-1,pc,00070,2024,"hai\ndòng"\n'.encode()
    sheet = csv_sheet(data, sheet_name="CSV", bounds=RegisterBounds())
    assert sheet is not None
    assert sheet.rows[0][1][-1] == "hai\ndòng"


def test_a_cell_past_the_csv_module_limit_is_named_as_the_cell_bound() -> None:
    # 200,000 characters fit in one line read (60 × 4,003) but not in a csv field (131,072).
    data = (HEADER + "\n" + "x" * 200_000 + "\n").encode()
    with pytest.raises(RegisterTooLarge) as caught:
        read(data)
    assert (caught.value.bound, caught.value.row) == ("max_cell_chars", 2)


def test_not_utf8_names_the_byte() -> None:
    with pytest.raises(RegisterFileError, match="byte 11") as caught:
        read(b"Ma tai san\n\xff\xfe\n")
    assert not isinstance(caught.value, RegisterTooLarge)


def test_the_formula_marker_is_removed_and_the_delimiter_found() -> None:
    data = f"{HEADER.replace(',', ';')}\n'=1+1;pc;00070;2024\n".encode()
    sheet = csv_sheet(data, sheet_name="CSV", bounds=RegisterBounds())
    assert sheet is not None
    assert sheet.rows[0][1][0] == "=1+1"

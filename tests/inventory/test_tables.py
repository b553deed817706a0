"""Sheets written as XLSX and CSV: formats finance staff expect, and no formula ever runs."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from inventory.tables import Column, ColumnType, Sheet, to_csv, to_xlsx

COLUMNS = (
    Column("tag", "Mã tài sản", "Asset tag"),
    Column("cost", "Nguyên giá (VNĐ)", "Cost (VND)", ColumnType.VND),
    Column("since", "Ngày", "Date", ColumnType.DATE),
    Column("rate", "Tỷ lệ", "Rate", ColumnType.DECIMAL),
    Column("fixed", "Tài sản cố định", "Fixed asset", ColumnType.BOOL),
)


def sheet(*rows: tuple[object, ...]) -> Sheet:
    return Sheet("Sổ tài sản", "Register", COLUMNS, rows)  # type: ignore[arg-type]


def test_xlsx_keeps_numbers_and_dates_with_their_formats() -> None:
    data = to_xlsx([sheet(("T-1", 15_000_000, date(2023, 8, 15), Decimal("14.29"), True))])
    worksheet = load_workbook(io.BytesIO(data))["Sổ tài sản"]
    _, cost, since, rate, fixed = worksheet[2]
    assert (cost.value, cost.number_format) == (15_000_000, "#,##0")
    assert since.number_format == "dd/mm/yyyy"
    assert (rate.value, rate.number_format) == (14.29, "0.00")
    assert fixed.value == "Có"
    assert worksheet.freeze_panes == "A2"
    assert worksheet["A1"].value == "Mã tài sản"


def test_text_that_looks_like_a_formula_stays_text() -> None:
    rows = (('=HYPERLINK("x")', None, None, None, False), ("+1\x07", 1, None, None, None))
    workbook = load_workbook(io.BytesIO(to_xlsx([sheet(*rows)], lang="en")))["Register"]
    assert workbook["A2"].data_type == "s"
    assert workbook["A2"].value == '=HYPERLINK("x")'
    assert workbook["A3"].value == "+1"  # the control character cannot be written: dropped
    text = to_csv(sheet(*rows), lang="en").decode("utf-8-sig")
    cells = [row[0] for row in csv.reader(io.StringIO(text))]
    assert cells[1:] == ['\'=HYPERLINK("x")', "'+1\x07"]


def test_csv_is_utf8_with_bom_and_vietnamese_dates() -> None:
    data = to_csv(sheet(("T-1", 15_000_000, date(2023, 8, 15), Decimal("14.29"), False)))
    assert data.startswith(b"\xef\xbb\xbf")
    assert data.decode("utf-8-sig").splitlines()[1] == "T-1,15000000,15/08/2023,14.29,Không"


def test_a_sheet_refuses_ragged_rows_and_names_excel_cannot_hold() -> None:
    with pytest.raises(ValueError, match="row 0: 1 cells for 5 columns"):
        sheet(("T-1",))
    with pytest.raises(ValueError, match="at most 31 characters"):
        Sheet("Tên trang này dài hơn ba mươi mốt ký tự", "Long", COLUMNS)
    with pytest.raises(ValueError, match=r"none of \[\]"):
        Sheet("Hao mòn", "Wear/Tear", COLUMNS)

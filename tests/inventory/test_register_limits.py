"""The row collector: header search, blank rows, and the row, column and cell bounds."""

from __future__ import annotations

import pytest

from inventory.errors import RegisterTooLarge
from inventory.register_limits import (
    HEADER_SEARCH_ROWS,
    RegisterBounds,
    RowBudget,
    RowCollector,
    check_size,
    column_name,
)

HEADER = ("Mã tài sản", "Loại", "Mã xã", "Ngày đưa vào sử dụng")


def collector(bounds: RegisterBounds | None = None, name: str = "Xã A") -> RowCollector:
    return RowCollector(name, RowBudget(bounds or RegisterBounds()))


def test_header_below_a_title_block_and_blank_rows_are_skipped() -> None:
    rows = collector()
    assert rows.add(1, ("SỔ TÀI SẢN", None))
    assert rows.add(2, (None, "", "  "))
    assert rows.add(3, (*HEADER, None, None))
    assert rows.add(4, ("T-1", "pc", "00070", "01/02/2024", None))
    assert rows.add(5, (None, None))
    sheet = rows.sheet()
    assert sheet is not None
    assert (sheet.header_row, sheet.headers) == (3, HEADER)
    # Trailing empty cells are not kept; blank rows are not kept at all.
    assert sheet.rows == ((4, ("T-1", "pc", "00070", "01/02/2024")),)


def test_no_header_in_the_first_rows_stops_the_sheet() -> None:
    rows = collector()
    for number in range(1, HEADER_SEARCH_ROWS + 1):
        assert rows.add(number, ("Hướng dẫn", number))
    assert not rows.add(HEADER_SEARCH_ROWS + 1, HEADER)
    assert rows.sheet() is None


def test_a_value_right_of_the_column_bound_names_row_and_column() -> None:
    rows = collector(RegisterBounds(max_columns=5))
    rows.add(1, HEADER)
    assert rows.add(2, ("T-1", None, None, None, "ghi chú", None, ""))
    with pytest.raises(RegisterTooLarge) as caught:
        rows.add(3, ("T-2", None, None, None, None, "x"))
    error = caught.value
    assert (error.bound, error.limit, error.sheet, error.row, error.column) == (
        "max_columns",
        5,
        "Xã A",
        3,
        "F",
    )
    assert "bound max_columns = 5" in str(error)


def test_a_long_cell_names_its_header() -> None:
    rows = collector(RegisterBounds(max_cell_chars=30))
    rows.add(1, HEADER)
    rows.add(2, ("T-1", "x" * 30))
    with pytest.raises(RegisterTooLarge) as caught:
        rows.add(3, ("T-2", "x" * 31))
    assert (caught.value.bound, caught.value.row) == ("max_cell_chars", 3)
    assert caught.value.column == "B ('Loại')"
    assert "31 characters" in str(caught.value)


def test_rows_with_a_value_are_counted_across_sheets() -> None:
    budget = RowBudget(RegisterBounds(max_rows=3))
    first, second = RowCollector("A", budget), RowCollector("B", budget)
    first.add(1, HEADER)
    first.add(2, ("T-1",))
    first.add(3, (None,))  # blank: not counted
    second.add(1, HEADER)
    with pytest.raises(RegisterTooLarge) as caught:
        second.add(2, ("T-2",))
    assert (caught.value.bound, caught.value.sheet, caught.value.row) == ("max_rows", "B", 2)


def test_size_bound_and_column_names() -> None:
    check_size(64, RegisterBounds(max_bytes=64))
    with pytest.raises(RegisterTooLarge) as caught:
        check_size(65, RegisterBounds(max_bytes=64))
    assert (caught.value.bound, caught.value.limit, caught.value.row) == ("max_bytes", 64, None)
    assert column_name(0) == "A"
    assert column_name(16_383) == "XFD"
    assert column_name(1, ("Mã tài sản", "Loại")) == "B ('Loại')"
    assert RegisterBounds().max_row_chars == 60 * 4_003 + 2
